import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
FIXTURES = Path(__file__).parent / "fixtures"
MINI = [f"data.{split}={FIXTURES / f'mini_{split}.jsonl'}" for split in ("train", "dev", "test")]
CONFIGS = Path(__file__).parent.parent / "training" / "configs"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny BERT trained on the mini fixture: (model_dir, metrics)."""
    from training.config import load_config
    from training.train import train_model

    config = load_config(CONFIGS / "tiny.yaml", [*MINI, "training.epochs=15", "training.batch_size=8",
                                                 "training.early_stopping_patience=10"])
    out = tmp_path_factory.mktemp("tiny")
    return out, train_model(config, out, quiet=True)


@pytest.fixture(scope="session")
def baseline_model(tmp_path_factory):
    from training.config import load_config
    from training.train import train_model

    config = load_config(CONFIGS / "baseline.yaml", [*MINI, "baseline.min_df=1"])
    out = tmp_path_factory.mktemp("baseline")
    return out, train_model(config, out, quiet=True)
