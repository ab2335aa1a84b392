"""``Classifier``: the one prediction path used by training, evaluation, scoring and notebooks."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import VIOLATIONS
from .modeldir import (
    TFIDF_LOGREG,
    TRANSFORMER,
    ModelDirectoryError,
    ModelMetadata,
    check_thresholds,
    read_metadata,
    read_thresholds,
    write_model_files,
)
from .normalize import normalize

logger = logging.getLogger(__name__)
PROB_COLUMNS = [f"prob_{label}" for label in VIOLATIONS]
BACKEND_PRECISIONS = {"torch": ("auto", "fp32", "bf16", "int8"), "onnx": ("auto", "fp32", "int8")}
OK, EMPTY_TEXT = "ok", "empty_text"


def check_backend(backend: str, precision: str, device: str = "cpu") -> None:
    """A ``ValueError`` naming the supported choices for an unknown backend, device or an unsupported pair."""
    if backend not in BACKEND_PRECISIONS:
        raise ValueError(f"backend {backend!r} is not one of {tuple(BACKEND_PRECISIONS)}")
    if precision not in BACKEND_PRECISIONS[backend]:
        raise ValueError(f"precision {precision!r} is not supported by backend {backend!r}; "
                         f"choose one of {BACKEND_PRECISIONS[backend]}")
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device {device!r} is not one of cpu, cuda, auto")
    if device != "cpu" and (backend != "torch" or precision == "int8"):
        raise ValueError("a GPU runs backend 'torch' in fp32 or bf16; int8 and onnx are CPU paths")


def is_empty(text) -> bool:
    """None, NaN (an empty cell read by pandas) or only whitespace."""
    return text is None or (isinstance(text, float) and text != text) or not str(text).strip()


class Classifier:
    """Multi-label scores for utterances.

    Example:
        >>> model = Classifier.from_pretrained("models/baseline")  # doctest: +SKIP
        >>> model.predict(["再不还钱就把你欠钱的事发到你通讯录每个人"])  # doctest: +SKIP
    """

    def __init__(self, scorer, thresholds: dict[str, float], metadata: ModelMetadata,
                 model_dir: Path | None = None):
        check_thresholds(thresholds, "thresholds")
        self.scorer, self.metadata, self.model_dir = scorer, metadata, model_dir
        self.thresholds = np.array([thresholds[label] for label in VIOLATIONS], dtype=np.float32)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, *, device: str = "cpu", backend: str = "torch",
                        precision: str = "fp32", batch_size: int = 32) -> Classifier:
        """Load a model directory written by ``collectguard train`` (transformer or baseline).

        Args:
            model_dir: the model directory.
            device: ``"cpu"``, ``"cuda"``, or ``"auto"`` (a GPU when torch sees one) for transformers.
            backend: ``"torch"``, or ``"onnx"`` (after ``collectguard export --model DIR --onnx [--int8]``;
                needs neither torch nor transformers).
            precision: ``"fp32"``, ``"bf16"`` (autocast), ``"int8"`` (dynamic quantisation, CPU) or
                ``"auto"``: fp32 or bf16, whichever a short measurement finds faster here (fp32 for onnx).
            batch_size: windows per forward pass.

        Returns:
            A ``Classifier`` with the directory's thresholds and normalisation.

        Raises:
            ModelDirectoryError: a missing, incomplete or corrupt model directory (the message names
                the file).
        """
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelDirectoryError(f"{model_dir}: no such model directory")
        check_backend(backend, precision, device)
        metadata = read_metadata(model_dir)
        thresholds = read_thresholds(model_dir)
        if backend == "onnx" and precision == "auto":
            precision = "fp32"
        options = {"batch_size": batch_size, "precision": precision}
        if metadata.kind == TRANSFORMER and backend == "onnx":
            from .onnx_scorer import OnnxScorer

            scorer = OnnxScorer.load(model_dir, metadata.max_length, metadata.window_stride, **options)
        elif metadata.kind == TRANSFORMER:
            from .transformer import TransformerScorer

            scorer = TransformerScorer.load(model_dir, metadata.max_length, metadata.window_stride,
                                            device=device, **options)
        elif metadata.kind == TFIDF_LOGREG:
            if backend != "torch":
                raise ValueError(f"backend {backend!r} is for transformer models; {model_dir} is "
                                 f"{TFIDF_LOGREG} (leave backend at its default)")
            from .baseline import TfidfScorer

            scorer = TfidfScorer.load(model_dir)
        else:
            raise ModelDirectoryError(f"{model_dir}: unknown model kind {metadata.kind!r}")
        return cls(scorer, thresholds, metadata, model_dir)

    def save_pretrained(self, model_dir: str | Path) -> None:
        """Write the weights, ``collectguard.json`` and ``thresholds.json`` into ``model_dir``: a standard
        Hugging Face directory for transformers, loadable by :meth:`from_pretrained`."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.scorer.save(model_dir)
        write_model_files(model_dir, self.metadata, dict(zip(VIOLATIONS, map(float, self.thresholds))))
        self.model_dir = model_dir

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Probabilities, shape (n, 4), columns in ``VIOLATIONS`` order; NaN rows for empty texts."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        probs = np.full((len(texts), len(VIOLATIONS)), np.nan, dtype=np.float32)
        scored = [i for i, t in enumerate(texts) if not is_empty(t)]
        if scored:
            probs[scored] = self.scorer.probabilities(
                [normalize(str(texts[i]), self.metadata.normalization) for i in scored])
        return probs

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Boolean decisions, shape (n, 4): probability at or above the label's threshold (NaN: no)."""
        return np.nan_to_num(probs, nan=-1.0) >= self.thresholds

    def predict(self, texts: str | Sequence[str] | pd.Series) -> pd.DataFrame:
        """One row per text, with the index of ``texts`` when it is a pandas Series.

        Columns: ``prob_<label>`` for each violation, ``pred_labels`` (list, empty when compliant),
        ``compliant`` (bool) and ``status``: ``ok``, or ``empty_text`` for empty, whitespace or missing
        (None/NaN) texts, whose probabilities are NaN and ``pred_labels``/``compliant`` None.
        """
        index = texts.index if isinstance(texts, pd.Series) else None
        texts = [texts] if isinstance(texts, str) else list(texts)
        probs = self.predict_proba(texts)
        decisions = self.decide(probs)
        ok = ~np.isnan(probs).any(axis=1)
        frame = pd.DataFrame(probs, columns=PROB_COLUMNS, index=index)
        frame["pred_labels"] = [[v for v, on in zip(VIOLATIONS, row) if on] if is_ok else None
                                for row, is_ok in zip(decisions, ok)]
        frame["compliant"] = pd.array([bool(not row.any()) if is_ok else None for row, is_ok in zip(decisions, ok)],
                                      dtype="boolean")
        frame["status"] = np.where(ok, OK, EMPTY_TEXT)
        return frame
