"""``inference/`` is the runtime and never imports ``training/``, so evaluation measures shipping code;
nor does it name a training module in a string (``python -m collectguard.training...``)."""
import ast
from pathlib import Path

INFERENCE = Path(__file__).parent.parent / "inference"


def is_training(module: str) -> bool:
    return module.startswith("collectguard.training") or module.split(".")[0] == "training"


def training_references(path: Path) -> list[str]:
    """Imports of the training package, and string constants that name one of its modules."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if is_training(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and is_training(node.module):
            found.append(node.module)  # relative ``from ..training`` has module "training" too
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "collectguard.training" in node.value or "training.cli" in node.value:
                found.append(node.value)
    return found


def test_inference_never_imports_or_names_training():
    modules = sorted(INFERENCE.rglob("*.py"))
    assert len(modules) > 15  # the check looked at the real package, subpackages included
    offenders = {str(p.relative_to(INFERENCE)): refs for p in modules if (refs := training_references(p))}
    assert offenders == {}


def test_the_check_catches_an_import_and_a_string(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('from collectguard.training.train import train_model\nCMD = "python -m collectguard.training.bench"\n')
    assert training_references(bad) == ["collectguard.training.train", "python -m collectguard.training.bench"]
