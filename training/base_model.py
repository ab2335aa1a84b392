"""Finding the pretrained base model: a hub name, a local directory, or ``tiny``."""
from __future__ import annotations

from pathlib import Path

from collectguard.inference.labels import VIOLATIONS

from .config import ModelConfig
from .tiny import build_tiny_model

ID2LABEL = dict(enumerate(VIOLATIONS))


class BaseModelNotFound(RuntimeError):
    """The configured base model is neither a local directory nor reachable on the hub."""


def how_to_provide(name: str) -> str:
    return (f"base model {name!r} could not be loaded. On a machine with internet access run\n"
            f"  huggingface-cli download {name} --local-dir models/base/{name.split('/')[-1]}\n"
            f"copy that folder here and pass --set model.base_model=models/base/{name.split('/')[-1]}\n"
            "(or set HF_HOME to a cache that holds it). Without a download, use the small encoder pretrained "
            "in this project: --config training/configs/zh-small.yaml (docs/pretraining.md).")


def load_base_model(config: ModelConfig, workdir: Path):
    """Tokenizer and a fresh 4-label multi-label classification head on the configured base model."""
    if config.base_model == "tiny":
        return build_tiny_model(workdir / "tiny-base", len(VIOLATIONS), ID2LABEL, config.tiny, config.max_length)
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = config.base_model
    if Path(source).exists() and not (Path(source) / "config.json").is_file():
        raise BaseModelNotFound(f"{source}: a folder without config.json is not a model directory; "
                                + how_to_provide(source))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(VIOLATIONS), id2label=ID2LABEL, dtype=torch.float32,  # fp16 files train in fp32
            label2id={v: k for k, v in ID2LABEL.items()}, problem_type="multi_label_classification")
    except OSError as exc:  # transformers raises OSError for unknown repos, missing files and no network
        raise BaseModelNotFound(how_to_provide(source) + f"\n(transformers said: {exc})") from exc
    if model.config.model_type not in ("bert", "roberta"):
        raise BaseModelNotFound(f"{source}: model type {model.config.model_type!r} is not BERT-architecture")
    return tokenizer, model
