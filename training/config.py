"""Typed training configuration, loaded from a small YAML file and overridden with ``--set key=value``.

Every key has a type and a help text (``collectguard train --help`` lists them). Unknown keys, wrong
types, values out of range and missing files are errors that name the key (and the YAML file and
line for a file that does not parse), e.g. ``training.epochs: expected a number > 0, got 0``.
Data paths are used as written: relative to the directory the command runs in.
"""
from __future__ import annotations

import dataclasses
import glob
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from collectguard.inference.normalize import NormalizationConfig


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


def option(default, help: str, **checks):
    """A config field with its help text and range checks (``min``/``above``: inclusive/exclusive); a class
    or a function as ``default`` makes each config's default afresh."""
    kind = "default_factory" if callable(default) else "default"
    return field(**{kind: default}, metadata={"help": help, **checks})


@dataclass
class DataConfig:
    train: list[str] = option(lambda: ["data/splits/train.jsonl"], "labelled rows to train on: a file or a list of "
                              "files and globs (.jsonl, .csv, .parquet)")
    dev: list[str] = option(lambda: ["data/splits/dev.jsonl"], "labelled rows for early stopping and threshold "
                            "tuning: a file or a list of files and globs")
    test: str = option("data/splits/test.jsonl", "labelled rows measured into metrics.json and the model card")
    cache_dir: str = option("", "cache of the Hugging Face datasets loader and tokenisation ('' = HF_DATASETS_CACHE)")
    background_weight: float = option(1.0, "sample weight of training rows whose source is not 'authored' "
                                      "(real text used as negatives)", above=0)
    background_per_source: int = option(0, "use at most this many training rows of each non-authored source "
                                        "(0: all)", min=0)


@dataclass
class TinyModelConfig:
    """Shape of the randomly initialised model built when ``model.base_model`` is ``tiny``."""

    num_hidden_layers: int = option(2, "transformer layers", min=1)
    hidden_size: int = option(128, "hidden size (a multiple of num_attention_heads)", min=8)
    num_attention_heads: int = option(4, "attention heads", min=1)
    intermediate_size: int = option(256, "feed-forward size", min=8)


@dataclass
class ModelConfig:
    kind: Literal["transformer", "tfidf-logreg"] = option("transformer", "a BERT-architecture transformer or "
                                                          "the TF-IDF + logistic regression baseline")
    base_model: str = option("hfl/chinese-roberta-wwm-ext", "hub name, local model directory, or 'tiny' "
                             "(random init, NOT pretrained)")
    max_length: int = option(128, "tokens per window, special tokens included", min=8)
    window_stride: int = option(64, "tokens between window starts for longer texts", min=1)
    tiny: TinyModelConfig = option(TinyModelConfig, "shape of the 'tiny' model")


@dataclass
class TrainingConfig:
    epochs: float = option(5.0, "passes over the training rows", above=0)
    batch_size: int = option(16, "rows per step", min=1)
    learning_rate: float = option(3e-5, "peak learning rate (linear decay)", above=0)
    weight_decay: float = option(0.01, "AdamW weight decay", min=0)
    warmup_ratio: float = option(0.1, "share of the steps spent warming the learning rate up", min=0, max=0.99)
    seed: int = option(13, "seed of initialisation, shuffling and dropout")
    early_stopping_patience: int = option(2, "epochs without a better dev macro-F1 before stopping", min=1)
    pos_weight: bool = option(False, "weight positives per label by negatives/positives in train")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = option(
        "auto", "auto: bf16 on a GPU that supports it, else whichever of fp32/bf16 a short measurement finds "
        "faster on this CPU; fp16 on GPU only")
    augment: bool = option(False, "add augmented copies of train rows (training/perturb.py)")
    max_steps: int = option(-1, "> 0 stops after this many steps (smoke runs); -1: use epochs", min=-1)


@dataclass
class BaselineConfig:
    ngram_min: int = option(1, "shortest character n-gram", min=1)
    ngram_max: int = option(4, "longest character n-gram", min=1)
    min_df: int = option(2, "n-grams in fewer training rows are dropped", min=1)
    max_features: int = option(300000, "vocabulary size cap", min=1)
    sublinear_tf: bool = option(True, "1 + log(tf) instead of tf")
    C: float = option(8.0, "inverse regularisation strength of the logistic regression", above=0)
    class_weight: Literal["balanced", ""] = option("balanced", "'balanced' reweights rare labels; '' for none")


@dataclass
class Config:
    name: str = option("unnamed", "the model's name in its card")
    parent: str = option("", "the model directory this one is retrained from (recorded in the model card); '' for none")
    data: DataConfig = option(DataConfig, "labelled data")
    model: ModelConfig = option(ModelConfig, "model kind and shape")
    normalization: NormalizationConfig = option(NormalizationConfig, "text normalisation (stored in the model)")
    training: TrainingConfig = option(TrainingConfig, "transformer fine-tuning")
    baseline: BaselineConfig = option(BaselineConfig, "the TF-IDF baseline")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _fields(cls, prefix: str = ""):
    """``(dotted key, type, field)`` for every leaf field of a config dataclass."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from _fields(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name], f


def _type_name(kind) -> str:
    if typing.get_origin(kind) is Literal:
        return "|".join(repr(v) if v == "" else str(v) for v in typing.get_args(kind))
    if kind == list[str]:
        return "file or list of files/globs"
    return kind.__name__


def config_help() -> str:
    """Every config key with its type, default and help, for ``collectguard train --help``."""
    defaults = Config()
    lines = ["config keys (YAML sections, or --set KEY=VALUE):"]
    for key, kind, f in _fields(Config):
        value = defaults
        for part in key.split("."):
            value = getattr(value, part)
        lines.append(f"  {key} ({_type_name(kind)}, default {value!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)


def _build(cls, data, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}: unknown key; known keys: {', '.join(sorted(fields))}")
    return cls(**{name: _coerce(hints[name], value, f"{prefix}{name}", fields[name].metadata)
                  for name, value in data.items()})


def _coerce(kind, value, key: str, checks):
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key + ".")
    if typing.get_origin(kind) is Literal:
        if value not in typing.get_args(kind):
            raise ConfigError(f"{key}: {value!r} is not one of {_type_name(kind)}")
        return value
    if kind == list[str]:  # a single path or a list of paths and globs
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{key}: expected a path or a non-empty list of paths, got {value!r}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {value!r}")
    for name, bound, ok in (("min", ">=", lambda v, b: v >= b), ("above", ">", lambda v, b: v > b),
                            ("max", "<=", lambda v, b: v <= b)):
        if name in checks and not ok(value, checks[name]):
            raise ConfigError(f"{key}: expected a number {bound} {checks[name]}, got {value!r}")
    return value


def _set_path(data: dict, dotted: str, raw: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {part} is not a section")
    try:
        node[leaf] = yaml.safe_load(raw)
    except yaml.YAMLError:
        node[leaf] = raw


def read_yaml(path: Path) -> dict:
    """A YAML mapping; a file that does not parse is a :class:`ConfigError` naming its line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections, got {type(data).__name__}")
    return data or {}


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """The config at ``path`` (or the defaults) with ``key.sub=value`` overrides applied."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--config: no such file {path}")
        data = read_yaml(path)
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"--set {override!r}: expected key=value")
        key, raw = override.split("=", 1)
        _set_path(data, key.strip(), raw)
    config = _build(Config, data, "")
    _check(config)
    return config


def _check(config: Config) -> None:
    if not config.model.window_stride <= config.model.max_length - 2:
        raise ConfigError("model.window_stride: must be between 1 and model.max_length - 2")
    if config.baseline.ngram_min > config.baseline.ngram_max:
        raise ConfigError("baseline.ngram_min: must not exceed baseline.ngram_max")
    if config.model.tiny.hidden_size % config.model.tiny.num_attention_heads:
        raise ConfigError("model.tiny.hidden_size: must be a multiple of model.tiny.num_attention_heads")
    for name in ("train", "dev", "test"):
        data_files(getattr(config.data, name), f"data.{name}")
    if config.parent and not Path(config.parent).is_dir():
        raise ConfigError(f"parent: no such model directory {config.parent}")


def data_files(spec: str | list[str], key: str) -> list[Path]:
    """The files of a data key: each entry a path or a glob (``data/new/*.jsonl``, ``**`` recurses),
    expanded in sorted order. A glob that matches nothing, a missing file or a file listed twice is
    a :class:`ConfigError` naming the key."""
    files: list[Path] = []
    for entry in [spec] if isinstance(spec, str) else spec:
        matches = sorted(glob.glob(entry, recursive=True)) if glob.has_magic(entry) else [entry]
        if not matches:
            raise ConfigError(f"{key}: no file matches {entry!r}")
        for match in matches:
            if not Path(match).is_file():
                raise ConfigError(f"{key}: no such file {match}")
            if Path(match).resolve() in {f.resolve() for f in files}:
                raise ConfigError(f"{key}: {match} is listed twice")
            files.append(Path(match))
    return files
