"""Error-corrected prevalence estimators, vectorised over bootstrap replicates.

A classifier's count of flagged utterances is not the share of violations: it adds false alarms
and misses violations. With ``tpr``/``fpr`` the true/false positive rates measured on held-out
labelled rows, the flagged share is ``cc = p * tpr + (1 - p) * fpr``; solving for ``p`` corrects it.
Per label (and for ``any``: highest probability, any decision):

- ``cc``: classify and count, the share of rows whose decision is positive (the naive count);
- ``acc``: adjusted count, ``(cc - fpr) / (tpr - fpr)``;
- ``pcc``: probabilistic count, the mean probability;
- ``pacc``: ``(pcc - fpr_p) / (tpr_p - fpr_p)`` with ``tpr_p``/``fpr_p`` the mean probability on
  held-out positives/negatives;
- ``emq``: Saerens, Latinne and Decaestecker's EM (2002). The probabilities are first recalibrated
  on the held-out rows (Platt scaling: EM needs calibrated probabilities, and the baseline's
  class-weighted ones are not), the training prior is the held-out share of positives, and the EM
  fixed point is found as the root of the likelihood's derivative (safeguarded Newton; the same
  point EM converges to, without EM's slow crawl near 0).

The single-label ``fpr`` mixes compliant rows with rows of other violations, which set a label's
flag off far more often (on the test split, the baseline flags threat on 3 % of compliant rows and
on 14 % of rows with another violation). When violations are rarer in the corpus than in the
held-out rows, ``acc``/``pacc`` then over-correct. ``acc_joint``/``pacc_joint`` fit each label's flag
(probability) on all four true labels (:class:`Joint`) and solve the 4 x 4 system for the four
prevalences; for ``any``, whose negatives are all compliant, they equal ``acc``/``pacc``.

Every function takes replicate weights: ``weights[b, i]`` is how often row ``i`` is drawn in
replicate ``b`` (a single row of ones gives the point estimate). Estimates outside [0, 1] are
clipped and reported as clipped; ``acc``/``pacc`` are NaN where ``tpr <= fpr``.

Why not QuaPy (0.2.3, evaluated for this module): it installs small (3.3 MB with ``abstention``,
``ucimlrepo``, ``xlrd``), but ``import quapy`` took 6-8 s here because it imports torch and
``matplotlib.pyplot``; its ACC/PACC/EMQ only accept precomputed probabilities through a fitted
scikit-learn estimator stand-in (``fit_classifier=False`` asserts the estimator is fitted); their
clip-and-renormalise hides whether clipping happened; and one call estimates one replicate (3.3 ms
ACC, 5.4 ms PACC, 9.1 ms EMQ on 2,000 rows), so 1,000 replicates x 5 labels x 3 methods cost about
a minute per group, against well under a second here with all replicates in one array operation.
It has no multi-label correction like ``acc_joint``. The formulas are a few lines each of numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit  # overflow-safe sigmoid

from ..labels import VIOLATIONS

LABELS: tuple[str, ...] = (*VIOLATIONS, "any")
METHODS: tuple[str, ...] = ("cc", "acc", "pcc", "pacc", "emq", "acc_joint", "pacc_joint")
HEADLINE, CALL_HEADLINE = "acc_joint", "emq"  # chosen from the simulation, docs/prevalence.md
_EPS = 1e-6


def with_any(scores: np.ndarray, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) probabilities and decisions plus the ``any`` column: highest probability, any decision."""
    scores, decisions = np.asarray(scores, dtype=float), np.asarray(decisions, dtype=bool)
    return (np.column_stack([scores, scores.max(axis=1, initial=0.0)]),
            np.column_stack([decisions, decisions.any(axis=1)]))


def _wmean(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Weighted mean per replicate; ``values`` (n,) or (B, n). NaN for a replicate without weight."""
    total = weights.sum(axis=1)
    sums = weights @ values if values.ndim == 1 else (weights * values).sum(axis=1)
    return np.divide(sums, total, out=np.full(len(weights), np.nan), where=total > 0)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Rates:
    """What held-out labelled rows say about one label: one value per replicate, each (B,)."""
    tpr: np.ndarray
    fpr: np.ndarray
    ptpr: np.ndarray  # mean probability of held-out positives
    pfpr: np.ndarray  # mean probability of held-out negatives
    prior: np.ndarray  # share of held-out positives
    slope: np.ndarray  # Platt recalibration: sigmoid(slope * logit(p) + intercept)
    intercept: np.ndarray

    def take(self, rows) -> Rates:
        """The replicates ``rows`` (a slice or index array)."""
        return Rates(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))


def heldout_rates(weights: np.ndarray, truth, score, decision) -> Rates:
    """Error rates and recalibration of one label from held-out rows, for each replicate of ``weights``."""
    truth = np.asarray(truth, dtype=bool)
    score, decision = np.asarray(score, dtype=float), np.asarray(decision, dtype=bool)
    pos, neg = weights * truth, weights * ~truth
    slope, intercept = platt(weights, _logit(score), truth)
    return Rates(tpr=_wmean(pos, decision.astype(float)), fpr=_wmean(neg, decision.astype(float)),
                 ptpr=_wmean(pos, score), pfpr=_wmean(neg, score), prior=_wmean(weights, truth.astype(float)),
                 slope=slope, intercept=intercept)


def platt(weights: np.ndarray, x: np.ndarray, truth: np.ndarray, iterations: int = 50):
    """Weighted logistic fit of ``truth`` on ``x`` per replicate, with Platt's smoothed targets
    ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)`` (finite even when the classes separate)."""
    n_pos, n_neg = weights @ truth.astype(float), weights @ (~truth).astype(float)
    target = np.where(truth, ((n_pos + 1) / (n_pos + 2))[:, None], (1 / (n_neg + 2))[:, None])
    slope, intercept = np.ones(len(weights)), np.zeros(len(weights))
    for _ in range(iterations):
        p = expit(slope[:, None] * x + intercept[:, None])
        r, h = weights * (p - target), weights * p * (1 - p) + 1e-12
        g1, g0 = r @ x, r.sum(axis=1)
        h11, h10, h00 = h @ (x * x), h @ x, h.sum(axis=1)
        det = h11 * h00 - h10 * h10
        step1, step0 = (h00 * g1 - h10 * g0) / det, (h11 * g0 - h10 * g1) / det
        scale = np.minimum(1.0, 5.0 / np.maximum(np.abs(step1), np.abs(step0)).clip(min=1e-12))
        slope, intercept = slope - scale * step1, intercept - scale * step0
        if np.nanmax(np.abs(scale * step1) + np.abs(scale * step0), initial=0.0) < 1e-9:
            break
    return slope, intercept


def calibrate(rates: Rates, score) -> np.ndarray:
    """(B, n): the probabilities ``score`` recalibrated with each replicate's Platt fit."""
    z = rates.slope[:, None] * _logit(np.asarray(score, dtype=float)) + rates.intercept[:, None]
    return expit(z)


def clip(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` clipped to [0, 1] and whether it was (NaN stays NaN, not clipped)."""
    clipped = (raw < 0) | (raw > 1)
    return np.where(np.isnan(raw), np.nan, np.clip(raw, 0, 1)), clipped


def adjust(observed: np.ndarray, tpr: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    """``(observed - fpr) / (tpr - fpr)``, unclipped; NaN where ``tpr <= fpr``."""
    spread = tpr - fpr
    return np.divide(observed - fpr, spread, out=np.full(np.shape(observed), np.nan), where=spread > 0)


def emq(weights: np.ndarray, calibrated: np.ndarray, prior: np.ndarray, iterations: int = 50):
    """Prevalence maximising the prior-shift likelihood ``sum_i w_i log(q a_i + (1 - q) b_i)``,
    ``a = c / prior``, ``b = (1 - c) / (1 - prior)``: the fixed point of SLD's EM. Returns (q, clipped):
    clipped where the maximum lies on 0 or 1."""
    prior = np.clip(prior, _EPS, 1 - _EPS)[:, None]
    c = np.clip(calibrated, _EPS, 1 - _EPS)
    b = (1 - c) / (1 - prior)
    d = c / prior - b
    at0, at1 = _wmean(weights, d / b), _wmean(weights, d / (b + d))  # likelihood slope at q = 0 and 1
    inside = (at0 > 0) & (at1 < 0)
    q = np.where(inside, np.clip(_wmean(weights, c), 0.01, 0.99), np.where(at1 >= 0, 1.0, 0.0))
    lo, hi, total = np.zeros(len(q)), np.ones(len(q)), weights.sum(axis=1).clip(min=_EPS)
    active = inside.copy()
    for _ in range(iterations):
        if not active.any():
            break
        ratio = d / (b + q[:, None] * d)
        g = (weights * ratio).sum(axis=1) / total
        dg = -(weights * ratio * ratio).sum(axis=1) / total
        lo, hi = np.where(active & (g > 0), q, lo), np.where(active & (g <= 0), q, hi)
        newton = q - g / np.minimum(dg, -1e-12)
        step = np.where((newton >= lo) & (newton <= hi), newton, (lo + hi) / 2)
        moved = np.abs(step - q) >= 1e-10
        q = np.where(active, step, q)
        active &= moved
    return np.where(np.isnan(at0), np.nan, q), ~inside & ~np.isnan(at0)


@dataclass(frozen=True)
class Joint:
    """Cross-label error model of the four violations, per replicate: the flag (or probability) of
    label j on a row is ``intercept[j] + sum_k effect[j, k] * y_k``, fitted by weighted least squares
    on held-out rows. ``effect[j, k]``, k != j, is how often label k alone sets off label j's flag."""
    intercept: np.ndarray  # (B, 4)
    effect: np.ndarray  # (B, 4, 4)

    def take(self, rows) -> Joint:
        return Joint(self.intercept[rows], self.effect[rows])


def joint_rates(weights: np.ndarray, truth: np.ndarray, values: np.ndarray) -> Joint:
    """:class:`Joint` from held-out (m, 4) ``truth`` and (m, 4) decisions or probabilities."""
    design = np.column_stack([np.ones(len(truth)), np.asarray(truth, dtype=float)])  # (m, 5)
    values = np.asarray(values, dtype=float)
    k, labels = design.shape[1], values.shape[1]
    gram = (weights @ (design[:, :, None] * design[:, None, :]).reshape(len(design), -1)).reshape(-1, k, k)
    moments = (weights @ (design[:, :, None] * values[:, None, :]).reshape(len(design), -1)).reshape(-1, k, labels)
    beta = np.linalg.solve(gram + 1e-9 * np.eye(k), moments)  # (B, 5, 4)
    return Joint(beta[:, 0, :], np.swapaxes(beta[:, 1:, :], 1, 2))


def joint_adjust(observed: np.ndarray, joint: Joint) -> np.ndarray:
    """(B, 4) unclipped prevalences solving ``observed = intercept + effect @ p``; NaN where the
    effect matrix is near singular (a label without held-out positives)."""
    singular = np.abs(np.linalg.det(joint.effect)) < 1e-6
    effect = np.where(singular[:, None, None], np.eye(joint.effect.shape[1]), joint.effect)
    solved = np.linalg.solve(effect, (observed - joint.intercept)[:, :, None])[:, :, 0]
    return np.where(singular[:, None], np.nan, solved)


def sld_posteriors(calibrated: np.ndarray, prior: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(B, n) calibrated probabilities moved from the held-out prior to the estimated prevalence ``q``."""
    prior = np.clip(prior, _EPS, 1 - _EPS)[:, None]
    up = q[:, None] / prior * calibrated
    return up / (up + (1 - q[:, None]) / (1 - prior) * (1 - calibrated))


def estimate(weights: np.ndarray, score, decision, rates: Rates,
             calibrated: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every method for one label: ``{method: (estimates (B,), clipped (B,))}``; ``calibrated`` is
    ``calibrate(rates, score)`` when the caller has it already."""
    score, decision = np.asarray(score, dtype=float), np.asarray(decision, dtype=float)
    calibrated = calibrate(rates, score) if calibrated is None else calibrated
    cc, pcc = _wmean(weights, decision), _wmean(weights, score)
    return {"cc": (cc, np.zeros(len(cc), dtype=bool)), "acc": clip(adjust(cc, rates.tpr, rates.fpr)),
            "pcc": (pcc, np.zeros(len(pcc), dtype=bool)), "pacc": clip(adjust(pcc, rates.ptpr, rates.pfpr)),
            "emq": emq(weights, calibrated, rates.prior)}


def call_share(call_weights: np.ndarray, utterance_probs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Share of calls with at least one violation, ``mean_calls(1 - prod_i (1 - p_i))`` per replicate.

    ``utterance_probs`` (B, n) or (n,) is ordered by call, ``starts`` the index of each call's first
    utterance; ``call_weights`` (B, calls). Assumes errors independent within a call."""
    probs = np.atleast_2d(np.clip(utterance_probs, 0.0, 1 - 1e-12))
    share = 1 - np.exp(np.add.reduceat(np.log1p(-probs), starts, axis=1))
    return _wmean(call_weights, share[0] if len(share) == 1 else share)
