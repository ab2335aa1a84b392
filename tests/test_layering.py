"""``inference/`` is the runtime and never imports ``training/``, so evaluation measures shipping code."""
import ast
from pathlib import Path

INFERENCE = Path(__file__).parent.parent / "inference"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_inference_never_imports_training():
    offenders = {p.name: sorted(m for m in imported_modules(p) if m.split(".")[0] == "training")
                 for p in INFERENCE.glob("*.py")}
    assert {name: mods for name, mods in offenders.items() if mods} == {}
    assert len(list(INFERENCE.glob("*.py"))) > 10  # the check looked at the real package
