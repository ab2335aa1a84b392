"""Inputs of prevalence measurement: scored files and the labelled rows that give the error rates.

A scored file (written by ``collectguard score``) is Parquet, CSV or JSONL with the input columns
plus ``prob_<label>`` for each violation, ``pred_labels`` (a list, or pipe-separated in CSV) and
``status`` (``ok``, ``empty_text``, ``not_scored:<reason>``). Only ``ok`` rows are measured (every row
with probabilities when there is no ``status`` column). Decisions are recomputed from the
probabilities with the model's thresholds, so that corpus and held-out rows are decided alike; a
``pred_labels`` column that disagrees means the file was scored with another model, an error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..classifier import PROB_COLUMNS, Classifier
from ..labels import VIOLATIONS, labels_from_text, to_multi_hot
from ..modeldir import HELDOUT_FILE, ModelDirectoryError, read_heldout
from ..records import load_labelled
from ..tables import TableError, read_table

_TOLERANCE = 1e-6  # probabilities this close to a threshold may round either way in a CSV


class ScoredFileError(ValueError):
    """A scored file that cannot be measured; the message names the file and column."""


def read_scored(path: str | Path) -> pd.DataFrame:
    """One scored file as a DataFrame, checked for the probability columns."""
    path = Path(path)
    try:
        frame = read_table(path)
    except TableError as exc:
        raise ScoredFileError(str(exc)) from None
    missing = [c for c in PROB_COLUMNS if c not in frame.columns]
    if missing:
        raise ScoredFileError(f"{path}: missing column(s) {', '.join(missing)}; measure files written by "
                              "`collectguard score`")
    for column in PROB_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce")
        if (values.isna() & frame[column].notna()).any() or ((values < 0) | (values > 1)).any():
            raise ScoredFileError(f"{path}: column {column}: values that are not probabilities in [0, 1]")
        frame[column] = values
    return frame


def ok_rows(frame: pd.DataFrame, path) -> np.ndarray:
    """Rows to measure: ``status == ok``; an ok row without probabilities is an error."""
    has_probs = frame[PROB_COLUMNS].notna().all(axis=1).to_numpy()
    if "status" not in frame:
        return has_probs
    ok = (frame["status"].astype(str) == "ok").to_numpy()
    if (ok & ~has_probs).any():
        raise ScoredFileError(f"{path}: {int((ok & ~has_probs).sum())} row(s) with status ok but no probabilities")
    return ok


def label_list(value) -> list[str]:
    if isinstance(value, str):
        return labels_from_text(value)
    return [] if value is None or (np.isscalar(value) and pd.isna(value)) else list(value)


def check_decisions(frame: pd.DataFrame, ok: np.ndarray, thresholds, path, model_dir) -> None:
    """``pred_labels`` must match ``prob >= threshold`` of the model measured against."""
    if "pred_labels" not in frame:
        return
    probs = frame.loc[ok, PROB_COLUMNS].to_numpy(dtype=float)
    stated = np.array([to_multi_hot(label_list(v)) for v in frame.loc[ok, "pred_labels"]], dtype=bool)
    ours = probs >= np.asarray(thresholds, dtype=np.float32)
    clear = np.abs(probs - np.asarray(thresholds)) > _TOLERANCE
    wrong = ((stated.reshape(ours.shape) != ours) & clear).any(axis=1)
    if wrong.any():
        raise ScoredFileError(f"{path}: column pred_labels disagrees with the thresholds of {model_dir} in "
                              f"{int(wrong.sum())} row(s); was it scored with another model?")


def load_scored(paths, thresholds, model_dir, by: list[str], call_col: str | None,
                call_col_required: bool) -> tuple[pd.DataFrame, np.ndarray, str | None]:
    """All scored files concatenated, the ok-row mask and the call column to use (None: no call level).

    Each row gets ``_source`` (its file) and ``_id``, ``<file name>:<row number>`` (1-based), the id of
    audit samples. ``thresholds`` None: ``pred_labels`` is not checked."""
    frames, oks, names = [], [], {}
    for path in map(Path, paths):
        if path.name in names:
            raise ScoredFileError(f"{path}: a second scored file named {path.name} (the other is {names[path.name]}); "
                                  "rows are identified as <file name>:<row>, so rename one")
        names[path.name] = path
        frame = read_scored(path)
        for column in by:
            if column not in frame:
                raise ScoredFileError(f"{path}: no column {column!r} to group by (--by); columns: "
                                      f"{', '.join(map(str, frame.columns))}")
        if call_col_required and call_col not in frame:
            raise ScoredFileError(f"{path}: no call id column {call_col!r} (--call-col)")
        ok = ok_rows(frame, path)
        if thresholds is not None:
            check_decisions(frame, ok, thresholds, path, model_dir)
        frames.append(frame.assign(_source=str(path), _id=[f"{path.name}:{i}" for i in range(1, len(frame) + 1)]))
        oks.append(ok)
    has_calls = [call_col in f for f in frames]
    if any(has_calls) and not all(has_calls):
        raise ScoredFileError(f"column {call_col!r} is in some scored files but not in "
                              f"{', '.join(f['_source'].iat[0] for f in frames if call_col not in f)}")
    combined, ok = pd.concat(frames, ignore_index=True), np.concatenate(oks)
    if not ok.any():
        statuses = combined["status"].astype(str).value_counts().to_dict() if "status" in combined else {}
        raise ScoredFileError(f"{', '.join(map(str, paths))}: no row with status ok, so nothing to measure "
                              f"(statuses: {statuses}); check the speaker column and --agent-value when scoring")
    if call_col is None or not any(has_calls):
        return combined, ok, None
    if combined.loc[ok, call_col].isna().any():
        raise ScoredFileError(f"column {call_col!r}: {int(combined.loc[ok, call_col].isna().sum())} ok row(s) "
                              "without a call id")
    return combined, ok, call_col


def heldout_arrays(model_dir, labelled: str | Path | None = None,
                   classifier: Classifier | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(truth (m, 4), probs (m, 4)): the model directory's held-out predictions, or ``labelled``
    (JSONL/CSV per :mod:`inference.records`) scored with ``classifier``."""
    if labelled is None:
        if not (Path(model_dir) / HELDOUT_FILE).is_file():
            raise ModelDirectoryError(f"{model_dir}: no {HELDOUT_FILE}, so no error rates to correct with; "
                                      "retrain it with `collectguard train`, or pass --labelled FILE with "
                                      "labelled rows the model was not trained on")
        _, truth, probs = read_heldout(model_dir)
        if not len(truth):
            raise ModelDirectoryError(f"{model_dir}/{HELDOUT_FILE}: no rows")
        return truth, probs
    rows = load_labelled(labelled)
    if not rows:
        raise ScoredFileError(f"{labelled}: no labelled rows")
    classifier = classifier or Classifier.from_pretrained(model_dir)
    truth = np.array([to_multi_hot(r.labels) for r in rows], dtype=int).reshape(-1, len(VIOLATIONS))
    return truth, classifier.predict_proba([r.text for r in rows])
