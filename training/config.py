"""Typed training configuration, loaded from a small YAML file and overridden with ``--set key=value``.

Unknown keys, wrong types and missing files are errors that name the key, e.g.
``training.epochs: expected int, got 'three'``.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from inference.normalize import NormalizationConfig


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


@dataclass
class DataConfig:
    train: str = "data/splits/train.jsonl"
    dev: str = "data/splits/dev.jsonl"
    test: str = "data/splits/test.jsonl"


@dataclass
class TinyModelConfig:
    """Shape of the randomly initialised model built when ``model.base_model`` is ``tiny``."""

    num_hidden_layers: int = 2
    hidden_size: int = 128
    num_attention_heads: int = 4
    intermediate_size: int = 256


@dataclass
class ModelConfig:
    kind: str = "transformer"  # "transformer" or "tfidf-logreg"
    base_model: str = "hfl/chinese-roberta-wwm-ext"  # hub name, local directory, or "tiny"
    max_length: int = 128
    window_stride: int = 64
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)


@dataclass
class TrainingConfig:
    epochs: float = 5.0
    batch_size: int = 16
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 13
    early_stopping_patience: int = 2
    pos_weight: bool = False  # weight positives per label by negatives/positives in train
    precision: str = "auto"  # "auto", "fp32", "bf16" or "fp16" (fp16 on GPU only)
    augment: bool = False  # add augmented copies of train rows (training/perturb.py)
    max_steps: int = -1  # > 0 stops early; for smoke runs


@dataclass
class BaselineConfig:
    ngram_min: int = 1
    ngram_max: int = 4
    min_df: int = 2
    max_features: int = 300000
    sublinear_tf: bool = True
    C: float = 8.0
    class_weight: str = "balanced"


@dataclass
class Config:
    name: str = "unnamed"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, data, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key; known keys: {', '.join(sorted(known))}")
    values = {}
    for name, value in data.items():
        values[name] = _coerce(hints[name], value, f"{prefix}{name}")
    return cls(**values)


def _coerce(kind, value, key: str):
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key + ".")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool):
        if type(value) is not kind:
            raise ConfigError(f"{key}: expected {kind.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {kind}")  # pragma: no cover - guards new fields


def _set_path(data: dict, dotted: str, raw: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {part} is not a section")
    node[leaf] = yaml.safe_load(raw)


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """The config at ``path`` (or the defaults) with ``key.sub=value`` overrides applied."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--config: no such file {path}")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"--set {override!r}: expected key=value")
        key, raw = override.split("=", 1)
        _set_path(data, key.strip(), raw)
    config = _build(Config, data, "")
    _check(config)
    return config


def _check(config: Config) -> None:
    if config.model.kind not in ("transformer", "tfidf-logreg"):
        raise ConfigError(f"model.kind: {config.model.kind!r} is not 'transformer' or 'tfidf-logreg'")
    if config.training.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError(f"training.precision: {config.training.precision!r} is not auto, fp32, bf16 or fp16")
    if not 0 < config.model.window_stride <= config.model.max_length - 2:
        raise ConfigError("model.window_stride: must be between 1 and model.max_length - 2")
    for name in ("train", "dev", "test"):
        if not Path(getattr(config.data, name)).is_file():
            raise ConfigError(f"data.{name}: no such file {getattr(config.data, name)}")
