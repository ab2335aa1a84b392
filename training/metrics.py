"""Point metrics for multi-label predictions (scikit-learn underneath).

Also calibration (reliability bins, expected calibration error) and the true-vs-predicted label
co-occurrence table. Arrays are (n, 4) in ``VIOLATIONS`` order: ``y_true`` and ``y_pred`` 0/1,
``probs`` in [0, 1].
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)

from collectguard.inference.labels import COMPLIANT, VIOLATIONS

CALIBRATION_BINS = 10


def binary_metrics(truth: np.ndarray, pred: np.ndarray, score: np.ndarray | None = None) -> dict:
    """Precision, recall, F1, support and the confusion counts with TPR and FPR for one decision."""
    tn, fp, fn, tp = confusion_matrix(truth, pred, labels=[0, 1]).ravel().tolist()
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, pred, average="binary", zero_division=0)
    result = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
              "support": int(tp + fn), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
              "tpr": tp / (tp + fn) if tp + fn else float("nan"),
              "fpr": fp / (fp + tn) if fp + tn else float("nan")}
    if score is not None and 0 < truth.sum() < len(truth):
        result["roc_auc"] = float(roc_auc_score(truth, score))
        result["pr_auc"] = float(average_precision_score(truth, score))
    return result


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray | None = None) -> dict:
    """Per-label metrics, macro and micro F1, the any-violation decision and exact match."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    per_label = {
        label: binary_metrics(y_true[:, k], y_pred[:, k], None if probs is None else probs[:, k])
        for k, label in enumerate(VIOLATIONS)
    }
    _, _, micro_f1, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    any_score = None if probs is None else probs.max(axis=1)
    return {
        "n": int(len(y_true)),
        "per_label": per_label,
        "macro_f1": float(np.mean([per_label[label]["f1"] for label in VIOLATIONS])),
        "micro_f1": float(micro_f1),
        "any_violation": binary_metrics(y_true.any(axis=1).astype(int), y_pred.any(axis=1).astype(int), any_score),
        "exact_match": float(accuracy_score(y_true, y_pred)),
    }


def tune_threshold(truth: np.ndarray, score: np.ndarray, default: float = 0.5) -> float:
    """The threshold with the highest F1 on (truth, score); ``default`` when there is no positive.

    Between two neighbouring scores any threshold gives the same F1, so the midpoint is returned,
    which generalises better than the exact score of one example.
    """
    if truth.sum() == 0:
        return default
    precision, recall, thresholds = precision_recall_curve(truth, score)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    best = int(np.argmax(f1))
    lower = np.max(score[score < thresholds[best]], initial=0.0)
    return float((lower + thresholds[best]) / 2)


def tune_thresholds(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    return {label: tune_threshold(np.asarray(y_true)[:, k], probs[:, k]) for k, label in enumerate(VIOLATIONS)}


def with_compliant(matrix) -> np.ndarray:
    """(n, 4) booleans -> (n, 5): the violations and a ``compliant`` column (no violation)."""
    matrix = np.asarray(matrix, dtype=bool)
    return np.column_stack([matrix, ~matrix.any(axis=1)])


def cooccurrence(truth, decisions) -> pd.DataFrame:
    """5x5 counts over rows of (true label, predicted label) pairs, each of a row's true labels (or
    compliant) with each of its predicted labels (or compliant). Index: true; columns: predicted."""
    counts = with_compliant(truth).T.astype(int) @ with_compliant(decisions).astype(int)
    return pd.DataFrame(counts, index=[*VIOLATIONS, COMPLIANT], columns=[*VIOLATIONS, COMPLIANT])


def reliability_bins(truth, prob, n_bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width probability bins (the last one closed): count, mean probability, share positive."""
    truth, prob = np.asarray(truth, dtype=float), np.asarray(prob, dtype=float)
    index = np.clip(np.floor(prob * n_bins).astype(int), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        inside = index == b
        bins.append({"low": b / n_bins, "high": (b + 1) / n_bins, "count": int(inside.sum()),
                     "mean_prob": float(prob[inside].mean()) if inside.any() else None,
                     "positive_rate": float(truth[inside].mean()) if inside.any() else None})
    return bins


def expected_calibration_error(truth, prob, n_bins: int = CALIBRATION_BINS) -> float:
    """Sum over bins of (rows in bin / rows) * |share positive - mean probability|."""
    bins, n = reliability_bins(truth, prob, n_bins), len(prob)
    return float(sum(b["count"] / n * abs(b["positive_rate"] - b["mean_prob"]) for b in bins if b["count"]))
