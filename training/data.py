"""Training data: labelled files and globs in, one Hugging Face ``datasets.Dataset`` per split out.

Rows are read and validated by ``collectguard.inference.records`` (file:line:field errors), keep the
file and line they come from (``origin``) and their ``source`` (``authored``, or the corpus of a
background negative), and get a sample weight: 1 for authored rows, ``data.background_weight`` for
the others. Texts are normalised once, here, as the classifier will normalise them when scoring;
transformers tokenise them once with ``Dataset.map``.
"""
from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from collectguard.inference.labels import to_multi_hot
from collectguard.inference.normalize import NormalizationConfig, normalize
from collectguard.inference.records import AUTHORED, LabelledDataError, LabelledRow, load_labelled

from .config import ConfigError, DataConfig


def expand(patterns: Sequence[str]) -> list[Path]:
    """The files of ``patterns`` (paths, or globs sorted by name); the config checked they exist."""
    return [Path(p) for pattern in patterns for p in (sorted(glob.glob(pattern)) if glob.has_magic(pattern)
                                                      else [pattern])]


def load_rows(patterns: Sequence[str], key: str) -> list[LabelledRow]:
    """Every row of the files of ``patterns``; any invalid row or an empty result is a ConfigError."""
    try:
        rows = load_labelled(*expand(patterns))
    except LabelledDataError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if not rows:
        raise ConfigError(f"{key}: {', '.join(patterns)} holds no rows")
    return rows


def cap_per_source(rows: list[LabelledRow], cap: int) -> list[LabelledRow]:
    """Authored rows, and at most ``cap`` rows of each other source (the first ones; 0: no cap)."""
    if cap <= 0:
        return rows
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        if row.source != AUTHORED:
            seen[row.source] = seen.get(row.source, 0) + 1
            if seen[row.source] > cap:
                continue
        kept.append(row)
    return kept


def sample_weights(rows: Sequence[LabelledRow], background_weight: float) -> np.ndarray:
    return np.array([1.0 if r.source == AUTHORED else background_weight for r in rows], dtype=np.float32)


def split_rows(data: DataConfig) -> dict[str, list[LabelledRow]]:
    """The rows of ``data.train`` (background capped per source), ``data.dev`` and ``data.test``."""
    return {"train": cap_per_source(load_rows(data.train, "data.train"), data.background_per_source),
            "dev": load_rows(data.dev, "data.dev"), "test": load_rows([data.test], "data.test")}


def to_dataset(rows: Sequence[LabelledRow], normalization: NormalizationConfig, background_weight: float = 1.0):
    """A ``datasets.Dataset``: id, text (normalised), labels (multi-hot floats), weight, source, origin."""
    from datasets import Dataset

    return Dataset.from_dict({
        "id": [r.id for r in rows], "text": [normalize(r.text, normalization) for r in rows],
        "labels": [[float(x) for x in to_multi_hot(r.labels)] for r in rows],
        "weight": sample_weights(rows, background_weight).tolist(),
        "source": [r.source for r in rows], "origin": [r.origin for r in rows]})


def tokenize(dataset, tokenizer, max_length: int):
    """``input_ids`` and ``attention_mask`` cut to ``max_length`` tokens (the last kept token is
    ``[SEP]``), and ``truncated`` per row, in one pass of ``Dataset.map``."""

    def encode(batch):
        encoded = tokenizer(batch["text"])
        ids = [x if len(x) <= max_length else [*x[: max_length - 1], tokenizer.sep_token_id]
               for x in encoded["input_ids"]]
        return {"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids],
                "truncated": [len(x) > max_length for x in encoded["input_ids"]]}

    return dataset.map(encode, batched=True, desc="tokenising")
