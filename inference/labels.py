"""The label set: the single source every other module takes its labels from."""
from __future__ import annotations

from collections.abc import Iterable

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


def labels_to_text(labels: Iterable[str]) -> str:
    """How a label list is written in CSV and reports: ``threat|privacy``, ``compliant`` when empty."""
    present = set(labels)
    return "|".join(v for v in VIOLATIONS if v in present) or COMPLIANT


def labels_from_text(text: str) -> list[str]:
    """Inverse of :func:`labels_to_text` (``""`` also reads as compliant); unknown names are kept
    for the caller to report."""
    text = text.strip()
    return [] if text in ("", COMPLIANT) else [part.strip() for part in text.split("|")]


def combination_key(labels: Iterable[str]) -> str:
    """A canonical name for a label combination, ``compliant`` for none (used to stratify)."""
    present = [v for v in VIOLATIONS if v in set(labels)]
    return "+".join(present) or COMPLIANT
