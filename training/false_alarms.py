"""False alarms on real text that holds no violation: ``collectguard evaluate --false-alarm-data FILE``.

A file is unlabelled text: one text per line (``.txt``), or a column of a CSV/TSV/JSONL/Parquet table
(``FILE::COLUMN``; default ``text`` or ``TEXT``). Every text counts as compliant, so every flag is a
false alarm. COLD's test split (columns ``label``, ``fine-grained-label``, ``TEXT``) is recognised:
its safe rows (label 0) are measured, with the anti-bias rows (fine-grained 3) and the insult rate of
the rows attacking an individual (fine-grained 1; indicative of insult recall only) beside them.

Per file: the flagged share with a bootstrap CI, the share per label, the precision the model would
have at an assumed base rate of violations, and the top flagged texts (personal data masked).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from collectguard.inference.bootstrap import bootstrap_rate
from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS, labels_to_text
from collectguard.inference.pii import mask_pii
from collectguard.inference.tables import INPUT_FORMATS, read_table
from collectguard.inference.textio import resolve_encoding

COLD_COLUMNS = ("label", "fine-grained-label", "TEXT")
TOP_FLAGGED = 10
NAN = float("nan")


class FalseAlarmInputError(ValueError):
    """A false-alarm file that cannot be read; the message names it."""


def read_texts(spec: str) -> tuple[Path, str | None, list[str], pd.DataFrame | None]:
    """``(path, column, texts, COLD frame or None)`` of ``PATH`` or ``PATH::COLUMN``."""
    path_text, _, column = str(spec).partition("::")
    path = Path(path_text)
    if not path.is_file():
        raise FalseAlarmInputError(f"--false-alarm-data {path}: no such file")
    if path.suffix.lower() not in INPUT_FORMATS:
        with open(path, encoding=resolve_encoding(path, None)) as handle:
            return path, None, [line.strip() for line in handle if line.strip()], None
    frame = read_table(path)
    if not column and set(COLD_COLUMNS) <= set(frame.columns):
        frame = frame.assign(TEXT=frame["TEXT"].fillna("").astype(str))
        cold = frame[(frame["label"].astype(int) == 0) | frame["fine-grained-label"].astype(int).isin([1, 3])]
        return path, "TEXT", cold["TEXT"].tolist(), cold.reset_index(drop=True)
    column = column or next((c for c in ("text", "TEXT") if c in frame.columns), "")
    if column not in frame.columns:
        raise FalseAlarmInputError(f"--false-alarm-data {spec}: no column {column or 'text'!r}; name one as "
                                   f"{path}::COLUMN (columns: {', '.join(map(str, frame.columns))})")
    return path, column, [t for t in frame[column].fillna("").astype(str) if t.strip()], None


def flag_rates(flags, n_bootstrap: int, seed: int) -> dict:
    """Share of rows flagged with any violation (with a bootstrap CI) and with each label."""
    flags = np.asarray(flags, dtype=bool).reshape(-1, len(VIOLATIONS))
    rate = (lambda column: float(column.mean()) if len(column) else NAN)
    return {"n": int(len(flags)), "flagged": int(flags.any(axis=1).sum()), "any_violation_rate": rate(flags.any(axis=1)),
            "any_violation_rate_ci": bootstrap_rate(flags.any(axis=1), n_bootstrap, seed),
            "per_label_rate": {label: rate(flags[:, k]) for k, label in enumerate(VIOLATIONS)}}


def precision_at(recall: float, false_alarm_rate: float, prevalence: float) -> float:
    """Share of flags that are violations when ``prevalence`` of utterances violate, the model finds
    ``recall`` of them and flags ``false_alarm_rate`` of the others."""
    hits, alarms = recall * prevalence, false_alarm_rate * (1 - prevalence)
    return hits / (hits + alarms) if hits + alarms > 0 else NAN


def top_flagged(texts: list[str], probs: np.ndarray, flags: np.ndarray, mask: bool, n: int = TOP_FLAGGED) -> list:
    """The ``n`` flagged texts with the highest probability, with their labels."""
    flagged = np.flatnonzero(flags.any(axis=1))
    order = flagged[np.argsort(-probs[flagged].max(axis=1), kind="stable")][:n]
    return [{"text": mask_pii(texts[i]) if mask else texts[i], "labels": labels_to_text(
        [v for v, on in zip(VIOLATIONS, flags[i]) if on]), "max_prob": round(float(probs[i].max()), 4)} for i in order]


def false_alarm(classifier: Classifier, spec: str, recall: float, prevalence: float, n_bootstrap: int, seed: int,
                mask: bool = True) -> dict:
    """The false-alarm report of one file (see the module docstring)."""
    path, column, texts, cold = read_texts(spec)
    if not texts:
        raise FalseAlarmInputError(f"--false-alarm-data {spec}: no texts")
    probs = classifier.predict_proba(texts)
    flags = classifier.decide(probs)
    if cold is not None:
        safe = (cold["label"].astype(int) == 0).to_numpy()
        individual = flag_rates(flags[(cold["fine-grained-label"].astype(int) == 1).to_numpy()], n_bootstrap, seed)
        extra = {"anti_bias": flag_rates(flags[(cold["fine-grained-label"].astype(int) == 3).to_numpy()],
                                         n_bootstrap, seed),
                 "individual_attack": {"n": individual["n"], "insult_rate": individual["per_label_rate"]["insult"],
                                       "any_violation_rate": individual["any_violation_rate"]}}
        texts, probs, flags = [t for t, s in zip(texts, safe) if s], probs[safe], flags[safe]
    else:
        extra = {}
    rates = flag_rates(flags, n_bootstrap, seed)
    return {"path": str(path), "column": column, "kind": "COLD safe rows" if cold is not None else "all texts",
            **rates, "assumed_prevalence": prevalence,
            "precision_at_prevalence": precision_at(recall, rates["any_violation_rate"], prevalence),
            **extra, "top_flagged": top_flagged(texts, probs, flags, mask)}
