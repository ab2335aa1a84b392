"""Prediction-powered inference from a probability sample of the corpus labelled by people.

The corpus has the model's prediction ``f`` on every row; an audit sample of it has the human label
``y`` too. The target is the corpus's own share ``mean(y)``. The prediction-powered estimate
(Angelopoulos et al., Science 2023) with power tuning (PPI++, Angelopoulos, Duchi and Zrnic 2023) is

    theta = ybar_s + lam * (Fbar - fbar_s)

with ``Fbar`` the mean prediction over the whole corpus (known exactly), ``ybar_s``/``fbar_s`` the
design-weighted means of the labels and predictions over the audit. Whatever the model's errors on
this corpus, it is unbiased for a fixed ``lam`` (the audit corrects the predictions); good
predictions only make it more precise. ``lam = 0`` is the classical audit-only estimate, ``lam = 1``
plain PPI; power tuning picks the ``lam`` of smallest variance.

Because the audit is drawn *from* the corpus, this is the survey-sampling difference estimator and
its variance is the design's: stratified simple random sampling without replacement of units
(utterances or whole calls), ``V = sum_h N_h^2 (1 - n_h/N_h) s_h^2 / n_h`` of the linearised values
(Hajek ratio means, so group estimates and call clusters are covered). ``Fbar`` adds no variance:
the target is this corpus's share, not that of a wider population it was drawn from (for a corpus
much larger than the audit the two intervals agree; tests compare with ``ppi_py``).

**Power tuning with few labelled positives.** PPI++ estimates ``lam = Cov(y, f) / Var(f)`` from the
audit. With a rare label and a small audit (2 % prevalence, 100 rows: two positives) that estimate is
noise, and it is correlated with the audit's own share of positives: an audit with no positive gets
``lam = 0`` and the interval ``[0, 0]``. In the simulation (docs/prevalence.md) plain PPI++ covered
82-93 % at 100-200 rows. Here ``lam`` is shrunk toward plain PPI (``lam = 1``) by ``SHRINK`` pseudo
rows: ``lam = (m * lam_hat + SHRINK) / (m + SHRINK)``, ``m`` the audit's count of the rarer class
(positives, for a rare label), which restored 93-97 % coverage; with many positives it is PPI++.

The PPI interval is ``theta +- t * sqrt(V)`` with Student's t on (sampled units - strata) degrees of
freedom, the design-based convention (it matters for a sample of a few dozen calls). The classical
interval is Wilson's score interval with the design's effective sample size
``p (1 - p) / V`` (Kish's for a sample without positives), which, unlike the Wald interval, is not
``[0, 0]`` when the audit holds no positive.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as t_dist

from ..classifier import PROB_COLUMNS
from .estimators import LABELS

log = logging.getLogger(__name__)

LEVEL = 0.95
SHRINK = 10.0  # pseudo rows pulling the power-tuning lam toward 1 (plain PPI); see the module docstring
TUNING = ("shrunk", "ppi++", "plain")  # shrunk toward 1 (default), the paper's PPI++, lam = 1


@dataclass(frozen=True)
class AuditSample:
    """The audited units of one domain (group) for one label, and the design.

    Per sampled unit (an utterance, or a whole call for a call sample): ``y`` and ``f`` are the sums
    of the labels and predictions of its measured items in the domain, ``m`` how many there are (0
    for a unit outside the domain), ``stratum`` a code 0..H-1 and ``weight`` 1 / inclusion
    probability. ``stratum_sizes[h]`` and ``stratum_samples[h]`` are the units of stratum ``h`` in the
    corpus and in the audit (all of the audit, not only the domain's)."""
    y: np.ndarray
    f: np.ndarray
    m: np.ndarray
    stratum: np.ndarray
    weight: np.ndarray
    stratum_sizes: np.ndarray
    stratum_samples: np.ndarray

    def restrict(self, keep: np.ndarray) -> AuditSample:
        """The same audit with units outside ``keep`` moved out of the domain (m = 0)."""
        keep = np.asarray(keep, dtype=bool)
        return AuditSample(np.where(keep, self.y, 0.0), np.where(keep, self.f, 0.0), np.where(keep, self.m, 0),
                           self.stratum, self.weight, self.stratum_sizes, self.stratum_samples)


@dataclass(frozen=True)
class AuditEstimate:
    """PPI and classical estimates of one share, with what they rest on."""
    estimate: float  # PPI
    ci_low: float
    ci_high: float
    classical: float  # the audit alone
    classical_low: float
    classical_high: float
    model_mean: float  # the mean prediction over the corpus's domain
    lam: float
    n_audit: int  # measured items of the domain in the audit
    positives: int
    se: float
    classical_se: float
    clipped: bool

    @property
    def gain(self) -> float:
        """Classical variance over PPI variance: the audit counts this many times its size."""
        if not self.se > 0 or not self.classical_se > 0:
            return float("nan")
        return (self.classical_se / self.se) ** 2


def _design_cov(sample: AuditSample, a: np.ndarray, b: np.ndarray) -> float:
    """Design covariance of the estimated totals ``sum w a`` and ``sum w b`` (stratified SRSWOR)."""
    wa, wb = sample.weight * a, sample.weight * b
    total = 0.0
    for h, (size, taken) in enumerate(zip(sample.stratum_sizes, sample.stratum_samples, strict=True)):
        rows = sample.stratum == h
        if taken < 2 or not rows.any():
            continue
        da, db = wa[rows] - wa[rows].mean(), wb[rows] - wb[rows].mean()
        total += (1 - taken / size) * taken / (taken - 1) * float(da @ db)
    return total


def kish_factor(sample: AuditSample) -> float:
    """Variance of the domain's weighted mean of independent unit-variance items: ``sum w^2 (1 - pi) m
    / (sum w m)^2``; ``(1 - n/N) / n`` for a simple random sample."""
    w, m = sample.weight, sample.m
    return float((w * w * (1 - 1 / w) * m).sum() / (w * m).sum() ** 2)


def wilson(p: float, n_eff: float, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval for a share ``p`` observed on ``n_eff`` (effective) items."""
    if not n_eff > 0 or np.isnan(p):
        return float("nan"), float("nan")
    z2 = norm.ppf(0.5 + level / 2) ** 2
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = np.sqrt(z2 * p * (1 - p) / n_eff + z2 * z2 / (4 * n_eff * n_eff)) / (1 + z2 / n_eff)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def power_tuning(v_yf: float, v_ff: float, minority: int, tuning: str = "shrunk") -> float:
    """The ``lam`` of the PPI estimate: ``Cov/Var`` clipped to [0, 1] (``ppi++``), that shrunk toward
    1 by ``SHRINK`` pseudo rows against ``minority`` labelled rows of the rarer class (``shrunk``), or 1."""
    if tuning not in TUNING:
        raise ValueError(f"tuning must be one of {', '.join(TUNING)}, not {tuning!r}")
    if tuning == "plain":
        return 1.0
    lam = float(np.clip(v_yf / v_ff, 0.0, 1.0)) if v_ff > 0 else 0.0
    if tuning == "shrunk":
        lam = (minority * lam + SHRINK) / (minority + SHRINK)
    return lam


def ppi_mean(sample: AuditSample, corpus_mean: float, *, tuning: str = "shrunk", positives: int | None = None,
             level: float = LEVEL) -> AuditEstimate:
    """PPI and classical estimates of the domain's share of ``y`` (see the module docstring).

    ``corpus_mean`` is the mean prediction over the corpus's items in the domain. ``positives``: the
    audit's items with the label (default ``round(sum(y))``), for the shrinkage of ``lam``."""
    n_items = int(sample.m.sum())
    positives = int(round(sample.y.sum())) if positives is None else positives
    nan = float("nan")
    if n_items == 0:
        return AuditEstimate(nan, nan, nan, nan, nan, nan, float(corpus_mean), nan, 0, 0, nan, nan, False)
    w = sample.weight
    size = float(w @ sample.m)
    ybar, fbar = float(w @ sample.y) / size, float(w @ sample.f) / size
    zy, zf = (sample.y - ybar * sample.m) / size, (sample.f - fbar * sample.m) / size
    v_yy, v_yf, v_ff = _design_cov(sample, zy, zy), _design_cov(sample, zy, zf), _design_cov(sample, zf, zf)
    lam = power_tuning(v_yf, v_ff, min(positives, n_items - positives), tuning)
    raw = ybar + lam * (corpus_mean - fbar)
    variance = max(v_yy - 2 * lam * v_yf + lam * lam * v_ff, 0.0)
    df = max(len(sample.weight) - len(sample.stratum_sizes), 1)  # sampled units less strata
    half = t_dist.ppf(0.5 + level / 2, df) * np.sqrt(variance)
    estimate = float(np.clip(raw, 0.0, 1.0))
    if v_yy > 0 and 0 < ybar < 1:
        n_eff = ybar * (1 - ybar) / v_yy
    else:  # no spread to measure the design effect on: Kish's (infinite for a census of the domain)
        factor = kish_factor(sample)
        n_eff = 1 / factor if factor > 0 else float("inf")
    low, high = wilson(min(max(ybar, 0.0), 1.0), n_eff, level)
    return AuditEstimate(estimate, max(0.0, float(raw - half)), min(1.0, float(raw + half)), ybar, low, high,
                         float(corpus_mean), lam, n_items, positives, float(np.sqrt(variance)),
                         float(np.sqrt(max(v_yy, 0.0))), bool(raw < 0 or raw > 1))


def plan_size(unit_variance: float, halfwidth: float, population: int, level: float = LEVEL) -> int:
    """Audit units for a ``halfwidth`` interval when the estimate's variance is ``unit_variance / n``
    (before the finite-population correction): ``n0 = z^2 v / h^2``, then ``n0 / (1 + n0 / N)``."""
    if halfwidth <= 0:
        raise ValueError("the half-width must be positive")
    n0 = norm.ppf(0.5 + level / 2) ** 2 * unit_variance / halfwidth ** 2
    return int(min(population, np.ceil(n0 / (1 + n0 / population)))) if population else int(np.ceil(n0))


# --- a corpus and its audit, by group ---------------------------------------------------------

PPI, CLASSICAL = "ppi", "classical"
SMALL_AUDIT = 30  # audited items below which a group's audit estimates are flagged small_audit
FEW_POSITIVES = 5  # audited positives below which the normal approximation rests on very little
DETAIL_COLUMNS = ["group", "level", "label", "estimate", "ci_low", "ci_high", "classical", "classical_low",
                  "classical_high", "model_mean", "lam", "n_audit", "positives", "se", "classical_se", "gain",
                  "effective_n", "n"]


def _per_unit(units: np.ndarray, values: np.ndarray, n_units: int) -> np.ndarray:
    return np.bincount(units, weights=values, minlength=n_units)


def _rows(name: str, level: str, n: int, estimates: dict, min_size: int) -> tuple[list[dict], list[dict]]:
    """Tidy rows (methods ppi and classical) and detail rows of one group and level."""
    tidy, details = [], []
    for label, est in estimates.items():
        flags = [f for f, on in (("too_small", n < min_size), ("no_audit", est.n_audit == 0),
                                 ("small_audit", 0 < est.n_audit < SMALL_AUDIT),
                                 ("few_positives", est.n_audit > 0 and est.positives < FEW_POSITIVES)) if on]
        flag = ";".join(flags)
        tidy.append(dict(group=name, label=label, method=PPI, estimate=est.estimate, ci_low=est.ci_low,
                         ci_high=est.ci_high, n=n, clipped=est.clipped, flag=flag))
        tidy.append(dict(group=name, label=label, method=CLASSICAL, estimate=est.classical, ci_low=est.classical_low,
                         ci_high=est.classical_high, n=n, clipped=False, flag=flag))
        detail = {k: v for k, v in asdict(est).items() if k not in ("clipped",)}
        details.append(dict(group=name, level=level, label=label, **detail, gain=est.gain,
                            effective_n=est.n_audit * est.gain, n=n))
    return tidy, details


def measure_audit(frame: pd.DataFrame, ok: np.ndarray, audit, by: list[str], call_col: str | None,
                  tuning: str = "shrunk", min_size: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """PPI and classical estimates for the whole corpus and each ``by`` group: (utterance rows, call
    rows, details), the first two in the tidy columns of ``measure.COLUMNS``.

    ``audit`` is a :class:`audit.MatchedAudit`. The prediction of a label is its probability; of
    ``any``, the highest probability; of a call, the highest over its utterances. The share of calls
    needs a sample of calls."""
    from .measure import COLUMNS, groups

    probs = frame[PROB_COLUMNS].to_numpy(dtype=float)
    predictions = np.column_stack([probs, np.nanmax(probs, axis=1, initial=-np.inf)])
    truth = np.column_stack([audit.truth, audit.truth.any(axis=1)])
    n_units = audit.n_units
    design = dict(stratum=audit.unit_stratum, weight=audit.unit_weight,
                  stratum_sizes=audit.strata["size"].to_numpy(), stratum_samples=audit.strata["sample"].to_numpy())
    calls = frame[call_col].astype(str).to_numpy() if audit.unit == "call" else None
    ok = np.asarray(ok, dtype=bool)
    tidy = {"utterance": [], "call": []}
    details = []
    for name, index in groups(frame, by):
        mask = np.zeros(len(frame), dtype=bool)
        mask[frame.index.get_indexer(index)] = True
        mask &= ok
        units = audit.row_unit[mask]
        sampled = units >= 0
        levels = {"utterance": (predictions[mask], truth[mask], units, sampled)}
        if calls is not None:
            codes = np.unique(calls[mask], return_inverse=True)[1].ravel()
            n_calls = int(codes.max()) + 1 if len(codes) else 0
            call_f = np.full((n_calls, len(LABELS)), -np.inf)
            np.maximum.at(call_f, codes, predictions[mask])
            call_y = np.zeros((n_calls, len(LABELS)))
            np.maximum.at(call_y, codes, truth[mask])
            call_unit = np.full(n_calls, -1)
            call_unit[codes] = units
            levels["call"] = (call_f, call_y, call_unit, call_unit >= 0)
        for level, (f, y, unit_of, in_audit) in levels.items():
            estimates = {}
            for k, label in enumerate(LABELS):
                sample = AuditSample(_per_unit(unit_of[in_audit], y[in_audit, k], n_units),
                                     _per_unit(unit_of[in_audit], f[in_audit, k], n_units),
                                     np.bincount(unit_of[in_audit], minlength=n_units), **design)
                corpus_mean = float(f[:, k].mean()) if len(f) else float("nan")
                estimates[label] = ppi_mean(sample, corpus_mean, tuning=tuning)
            rows, detail = _rows(name, level, len(f), estimates, min_size)
            tidy[level] += rows
            details += detail
    return (pd.DataFrame(tidy["utterance"], columns=COLUMNS), pd.DataFrame(tidy["call"], columns=COLUMNS),
            pd.DataFrame(details, columns=DETAIL_COLUMNS))
