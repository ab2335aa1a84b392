"""Prevalence of every label by every method, for a corpus and its groups, with bootstrap intervals.

Each bootstrap replicate resamples both sources of error together: the scored corpus (whole calls
when call ids are known, because utterances of one call are not independent; rows otherwise) and
the held-out labelled rows the error rates come from, so the interval carries the uncertainty of
``tpr``/``fpr`` too. Intervals are percentile intervals (2.5th and 97.5th percentile).

Call level: the share of calls with at least one violation of a label. ``cc`` counts calls with a
flagged utterance; ``pcc`` is ``mean_calls(1 - prod_i(1 - p_i))`` with the Platt-recalibrated
probabilities; ``emq`` the same with those probabilities moved to the corpus prevalence estimated
by ``emq`` (SLD posteriors). Both assume errors independent within a call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..bootstrap import resample_counts
from .estimators import (
    LABELS,
    METHODS,
    Joint,
    Rates,
    calibrate,
    call_share,
    clip,
    estimate,
    heldout_rates,
    joint_adjust,
    joint_rates,
    sld_posteriors,
    with_any,
)

CALL_METHODS = ("cc", "pcc", "emq")
COLUMNS = ["group", "label", "method", "estimate", "ci_low", "ci_high", "n", "clipped", "flag"]
ALL = "all"
_CELLS_PER_CHUNK = 2_000_000  # replicates x rows held in memory at once


@dataclass(frozen=True)
class Scored:
    """Probabilities and decisions of (n, 5) columns in ``LABELS`` order; truth too for held-out rows."""
    scores: np.ndarray
    decisions: np.ndarray
    truth: np.ndarray | None = None

    @classmethod
    def from_probs(cls, probs, thresholds, truth=None) -> Scored:
        """From (n, 4) probabilities, the model's (4,) thresholds and optional (n, 4) 0/1 truth."""
        probs = np.asarray(probs, dtype=float).reshape(-1, len(LABELS) - 1)
        scores, decisions = with_any(probs, probs >= np.asarray(thresholds, dtype=np.float32))
        if truth is not None:
            truth = np.asarray(truth, dtype=bool).reshape(len(probs), -1)
            truth = np.column_stack([truth, truth.any(axis=1)])
        return cls(scores, decisions, truth)


@dataclass(frozen=True)
class HeldoutRates:
    """Per label the point ``Rates`` (all held-out rows) and the ``Rates`` of each replicate, and the
    cross-label models of decisions and of probabilities (point and replicates)."""
    point: list[Rates]
    replicates: list[Rates]
    joint_point: tuple[Joint, Joint]
    joint_replicates: tuple[Joint, Joint]


def heldout_rates_all(heldout: Scored, n_boot: int, seed: int) -> HeldoutRates:
    """Error rates from the held-out rows, once for all groups."""
    if heldout.truth is None or not len(heldout.truth):
        raise ValueError("held-out rows with truth are needed for error rates")
    ones = np.ones((1, len(heldout.truth)))
    counts = resample_counts(len(heldout.truth), n_boot, np.random.default_rng((seed, 0))).astype(float)
    columns = [(heldout.truth[:, k], heldout.scores[:, k], heldout.decisions[:, k]) for k in range(len(LABELS))]
    truth, k = heldout.truth[:, :-1], len(LABELS) - 1

    def joints(weights):
        return (joint_rates(weights, truth, heldout.decisions[:, :k]),
                joint_rates(weights, truth, heldout.scores[:, :k]))

    return HeldoutRates([heldout_rates(ones, *c) for c in columns], [heldout_rates(counts, *c) for c in columns],
                        joints(ones), joints(counts))


@dataclass(frozen=True)
class Pooled:
    """A group's rows with identical probabilities pooled (exact for utterance-level estimates)."""
    scores: np.ndarray  # (u, 5)
    decisions: np.ndarray  # (u, 5)
    inverse: np.ndarray  # (n,): pooled row of each row
    pooling: sparse.csr_matrix  # (n, u) one-hot of ``inverse``

    @classmethod
    def of(cls, corpus: Scored) -> Pooled:
        scores, first, inverse = np.unique(corpus.scores, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        pooling = sparse.csr_matrix((np.ones(len(inverse)), (np.arange(len(inverse)), inverse)),
                                    shape=(len(inverse), len(scores)))
        return cls(scores, corpus.decisions[first], inverse, pooling)


def _estimates(weights, call_weights, starts, pooled: Pooled, rates: list[Rates], joint: tuple[Joint, Joint]) -> dict:
    """``{(level, label, method): (values, clipped)}`` for one block of replicates."""
    out, pooled_weights, calibrated = {}, np.asarray((pooled.pooling.T @ weights.T).T), []
    for k, label in enumerate(LABELS):
        score, decision = pooled.scores[:, k], pooled.decisions[:, k]
        calibrated.append(calibrate(rates[k], score))
        for method, result in estimate(pooled_weights, score, decision, rates[k], calibrated[k]).items():
            out["utterance", label, method] = result
    for method, base, model in (("acc_joint", "cc", joint[0]), ("pacc_joint", "pcc", joint[1])):
        observed = np.column_stack([out["utterance", label, base][0] for label in LABELS[:-1]])
        values, clipped = clip(joint_adjust(observed, model))
        for k, label in enumerate(LABELS[:-1]):
            out["utterance", label, method] = (values[:, k], clipped[:, k])
        out["utterance", "any", method] = out["utterance", "any", method.split("_")[0]]
    if starts is not None:
        out.update(_call_estimates(call_weights, starts, pooled, rates, calibrated, out))
    return out


def _call_estimates(call_weights, starts, pooled: Pooled, rates: list[Rates], calibrated, utterance: dict) -> dict:
    """Call-level ``cc`` (a flagged utterance), ``pcc`` (recalibrated probabilities) and ``emq`` (those
    moved to the utterance-level ``emq`` estimate: SLD posteriors)."""
    out, no_clip = {}, np.zeros(len(call_weights), dtype=bool)
    for k, label in enumerate(LABELS):
        per_row = calibrated[k][:, pooled.inverse]
        decision = pooled.decisions[pooled.inverse, k].astype(float)
        out["call", label, "cc"] = (call_share(call_weights, decision, starts), no_clip)
        out["call", label, "pcc"] = (call_share(call_weights, per_row, starts), no_clip)
        q = np.nan_to_num(utterance["utterance", label, "emq"][0], nan=0.0)
        posteriors = sld_posteriors(per_row, rates[k].prior, q)
        out["call", label, "emq"] = (call_share(call_weights, posteriors, starts), no_clip)
    return out


def _starts(calls: np.ndarray | None) -> np.ndarray | None:
    """Index of the first utterance of each call (rows sorted by call)."""
    return None if calls is None else np.flatnonzero(np.r_[True, calls[1:] != calls[:-1]])


def _replicates(pooled: Pooled, calls, rates: HeldoutRates, n_boot: int, rng) -> dict:
    """The estimates of ``n_boot`` replicates, computed in blocks to bound memory."""
    n = len(pooled.inverse)
    units = n if calls is None else int(calls.max()) + 1
    starts = _starts(calls)
    block = max(1, min(n_boot, _CELLS_PER_CHUNK // n))
    parts = []
    for first in range(0, n_boot, block):
        rows = slice(first, min(first + block, n_boot))
        unit_weights = resample_counts(units, rows.stop - rows.start, rng).astype(float)
        weights = unit_weights if calls is None else unit_weights[:, calls]
        parts.append(_estimates(weights, unit_weights, starts, pooled, [r.take(rows) for r in rates.replicates],
                                tuple(j.take(rows) for j in rates.joint_replicates)))
    return {key: tuple(np.concatenate([p[key][i] for p in parts]) for i in range(2)) for key in parts[0]}


def _flag(n: int, min_size: int, point: float, reps: np.ndarray, clipped: np.ndarray) -> str:
    flags = []
    if n < min_size:
        flags.append("too_small")
    if np.isnan(point):
        flags.append("undefined")
    if np.isnan(reps).any():
        flags.append("unstable_rates")
    if clipped.mean() > 0.025:
        flags.append("ci_clipped")
    if len(reps) > 1 and not np.isnan(reps).all() and np.nanmax(reps) == np.nanmin(reps):
        flags.append("ci_degenerate")  # no replicate varied, e.g. a group without any flag
    return ";".join(flags)


def measure_group(name: str, corpus: Scored, calls: np.ndarray | None, rates: HeldoutRates, n_boot: int,
                  rng: np.random.Generator, min_size: int):
    """Tidy rows (utterance level, call level) of one group. ``calls``: call codes 0..C-1 in
    non-decreasing order (rows sorted by call), or None."""
    n = len(corpus.scores)
    n_calls = 0 if calls is None or not n else int(calls.max()) + 1
    if n == 0:
        empty = dict(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, n=0, clipped=False, flag="empty")
        return ([dict(group=name, label=lb, method=m, **empty) for lb in LABELS for m in METHODS],
                [dict(group=name, label=lb, method=m, **empty) for lb in LABELS for m in CALL_METHODS]
                if calls is not None else [])
    pooled = Pooled.of(corpus)
    point = _estimates(np.ones((1, n)), np.ones((1, n_calls)), _starts(calls), pooled, rates.point, rates.joint_point)
    reps = _replicates(pooled, calls, rates, n_boot, rng)
    tables = {"utterance": [], "call": []}
    for (level, label, method), (value, clipped) in point.items():
        values, rep_clipped = reps[level, label, method]
        size = n if level == "utterance" else n_calls
        low, high = (np.nanpercentile(values, [2.5, 97.5]) if not np.isnan(values).all() else (np.nan, np.nan))
        tables[level].append(dict(group=name, label=label, method=method, estimate=float(value[0]),
                                  ci_low=float(low), ci_high=float(high), n=size, clipped=bool(clipped[0]),
                                  flag=_flag(size, min_size, value[0], values, rep_clipped)))
    return tables["utterance"], tables["call"]


def group_name(by: list[str], key) -> str:
    """``agency=X`` or ``agency=X|month=2026-08``."""
    key = key if isinstance(key, tuple) else (key,)
    return "|".join(f"{col}={'(missing)' if pd.isna(v) else v}" for col, v in zip(by, key, strict=True))


def groups(frame: pd.DataFrame, by: list[str]) -> list[tuple[str, pd.Index]]:
    """``[(name, row index)]``: the whole corpus (``all``), then each ``by`` group sorted."""
    result = [(ALL, frame.index)]
    if by:
        grouped = frame.groupby(by if len(by) > 1 else by[0], sort=True, dropna=False).groups
        result += [(group_name(by, key), index) for key, index in grouped.items()]
    return result


def measure(frame: pd.DataFrame, ok: np.ndarray, thresholds, rates: HeldoutRates, by: list[str],
            call_col: str | None, n_boot: int = 1000, seed: int = 13,
            min_size: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy (prevalence, calls) tables for the whole corpus (group ``all``) and each ``by`` group.

    ``frame`` holds every scored row (``prob_*`` columns, ``by`` and ``call_col`` columns); ``ok``
    marks the rows to measure. A group whose rows are all not ok gets rows with n=0 and flag ``empty``.
    """
    frame = frame.assign(_ok=np.asarray(ok, dtype=bool))
    utterance_rows, call_rows = [], []
    for number, (name, index) in enumerate(groups(frame, by)):
        part = frame.loc[index]
        part = part[part["_ok"]]
        calls = None
        if call_col is not None:
            part = part.assign(_call=part[call_col].astype(str)).sort_values("_call", kind="stable")
            calls = pd.factorize(part["_call"], sort=True)[0]
        probs = part[[f"prob_{label}" for label in LABELS[:-1]]].to_numpy(dtype=float)
        utt, call = measure_group(name, Scored.from_probs(probs, thresholds), calls, rates, n_boot,
                                  np.random.default_rng((seed, 1, number)), min_size)
        utterance_rows += utt
        call_rows += call
    return pd.DataFrame(utterance_rows, columns=COLUMNS), pd.DataFrame(call_rows, columns=COLUMNS)
