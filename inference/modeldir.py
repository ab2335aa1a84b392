"""What a collectguard model directory holds besides the weights.

A transformer model directory is a standard Hugging Face directory (``config.json`` with ``id2label``,
``model.safetensors``, tokenizer files) plus:

- ``collectguard.json``: kind of model, label order, normalisation, window length and stride;
- ``thresholds.json``: per-label decision thresholds tuned on dev;
- ``metrics.json``: held-out evaluation (with the error rates prevalence estimation needs);
- ``training_config.yaml``, ``data_hashes.json`` and ``README.md`` (the model card), written by training.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .labels import VIOLATIONS
from .normalize import NormalizationConfig
from .textio import sha256_of, write_atomic

METADATA_FILE = "collectguard.json"
THRESHOLDS_FILE = "thresholds.json"
METRICS_FILE = "metrics.json"
HELDOUT_FILE = "heldout_predictions.csv"  # test-split truth and probabilities: error rates for prevalence
TRANSFORMER, TFIDF_LOGREG = "transformer", "tfidf-logreg"
# every file whose content changes what a model directory outputs (those of its kind that exist)
BEHAVIOUR_FILES = (METADATA_FILE, THRESHOLDS_FILE, "config.json", "model.safetensors", "tokenizer.json",
                   "vocab.txt", "baseline.json", "baseline.safetensors")


class ModelDirectoryError(ValueError):
    """A model directory that is missing or incomplete."""


@dataclass
class ModelMetadata:
    kind: str
    labels: list[str] = field(default_factory=lambda: list(VIOLATIONS))
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)
    max_length: int = 128  # tokens per window, special tokens included
    window_stride: int = 64  # tokens between window starts for texts longer than one window
    code_version: str = ""

    def to_dict(self) -> dict:
        return {"kind": self.kind, "labels": self.labels, "normalization": self.normalization.to_dict(),
                "max_length": self.max_length, "window_stride": self.window_stride,
                "code_version": self.code_version}

    @classmethod
    def from_dict(cls, data: dict) -> ModelMetadata:
        return cls(kind=data["kind"], labels=list(data["labels"]),
                   normalization=NormalizationConfig.from_dict(data.get("normalization", {})),
                   max_length=data.get("max_length", 128), window_stride=data.get("window_stride", 64),
                   code_version=data.get("code_version", ""))


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def read_json(model_dir: Path, name: str) -> dict:
    """``model_dir/name`` parsed; a missing or corrupt file is a :class:`ModelDirectoryError` naming it."""
    path = Path(model_dir) / name
    if not path.is_file():
        raise ModelDirectoryError(f"{model_dir}: no {name}; is this a collectguard model directory "
                                  "(written by `collectguard train`)?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelDirectoryError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelDirectoryError(f"{path}: expected a JSON object")
    return data


def read_metadata(model_dir: Path) -> ModelMetadata:
    data = read_json(model_dir, METADATA_FILE)
    try:
        metadata = ModelMetadata.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelDirectoryError(f"{Path(model_dir) / METADATA_FILE}: missing or wrong field ({exc})") from None
    if metadata.labels != list(VIOLATIONS):
        raise ModelDirectoryError(f"{model_dir}: labels {metadata.labels} differ from {list(VIOLATIONS)}")
    return metadata


def check_thresholds(thresholds: dict, where: str) -> None:
    """Every violation has a threshold, a number in [0, 1]; else a :class:`ModelDirectoryError`."""
    missing = [label for label in VIOLATIONS if label not in thresholds]
    if missing:
        raise ModelDirectoryError(f"{where}: no threshold for {missing}")
    for label in VIOLATIONS:
        value = thresholds[label]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ModelDirectoryError(f"{where}: {label}: threshold {value!r} is not a number in [0, 1]")


def read_thresholds(model_dir: Path) -> dict[str, float]:
    thresholds = read_json(model_dir, THRESHOLDS_FILE)
    check_thresholds(thresholds, str(Path(model_dir) / THRESHOLDS_FILE))
    return {label: float(thresholds[label]) for label in VIOLATIONS}


def write_model_files(model_dir: Path, metadata: ModelMetadata, thresholds: dict[str, float]) -> None:
    """``collectguard.json`` and ``thresholds.json``: what makes a weights directory a collectguard model."""
    write_json(Path(model_dir) / METADATA_FILE, metadata.to_dict())
    write_json(Path(model_dir) / THRESHOLDS_FILE, thresholds)


def model_fingerprint(model_dir: Path, files: tuple[str, ...] = BEHAVIOUR_FILES) -> str:
    """SHA-256 over the files that decide a model's outputs (weights, tokenizer, thresholds,
    normalisation): two directories with the same fingerprint score every text the same."""
    digest = hashlib.sha256()
    for name in files:
        path = Path(model_dir) / name
        if path.is_file():
            digest.update(f"{name}:{sha256_of(path)}\n".encode())
    return digest.hexdigest()


def write_heldout(model_dir: Path, ids, truth, probs) -> None:
    """Held-out ids, true labels (0/1) and probabilities, one row per utterance; no texts."""
    import pandas as pd

    frame = pd.DataFrame({"id": list(ids)})
    for k, label in enumerate(VIOLATIONS):
        frame[f"true_{label}"] = truth[:, k].astype(int)
    for k, label in enumerate(VIOLATIONS):
        frame[f"prob_{label}"] = probs[:, k]
    frame.to_csv(Path(model_dir) / HELDOUT_FILE, index=False)


def read_heldout(model_dir: Path):
    """``(ids, truth (n, 4) int, probs (n, 4) float)`` written by :func:`write_heldout`."""
    import pandas as pd

    path = Path(model_dir) / HELDOUT_FILE
    if not path.is_file():
        raise ModelDirectoryError(f"{model_dir}: no {HELDOUT_FILE} (held-out predictions); retrain with "
                                  "`collectguard train`, or measure error rates on your own labelled data")
    frame = pd.read_csv(path)
    truth = frame[[f"true_{label}" for label in VIOLATIONS]].to_numpy(dtype=int)
    probs = frame[[f"prob_{label}" for label in VIOLATIONS]].to_numpy(dtype=float)
    return frame["id"].astype(str).tolist(), truth, probs
