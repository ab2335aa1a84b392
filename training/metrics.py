"""Point metrics for multi-label predictions (scikit-learn underneath).

Arrays are (n, 4) in ``VIOLATIONS`` order: ``y_true`` and ``y_pred`` 0/1, ``probs`` in [0, 1].
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix,
                             precision_recall_curve, precision_recall_fscore_support, roc_auc_score)

from inference.labels import VIOLATIONS


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
