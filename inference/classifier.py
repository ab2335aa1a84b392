"""``Classifier``: the one prediction path used by training, evaluation, scoring and notebooks."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import VIOLATIONS
from .modeldir import TFIDF_LOGREG, TRANSFORMER, ModelDirectoryError, ModelMetadata, read_metadata, read_thresholds
from .normalize import normalize

PROB_COLUMNS = [f"prob_{label}" for label in VIOLATIONS]
BACKEND_PRECISIONS = {"torch": ("fp32", "bf16", "int8"), "onnx": ("fp32", "int8")}


def check_backend(backend: str, precision: str) -> None:
    """A ``ValueError`` naming the supported choices for an unknown backend or an unsupported pair."""
    if backend not in BACKEND_PRECISIONS:
        raise ValueError(f"backend {backend!r} is not one of {tuple(BACKEND_PRECISIONS)}")
    if precision not in BACKEND_PRECISIONS[backend]:
        raise ValueError(f"precision {precision!r} is not supported by backend {backend!r}; "
                         f"choose one of {BACKEND_PRECISIONS[backend]}")


class Classifier:
    """Multi-label scores for utterances: ``Classifier.load(model_dir).predict(texts)``."""

    def __init__(self, scorer, thresholds: dict[str, float], metadata: ModelMetadata,
                 model_dir: Path | None = None):
        self.scorer, self.metadata, self.model_dir = scorer, metadata, model_dir
        self.thresholds = np.array([thresholds[label] for label in VIOLATIONS], dtype=np.float32)

    @classmethod
    def load(cls, model_dir: str | Path, batch_size: int = 32, precision: str = "fp32",
             backend: str = "torch") -> "Classifier":
        """Load a model directory written by ``collectguard train`` (transformer or baseline).

        Transformers run on ``backend`` ``"torch"`` (``precision`` ``fp32``, ``bf16`` or ``int8``) or
        ``"onnx"`` (``fp32`` or ``int8``; needs ``collectguard export --model DIR --onnx [--int8]``).
        """
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelDirectoryError(f"{model_dir}: no such model directory")
        check_backend(backend, precision)
        metadata = read_metadata(model_dir)
        options = {"batch_size": batch_size, "precision": precision}
        if metadata.kind == TRANSFORMER and backend == "onnx":
            from .onnx_scorer import OnnxScorer

            scorer = OnnxScorer.load(model_dir, metadata.max_length, metadata.window_stride, **options)
        elif metadata.kind == TRANSFORMER:
            from .transformer import TransformerScorer

            scorer = TransformerScorer.load(model_dir, metadata.max_length, metadata.window_stride, **options)
        elif metadata.kind == TFIDF_LOGREG:
            if backend != "torch":
                raise ValueError(f"backend {backend!r} is for transformer models; {model_dir} is "
                                 f"{TFIDF_LOGREG} (leave backend at its default)")
            from .baseline import TfidfScorer

            scorer = TfidfScorer.load(model_dir)
        else:
            raise ModelDirectoryError(f"{model_dir}: unknown model kind {metadata.kind!r}")
        return cls(scorer, read_thresholds(model_dir), metadata, model_dir)

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Probabilities, shape (n, 4), columns in ``VIOLATIONS`` order."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, len(VIOLATIONS)), dtype=np.float32)
        return self.scorer.probabilities([normalize(t, self.metadata.normalization) for t in texts])

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Boolean decisions, shape (n, 4): probability at or above the label's threshold."""
        return probs >= self.thresholds

    def predict(self, texts: str | Sequence[str]) -> pd.DataFrame:
        """One row per text: ``prob_<label>`` for each violation, ``pred_labels`` (list, empty when
        compliant) and ``compliant`` (bool)."""
        probs = self.predict_proba(texts)
        decisions = self.decide(probs)
        frame = pd.DataFrame(probs, columns=PROB_COLUMNS)
        frame["pred_labels"] = [[v for v, on in zip(VIOLATIONS, row) if on] for row in decisions]
        frame["compliant"] = ~decisions.any(axis=1)
        return frame
