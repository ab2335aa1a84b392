"""Near-duplicate detection by character-trigram Jaccard similarity.

Texts are compared on a key that ignores what a rewrite changes cheaply: full/half width,
traditional vs simplified characters, punctuation and spaces, and PII digits. Similarity of all pairs
is one sparse matrix product (scikit-learn's vectoriser, SciPy's sparse algebra), fast enough for
tens of thousands of utterances without an approximate index.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from collectguard.inference.normalize import NormalizationConfig, normalize

NEAR_DUPLICATE_JACCARD = 0.6
_PUNCT_SPACE_RE = re.compile(r"[\W_]+")
# version 1: the near-duplicate groups, and so the committed splits, were built with it
_KEY_CONFIG = NormalizationConfig(to_simplified=True, mask_pii=True, version=1)


def comparison_key(text: str) -> str:
    """The text as compared: simplified, PII masked, lower case, without punctuation and spaces
    (texts of emoji or punctuation only are compared as they are)."""
    normalized = normalize(text, _KEY_CONFIG)
    return _PUNCT_SPACE_RE.sub("", normalized).lower() or normalized


def _trigram_matrix(keys_a: Sequence[str], keys_b: Sequence[str]):
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False)
    try:
        vectorizer.fit([*keys_a, *keys_b])
    except ValueError:  # no text long enough for a trigram
        return None, None
    a = vectorizer.transform(keys_a).astype(np.int32)
    b = vectorizer.transform(keys_b).astype(np.int32)
    return a, b


def near_duplicate_pairs(
    texts_a: Sequence[str], texts_b: Sequence[str] | None = None, threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)`` with trigram Jaccard >= ``threshold``: within ``texts_a`` (i < j)
    when ``texts_b`` is None, otherwise between ``texts_a[i]`` and ``texts_b[j]``."""
    within = texts_b is None
    keys_a = [comparison_key(t) for t in texts_a]
    keys_b = keys_a if within else [comparison_key(t) for t in texts_b]
    a, b = _trigram_matrix(keys_a, keys_b)
    if a is None:
        return []
    sizes_a = np.asarray(a.sum(axis=1)).ravel()
    sizes_b = np.asarray(b.sum(axis=1)).ravel()
    overlap = sparse.triu(a @ b.T, k=1).tocoo() if within else (a @ b.T).tocoo()
    union = sizes_a[overlap.row] + sizes_b[overlap.col] - overlap.data
    jaccard = overlap.data / np.maximum(union, 1)
    keep = jaccard >= threshold
    return sorted(
        zip(overlap.row[keep].tolist(), overlap.col[keep].tolist(), jaccard[keep].round(3).tolist())
    )


def exact_duplicate_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts whose comparison keys are identical, in groups of two or more."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        groups.setdefault(comparison_key(text), []).append(index)
    return [g for g in groups.values() if len(g) > 1]
