"""Bootstrap confidence intervals and paired bootstrap comparisons of multi-label decisions.

Rows are resampled with replacement. A resample is stored as how often each row was drawn
(:func:`resample_counts`), so the confusion counts of all resamples are one matrix product and
every metric is computed for all resamples at once. Metrics follow ``training.metrics``: a
precision, recall or F1 whose denominator is zero is 0 (scikit-learn's ``zero_division=0``).

Intervals are percentile intervals (2.5th and 97.5th percentile of the resampled values at 95 %).
"""
from __future__ import annotations

import numpy as np

from .labels import VIOLATIONS

LEVEL = 0.95
PAIRED_METRICS = ("macro_f1", "any_violation.f1", *(f"{label}.f1" for label in VIOLATIONS))


def resample_counts(n: int, n_resamples: int, seed: int | np.random.Generator) -> np.ndarray:
    """(n_resamples, n): how many times each of ``n`` units is drawn in each resample of size ``n``
    (``seed``: a seed, or a generator to draw from)."""
    if n == 0:
        return np.zeros((n_resamples, 0), dtype=np.int64)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    flat = (draws + np.arange(n_resamples)[:, None] * n).ravel()
    return np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n)


def safe_ratio(numerator, denominator) -> np.ndarray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def weighted_confusion(truth: np.ndarray, pred: np.ndarray, counts: np.ndarray):
    """tp, fp, fn of each resample: (B,) for 1-d ``truth``/``pred``, (B, k) for (n, k) ones."""
    truth, pred = np.asarray(truth, dtype=bool), np.asarray(pred, dtype=bool)
    return tuple(counts @ cell.astype(np.int64) for cell in (truth & pred, ~truth & pred, truth & ~pred))


def precision_recall_f1(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return safe_ratio(tp, tp + fp), safe_ratio(tp, tp + fn), safe_ratio(2 * tp, 2 * tp + fp + fn)


def metric_samples(y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every resampled metric, (B,) each: ``<label>.precision|recall|f1``, ``macro_f1``, ``micro_f1``,
    ``any_violation.precision|recall|f1`` and ``exact_match``."""
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    tp, fp, fn = weighted_confusion(y_true, y_pred, counts)
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    samples = {}
    for k, label in enumerate(VIOLATIONS):
        samples.update({f"{label}.precision": precision[:, k], f"{label}.recall": recall[:, k],
                        f"{label}.f1": f1[:, k]})
    samples["macro_f1"] = f1.mean(axis=1)
    samples["micro_f1"] = precision_recall_f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))[2]
    any_p, any_r, any_f = precision_recall_f1(*weighted_confusion(y_true.any(axis=1), y_pred.any(axis=1), counts))
    samples.update({"any_violation.precision": any_p, "any_violation.recall": any_r, "any_violation.f1": any_f})
    samples["exact_match"] = safe_ratio(counts @ (y_true == y_pred).all(axis=1).astype(np.int64), counts.sum(axis=1))
    return samples


def percentile_ci(values: np.ndarray, level: float = LEVEL) -> list[float]:
    """The percentile interval ``[low, high]`` holding ``level`` of ``values``."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(values, dtype=float), [tail, 100 - tail])
    return [float(low), float(high)]


def bootstrap_cis(y_true: np.ndarray, y_pred: np.ndarray, n_resamples: int = 1000, seed: int = 13,
                  level: float = LEVEL) -> dict[str, list[float]]:
    """``{metric name: [low, high]}`` for every metric of :func:`metric_samples`."""
    counts = resample_counts(len(y_true), n_resamples, seed)
    return {name: percentile_ci(values, level) for name, values in metric_samples(y_true, y_pred, counts).items()}


def attach_cis(metrics: dict, cis: dict[str, list[float]]) -> dict:
    """Add ``<metric>_ci`` next to each metric of a ``multilabel_metrics`` dict (in place, returned):
    ``per_label[label]["f1_ci"]``, ``macro_f1_ci``, ``any_violation["f1_ci"]``..."""
    for name, interval in cis.items():
        group, _, metric = name.rpartition(".")
        target = metrics if not group else (metrics["any_violation"] if group == "any_violation"
                                            else metrics["per_label"][group])
        target[f"{metric}_ci"] = interval
    return metrics


def sign_flip_p_value(differences: np.ndarray, observed: float) -> float:
    """Two-sided p-value: twice the share of resampled differences whose sign is not the observed
    difference's (zero counts as flipped), capped at 1; 1 when the observed difference is 0."""
    if observed == 0:
        return 1.0
    flipped = float(np.mean(np.sign(differences) != np.sign(observed)))
    return min(1.0, 2 * flipped)


def paired_bootstrap(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_resamples: int = 1000,
                     seed: int = 13, level: float = LEVEL, metrics=PAIRED_METRICS) -> dict[str, dict]:
    """Difference A - B of each metric, with both models scored on the same resampled rows:
    ``{metric: {"difference", "mean_difference", "ci", "p_value"}}`` (``difference`` on all rows)."""
    n = len(y_true)
    counts = resample_counts(n, n_resamples, seed)
    everything = np.ones((1, n), dtype=np.int64)
    a, b = metric_samples(y_true, pred_a, counts), metric_samples(y_true, pred_b, counts)
    observed_a, observed_b = metric_samples(y_true, pred_a, everything), metric_samples(y_true, pred_b, everything)
    result = {}
    for name in metrics:
        differences = a[name] - b[name]
        observed = float(observed_a[name][0] - observed_b[name][0])
        result[name] = {"difference": observed, "mean_difference": float(differences.mean()),
                        "ci": percentile_ci(differences, level), "p_value": sign_flip_p_value(differences, observed)}
    return result


def bootstrap_rate(flags: np.ndarray, n_resamples: int = 1000, seed: int = 13, level: float = LEVEL) -> list[float]:
    """Percentile interval of the share of true ``flags`` (1-d booleans) over resampled rows."""
    flags = np.asarray(flags, dtype=bool)
    if flags.size == 0:
        return [float("nan"), float("nan")]
    counts = resample_counts(len(flags), n_resamples, seed)
    return percentile_ci(counts @ flags.astype(np.int64) / len(flags), level)


def paired_rate_difference(flags_a: np.ndarray, flags_b: np.ndarray, n_resamples: int = 1000, seed: int = 13,
                           level: float = LEVEL) -> dict:
    """Difference A - B of the share of flagged rows (1-d booleans of two models on the same rows), with
    both resampled together: ``{"rate_a", "rate_b", "difference", "ci", "p_value"}``."""
    flags_a, flags_b = np.asarray(flags_a, dtype=bool), np.asarray(flags_b, dtype=bool)
    if flags_a.size == 0:
        raise ValueError("no rows to compare flag rates on")
    counts = resample_counts(len(flags_a), n_resamples, seed)
    differences = counts @ (flags_a.astype(np.int64) - flags_b.astype(np.int64)) / len(flags_a)
    observed = float(flags_a.mean() - flags_b.mean())
    return {"rate_a": float(flags_a.mean()), "rate_b": float(flags_b.mean()), "difference": observed,
            "ci": percentile_ci(differences, level), "p_value": sign_flip_p_value(differences, observed)}
