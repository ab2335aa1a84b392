"""The label set: the single source every other module takes its labels from."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

VIOLATIONS: tuple[str, ...] = ("threat", "insult", "deception", "privacy")
COMPLIANT = "compliant"
SPEAKERS: tuple[str, ...] = ("agent", "customer", "third_party", "other")
STYLES: tuple[str, ...] = ("clean", "asr", "chat", "mention")
SCRIPTS: tuple[str, ...] = ("simplified", "traditional")


def unknown_labels(labels: Iterable[str]) -> list[str]:
    """The entries of ``labels`` that are not violations."""
    return [label for label in labels if label not in VIOLATIONS]


def to_multi_hot(labels: Iterable[str]) -> list[int]:
    """``["threat", "privacy"]`` -> ``[1, 0, 0, 1]`` in ``VIOLATIONS`` order."""
    present = set(labels)
    return [int(v in present) for v in VIOLATIONS]


def from_multi_hot(row: Sequence[int | bool]) -> list[str]:
    """Inverse of :func:`to_multi_hot`."""
    return [v for v, on in zip(VIOLATIONS, row) if on]


def combination_key(labels: Iterable[str]) -> str:
    """A canonical name for a label combination, ``compliant`` for none (used to stratify)."""
    present = [v for v in VIOLATIONS if v in set(labels)]
    return "+".join(present) or COMPLIANT
