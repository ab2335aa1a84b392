"""Every notebook runs top to bottom against the package and the bundled data, in a temporary folder
(nothing is written into the checkout), and shows what it promises."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# a text each notebook's outputs must contain: evidence that the cell that makes it really ran
PROMISED = {"01_dataset_tour.ipynb": "label combinations", "02_error_analysis.ipynb": "macro_f1",
            "03_prevalence_study.ipynb": "classical (audit only)",  # the audit section ran
            "04_retraining_loop.ipynb": "the reference is the candidate's parent"}


def output_text(notebook) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(output.get("text", ""))
            texts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, baseline_model, tmp_path, monkeypatch):
    monkeypatch.setenv("COLLECTGUARD_MODEL", str(baseline_model[0]))  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a failing cell
    assert PROMISED[path.name] in output_text(notebook)
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images or path.name == "01_dataset_tour.ipynb"
