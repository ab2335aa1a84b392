import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _untracked(root: Path) -> set[str]:
    """Untracked and ignored paths of the checkout (empty outside a git checkout)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=root,
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line[3:] for line in out.splitlines() if line[:2] in ("??", "!!")
            and not line[3:].startswith((".venv/", ".pytest_cache/")) and "__pycache__" not in line
            and ".egg-info/" not in line}


def pytest_sessionstart(session):
    session.config._files_before = _untracked(ROOT)


def pytest_sessionfinish(session, exitstatus):
    """The suite writes only into temporary folders: a file it left in the checkout fails the run."""
    left = sorted(_untracked(ROOT) - session.config._files_before)
    if left:
        print(f"\nthe test suite wrote into the checkout: {left[:10]}")
        session.exitstatus = 1

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
FIXTURES = Path(__file__).parent / "fixtures"
MINI = [f"data.{split}={FIXTURES / f'mini_{split}.jsonl'}" for split in ("train", "dev", "test")]
CONFIGS = Path(__file__).parent.parent / "training" / "configs"


@pytest.fixture(scope="session", autouse=True)
def datasets_cache(tmp_path_factory):
    """The Hugging Face datasets loader caches into a temporary folder (notebook kernels inherit it)."""
    import datasets.config

    path = tmp_path_factory.mktemp("hf-datasets")
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_DATASETS_CACHE", str(path))
    patch.setattr(datasets.config, "HF_DATASETS_CACHE", path)
    yield path
    patch.undo()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny BERT trained on the mini fixture: (model_dir, metrics)."""
    from collectguard.training.config import load_config
    from collectguard.training.train import train_model

    config = load_config(CONFIGS / "tiny.yaml", [*MINI, "training.epochs=15", "training.batch_size=8",
                                                 "training.early_stopping_patience=10"])
    out = tmp_path_factory.mktemp("tiny")
    return out, train_model(config, out, quiet=True)


@pytest.fixture(scope="session")
def baseline_model(tmp_path_factory):
    from collectguard.training.config import load_config
    from collectguard.training.train import train_model

    config = load_config(CONFIGS / "baseline.yaml", [*MINI, "baseline.min_df=1"])
    out = tmp_path_factory.mktemp("baseline")
    return out, train_model(config, out, quiet=True)
