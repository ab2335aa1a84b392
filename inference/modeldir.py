"""What a collectguard model directory holds besides the weights.

A transformer model directory is a standard Hugging Face directory (``config.json`` with ``id2label``,
``model.safetensors``, tokenizer files) plus:

- ``collectguard.json``: kind of model, label order, normalisation, window length and stride;
- ``thresholds.json``: per-label decision thresholds tuned on dev;
- ``metrics.json``: held-out evaluation (with the error rates prevalence estimation needs);
- ``training_config.yaml``, ``data_hashes.json`` and ``README.md`` (the model card), written by training.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .labels import VIOLATIONS
from .normalize import NormalizationConfig

METADATA_FILE = "collectguard.json"
THRESHOLDS_FILE = "thresholds.json"
METRICS_FILE = "metrics.json"
HELDOUT_FILE = "heldout_predictions.csv"  # test-split truth and probabilities: error rates for prevalence
TRANSFORMER, TFIDF_LOGREG = "transformer", "tfidf-logreg"


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
    def from_dict(cls, data: dict) -> "ModelMetadata":
        return cls(kind=data["kind"], labels=list(data["labels"]),
                   normalization=NormalizationConfig(**data.get("normalization", {})),
                   max_length=data.get("max_length", 128), window_stride=data.get("window_stride", 64),
                   code_version=data.get("code_version", ""))


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_json(model_dir: Path, name: str) -> dict:
    path = Path(model_dir) / name
    if not path.is_file():
        raise ModelDirectoryError(f"{model_dir}: no {name}; is this a collectguard model directory "
                                  "(written by `collectguard train`)?")
    return json.loads(path.read_text(encoding="utf-8"))


def read_metadata(model_dir: Path) -> ModelMetadata:
    metadata = ModelMetadata.from_dict(read_json(model_dir, METADATA_FILE))
    if metadata.labels != list(VIOLATIONS):
        raise ModelDirectoryError(f"{model_dir}: labels {metadata.labels} differ from {list(VIOLATIONS)}")
    return metadata


def read_thresholds(model_dir: Path) -> dict[str, float]:
    thresholds = read_json(model_dir, THRESHOLDS_FILE)
    missing = [label for label in VIOLATIONS if label not in thresholds]
    if missing:
        raise ModelDirectoryError(f"{model_dir}/{THRESHOLDS_FILE}: no threshold for {missing}")
    return {label: float(thresholds[label]) for label in VIOLATIONS}


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
