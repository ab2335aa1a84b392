"""Per-call roll-up of scored utterances: counts, maxima, first flagged turn and evidence.

Summaries are built per chunk and merged, so a call split across chunks (or across a resumed run)
is summarised the same as one read at once.
"""
from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

import pandas as pd

from .labels import COMPLIANT, VIOLATIONS
from .pii import MASKING_VERSION, mask_pii

EVIDENCE_PER_LABEL = 3


@dataclass
class CallSummary:
    utterances: int = 0
    scored: int = 0
    max_prob: dict = field(default_factory=lambda: {v: None for v in VIOLATIONS})
    flagged: dict = field(default_factory=lambda: {v: 0 for v in VIOLATIONS})
    first_flagged: dict = field(default_factory=lambda: {v: None for v in VIOLATIONS})  # (order, turn)
    evidence: dict = field(default_factory=lambda: {v: [] for v in VIOLATIONS})  # [(prob, order, turn, text)]

    def merge(self, other: CallSummary) -> None:
        self.utterances += other.utterances
        self.scored += other.scored
        for v in VIOLATIONS:
            probs = [p for p in (self.max_prob[v], other.max_prob[v]) if p is not None]
            self.max_prob[v] = max(probs) if probs else None
            self.flagged[v] += other.flagged[v]
            firsts = [f for f in (self.first_flagged[v], other.first_flagged[v]) if f is not None]
            self.first_flagged[v] = min(firsts) if firsts else None
            self.evidence[v] = heapq.nlargest(EVIDENCE_PER_LABEL, self.evidence[v] + other.evidence[v])

    def to_dict(self) -> dict:
        return {"utterances": self.utterances, "scored": self.scored, "max_prob": self.max_prob,
                "flagged": self.flagged, "first_flagged": self.first_flagged, "evidence": self.evidence}

    @classmethod
    def from_dict(cls, data: dict) -> CallSummary:
        return cls(data["utterances"], data["scored"], data["max_prob"], data["flagged"],
                   {v: tuple(f) if f else None for v, f in data["first_flagged"].items()},
                   {v: [tuple(e) for e in items] for v, items in data["evidence"].items()})


def summarise_chunk(scored: pd.DataFrame, call_col: str, order: list, turns: list,
                    mask: bool = True) -> dict[str, CallSummary]:
    """Summaries of the calls in one scored chunk; ``order`` sorts utterances within a call and
    ``turns`` is what the report shows as the turn (the turn column, or the input line). The
    evidence texts have personal data masked (:func:`~collectguard.inference.pii.mask_pii`) unless
    ``mask`` is false."""
    summaries: dict[str, CallSummary] = {}
    ok = (scored["status"] == "ok").to_numpy()
    for index, call in enumerate(scored[call_col].tolist()):
        if call is None:  # a malformed row has no call to belong to
            continue
        summary = summaries.setdefault(str(call), CallSummary())
        summary.utterances += 1
        if not ok[index]:
            continue
        summary.scored += 1
        labels = scored["pred_labels"].iat[index]
        for v in VIOLATIONS:
            prob = float(scored[f"prob_{v}"].iat[index])
            summary.max_prob[v] = prob if summary.max_prob[v] is None else max(summary.max_prob[v], prob)
            if v in labels:
                summary.flagged[v] += 1
                key = (order[index], turns[index])
                if summary.first_flagged[v] is None or key < summary.first_flagged[v]:
                    summary.first_flagged[v] = key
                text = str(scored["__text__"].iat[index])
                text = mask_pii(text) if mask else text
                summary.evidence[v] = heapq.nlargest(
                    EVIDENCE_PER_LABEL, summary.evidence[v] + [(prob, order[index], turns[index], text)])
    return summaries


def merge_summaries(total: dict[str, CallSummary], part: dict[str, CallSummary]) -> None:
    for call, summary in part.items():
        if call in total:
            total[call].merge(summary)
        else:
            total[call] = summary


def verdict(summary: CallSummary) -> str:
    if summary.scored == 0:
        return "not_scored"
    flagged = [v for v in VIOLATIONS if summary.flagged[v]]
    return "|".join(flagged) if flagged else COMPLIANT


def masking_note(masked: bool) -> str:
    """The value of the ``pii_masking`` column of every table that quotes text: ``v2`` (the
    masking version applied) or ``off`` (``--no-mask``, internal use only)."""
    return f"v{MASKING_VERSION}" if masked else "off"


def calls_frame(summaries: dict[str, CallSummary], call_col: str, masked: bool = True) -> pd.DataFrame:
    """One row per call; ``evidence_<label>`` is JSON: the top flagged utterances with turn and
    probability; ``pii_masking`` says whether their personal data was masked (:func:`masking_note`)."""
    rows = []
    for call, s in summaries.items():
        row = {call_col: call, "n_utterances": s.utterances, "n_scored": s.scored, "verdict": verdict(s),
               "pii_masking": masking_note(masked)}
        for v in VIOLATIONS:
            row[f"max_prob_{v}"] = s.max_prob[v]
            row[f"n_flagged_{v}"] = s.flagged[v]
            row[f"first_flagged_turn_{v}"] = s.first_flagged[v][1] if s.first_flagged[v] else None
            row[f"evidence_{v}"] = json.dumps(
                [{"turn": turn, "prob": round(prob, 4), "text": text} for prob, _, turn, text in s.evidence[v]],
                ensure_ascii=False)
        rows.append(row)
    return pd.DataFrame(rows)
