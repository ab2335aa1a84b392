"""Shift scenarios for ``collectguard prevalence-sim --shift``: error rates measured on one slice of
the labelled rows, corpus drawn from another, and an audit sample of the corpus.

Each repetition of a scenario:

1. takes the held-out rows (the model's error rates, for ``acc``/``acc_joint``) as a random half of
   slice A (e.g. clean-style rows) and the pool as slice B (e.g. chat-style rows): the model's
   error rates on B differ from those measured on A, which no model-based interval sees. ``random``
   splits all rows in two halves at random instead (no shift, the control);
2. weights the pool (raking over the four labels) to a mostly compliant corpus, ``TARGETS`` (threat
   4 %, insult 2 %, deception 3 %, privacy 2 %; any violation about 10 %), and draws a corpus of
   ``CORPUS_SIZE`` utterances from it with replacement. A slice has a few hundred distinct texts, so
   texts repeat; the audit estimates are design-based (their only randomness is the audit draw),
   which repeated texts do not disturb, while the model-based intervals treat repeats as independent;
3. measures ``acc`` and ``acc_joint`` with the shipped code (``measure_group``, utterances resampled)
   and, for each audit size and design, draws an audit as ``audit-sample`` does (the same score
   bins, Neyman guess and allocation: ``score_bins``, ``neyman_priority``, ``allocate``; arrays
   instead of ``draw_audit``'s tables, for speed), labels it with the truth and estimates with
   ``ppi_mean``: ``ppi`` (the shipped, shrunk power tuning), ``ppi++`` (the published tuning, for
   comparison) and ``classical`` (the audit alone). tests/test_audit.py checks ``draw_audit`` and
   ``measure_audit`` themselves.

The truth is the corpus's own share of each label, the quantity all of them estimate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reporting import markdown_table
from .audit import allocate, neyman_priority, score_bins
from .estimators import LABELS
from .measure import Scored, heldout_rates_all, measure_group
from .ppi import AuditSample, ppi_mean
from .sim import rake, run_repetitions

# scenario: (held-out slice, corpus slice), each (field, value) or (field, "!value"); None: random halves
SHIFT_SCENARIOS = {
    "random": None,
    "clean->chat": (("style", "clean"), ("style", "chat")),
    "clean->asr": (("style", "clean"), ("style", "asr")),
    "simplified->traditional": (("script", "simplified"), ("script", "traditional")),
    "other->chat": (("style", "!chat"), ("style", "chat")),
}
DEFAULT_SHIFT = ("random", "clean->chat", "clean->asr", "simplified->traditional")
TARGETS = (0.04, 0.02, 0.03, 0.02)
CORPUS_SIZE = 10_000
AUDIT_SIZES = (100, 200, 400, 800)
DESIGNS = ("simple", "stratified")
MODEL_METHODS = ("acc", "acc_joint")
BINS = 4  # audit-sample's default


def _slice(meta: dict, spec) -> np.ndarray:
    field, value = spec
    column = np.asarray(meta[field])
    return column != value[1:] if value.startswith("!") else column == value


def _strata(design: str, score: np.ndarray, is_flagged: np.ndarray, bins: int = BINS):
    """(stratum code of each corpus row, stratum sizes, allocation priorities), as ``audit-sample``."""
    if design == "simple":
        return np.zeros(len(score), dtype=int), np.array([len(score)]), np.array([float(len(score))])
    codes = np.unique(score_bins(score, is_flagged, bins), return_inverse=True)[1].ravel()
    sizes = np.bincount(codes)
    return codes, sizes, neyman_priority(sizes, np.bincount(codes, weights=score) / sizes)


def shift_once(task) -> list[dict]:
    """One repetition of one scenario: a row per (design, audit size, label, method), and per label
    for the model-based methods (design and size empty)."""
    name, number, rep, seed, truth, probs, meta, thresholds, sizes, designs, n_boot = task
    rng = np.random.default_rng((seed, number, rep))
    spec = SHIFT_SCENARIOS[name]
    if spec is None:
        order = rng.permutation(len(truth))
        held, pool = order[: len(order) // 2], order[len(order) // 2:]
    else:
        slice_a, pool = np.flatnonzero(_slice(meta, spec[0])), np.flatnonzero(_slice(meta, spec[1]))
        held = rng.permutation(slice_a)[: len(slice_a) // 2]
    corpus_rows = pool[rng.choice(len(pool), CORPUS_SIZE, p=rake(truth[pool], TARGETS))]
    truth4 = truth[corpus_rows].astype(float)
    true_share = np.r_[truth4.mean(axis=0), truth4.any(axis=1).mean()]
    results = []

    def add(design, size, label, method, estimate, low, high):
        results.append(dict(scenario=name, rep=rep, design=design, audit_size=size, label=label, method=method,
                            estimate=estimate, ci_low=low, ci_high=high, truth=float(true_share[LABELS.index(label)])))

    rates = heldout_rates_all(Scored.from_probs(probs[held], thresholds, truth[held]), n_boot,
                              int(rng.integers(1 << 31)))
    rows, _ = measure_group("sim", Scored.from_probs(probs[corpus_rows], thresholds), None, rates, n_boot, rng, 0)
    for row in rows:
        if row["method"] in MODEL_METHODS:
            add("", 0, row["label"], row["method"], row["estimate"], row["ci_low"], row["ci_high"])
    scores = np.column_stack([probs[corpus_rows], probs[corpus_rows].max(axis=1)])
    labels = np.column_stack([truth4, truth4.any(axis=1)])
    flagged = (probs[corpus_rows] >= np.asarray(thresholds, dtype=np.float32)).any(axis=1)
    corpus_means = scores.mean(axis=0)
    for design in designs:
        codes, stratum_sizes, priority = _strata(design, scores[:, -1], flagged)
        members = [np.flatnonzero(codes == h) for h in range(len(stratum_sizes))]
        for size in sizes:
            taken = allocate(size, priority, stratum_sizes)
            picked = np.concatenate([rng.choice(m, t, replace=False) for m, t in zip(members, taken, strict=True)])
            weights = (stratum_sizes / taken)[codes[picked]]
            for k, label in enumerate(LABELS):
                sample = AuditSample(labels[picked, k], scores[picked, k], np.ones(len(picked), dtype=int),
                                     codes[picked], weights, stratum_sizes, taken)
                for tuning, method in (("shrunk", "ppi"), ("ppi++", "ppi++")):
                    est = ppi_mean(sample, corpus_means[k], tuning=tuning)
                    add(design, size, label, method, est.estimate, est.ci_low, est.ci_high)
                add(design, size, label, "classical", est.classical, est.classical_low, est.classical_high)
    return results


def simulate_shift(truth, probs, meta: dict, thresholds, scenarios, reps: int, n_boot: int, seed: int = 13,
                   workers: int = 1, sizes=AUDIT_SIZES, designs=DESIGNS) -> pd.DataFrame:
    """Every estimate of every repetition of every scenario."""
    truth = np.asarray(truth, dtype=bool)
    tasks = [(name, number, rep, seed, truth, probs, meta, thresholds, tuple(sizes), tuple(designs), n_boot)
             for number, name in enumerate(scenarios) for rep in range(reps)]
    return run_repetitions(shift_once, tasks, workers, chunksize=4)


def summarize_shift(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage, mean width and bias per scenario, design, audit size, method and label."""
    frame = results.assign(covered=(results["ci_low"] <= results["truth"]) & (results["truth"] <= results["ci_high"]),
                           width=results["ci_high"] - results["ci_low"], error=results["estimate"] - results["truth"])
    keys = ["scenario", "design", "audit_size", "method", "label"]
    return frame.groupby(keys, sort=False).agg(truth=("truth", "mean"), coverage=("covered", "mean"),
                                               width=("width", "mean"), bias=("error", "mean"),
                                               reps=("covered", "size")).reset_index()


def shift_overview(summary: pd.DataFrame) -> pd.DataFrame:
    """Over the five labels: mean and lowest coverage, mean width; model-based methods once per scenario."""
    grouped = summary.groupby(["scenario", "design", "audit_size", "method"], sort=False)
    return grouped.agg(mean_coverage=("coverage", "mean"), min_coverage=("coverage", "min"),
                       mean_width=("width", "mean"), mean_abs_bias=("bias", lambda b: float(b.abs().mean())),
                       reps=("reps", "min")).reset_index()


def slice_rates(truth, probs, meta: dict, thresholds, scenarios) -> pd.DataFrame:
    """The model's detection (tpr) and false-alarm (fpr) rates per label on each slice the scenarios
    use: how far the error rates the corrections assume are from those on the corpus's slice."""
    truth = np.asarray(truth, dtype=bool)
    decisions = np.asarray(probs) >= np.asarray(thresholds, dtype=np.float32)
    specs = {"all rows": None} | {f"{field}={value}": (field, value) for name in scenarios
                                  if SHIFT_SCENARIOS[name] for field, value in SHIFT_SCENARIOS[name]}
    rows = []
    for name, spec in specs.items():
        keep = np.ones(len(truth), dtype=bool) if spec is None else _slice(meta, spec)
        t, d = truth[keep], decisions[keep]
        row = {"slice": name, "rows": int(keep.sum())}
        for k, label in enumerate(LABELS[:-1]):
            row[f"{label} tpr"] = float((t[:, k] & d[:, k]).sum() / max(t[:, k].sum(), 1))
            row[f"{label} fpr"] = float((~t[:, k] & d[:, k]).sum() / max((~t[:, k]).sum(), 1))
        rows.append(row)
    return pd.DataFrame(rows).set_index("slice")


def shift_tables(summary: pd.DataFrame, header: str, rates: pd.DataFrame | None = None) -> str:
    """Markdown: the slices' error rates, the overview, then coverage and width per label for the
    simple design."""
    overview = shift_overview(summary)
    sections = [header]
    if rates is not None:
        sections.append("The model's error rates on each slice (dev and test rows, the model's thresholds):\n\n"
                        + markdown_table(rates))
    sections += ["Over the five labels (model-based methods do not use the audit: one row per scenario):\n\n"
                + markdown_table(overview.set_index(["scenario", "design", "audit_size", "method"]))]
    for column in ("coverage", "width"):
        part = summary[summary["method"].isin(["ppi", "classical", *MODEL_METHODS])
                       & summary["design"].isin(["simple", ""])]
        table = part.pivot_table(index=["scenario", "audit_size", "method"], columns="label", values=column,
                                 sort=False)[list(LABELS)]
        sections.append(f"{column.capitalize()} per label (simple random audit; model-based rows at audit size 0):"
                        f"\n\n" + markdown_table(table))
    return "\n\n".join(sections) + "\n"
