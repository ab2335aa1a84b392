"""``collectguard prevalence-sim --model DIR --data FILE... [--reps 200] [--bootstrap 200] [--out DIR]
[--shift [--scenarios NAME...] [--audit-sizes 100 200 400 800]]``:
does prevalence measurement recover a known prevalence, and do its intervals cover it?

With ``--shift``, the scenarios of ``shift_sim`` instead: error rates measured on one slice of the
labelled rows (style, script), corpus drawn from another, and audit samples of 100-800 rows:
coverage and width of PPI, the audit alone and the model-based corrections.

Each repetition splits the labelled rows at random into two disjoint halves: one gives the error
rates (as a model directory's held-out predictions would), the other is the pool corpora are drawn
from. Pool rows are weighted (raking) so that the population the corpus stands for has the
scenario's prevalence per label; 30 % of its calls are "hot" and have twice the violation rate of
the others, so violations cluster in calls as they do in real ones.

A corpus never uses a labelled text twice: it is a Poisson sample of the pool (each row in or out
independently, with inclusion probability proportional to its population weight), as large as the
pool allows, i.e. with the most heavily weighted rows included for certain. Each drawn row goes to a
hot call with its population probability of being in one; hot and cold rows are then cut into calls
of 3-10 utterances. The truth is the population prevalence (per call: the expected share of calls
with a violation, given the corpus's call lengths and hot calls), the quantity the bootstrap
intervals are meant to cover; the corpus's own share of violations (``truth_corpus``) is kept too.
Probabilities are computed once per labelled row; repetitions only draw indices.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..classifier import Classifier
from ..labels import to_multi_hot
from ..records import load_labelled
from ..reporting import markdown_table
from ..textio import sha256_of
from .estimators import CALL_HEADLINE, HEADLINE, LABELS
from .measure import Scored, heldout_rates_all, measure_group

SCENARIOS = {"1%": (0.01,) * 4, "5%": (0.05,) * 4, "20%": (0.20,) * 4,
             "shifted": (0.10, 0.02, 0.15, 0.03)}  # per label in VIOLATIONS order
HOT_SHARE, HOT_FACTOR = 0.3, 2.0  # share of hot calls; their rate relative to the other calls
CALL_LENGTHS = np.arange(3, 11)


def rake(truth: np.ndarray, targets: Sequence[float], rounds: int = 500) -> np.ndarray:
    """Row weights (summing to 1) under which label k has share ``targets[k]`` (iterative
    proportional fitting over the labels of the (n, 4) 0/1 ``truth``)."""
    truth = truth.astype(bool)
    weights = np.full(len(truth), 1 / len(truth))
    for _ in range(rounds):
        for k, target in enumerate(targets):
            share = weights[truth[:, k]].sum()
            weights = np.where(truth[:, k], weights * target / share, weights * (1 - target) / (1 - share))
        if np.abs(weights @ truth - np.asarray(targets)).max() < 1e-9:
            break
    return weights / weights.sum()


def mixture(pool_truth: np.ndarray, targets: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Row weights of hot and cold calls whose mixture (HOT_SHARE hot) has the ``targets``."""
    targets = np.asarray(targets)
    cold = targets / (HOT_SHARE * HOT_FACTOR + 1 - HOT_SHARE)
    return rake(pool_truth, np.minimum(cold * HOT_FACTOR, 0.95)), rake(pool_truth, cold)


def population(pool_truth: np.ndarray, targets: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hot, cold, inclusion): row weights of hot and of cold calls, and each pool row's probability of
    being in the corpus. Inclusion is proportional to the row's population weight and reaches 1 for the
    most heavily weighted rows: the largest corpus the pool allows without using a text twice
    (expected size ``inclusion.sum()``)."""
    hot, cold = mixture(pool_truth, targets)
    mixed = HOT_SHARE * hot + (1 - HOT_SHARE) * cold
    return hot, cold, mixed / mixed.max()


def cut_calls(rng, rows: np.ndarray) -> list[np.ndarray]:
    """``rows`` cut into consecutive calls of ``CALL_LENGTHS`` utterances (the last one takes what is left)."""
    if not len(rows):
        return []
    ends = np.cumsum(rng.choice(CALL_LENGTHS, size=len(rows) // CALL_LENGTHS.min() + 1))
    return np.split(rows, ends[: int(np.searchsorted(ends, len(rows)))])


def draw_corpus(rng, hot: np.ndarray, cold: np.ndarray, inclusion: np.ndarray):
    """(pool row of each utterance, call code of each utterance, whether each call is hot), utterances
    ordered by call. Every pool row is in the corpus at most once (Poisson sampling with ``inclusion``);
    a drawn row is in a hot call with its population probability ``HOT_SHARE * hot / mixed``."""
    taken = np.flatnonzero(rng.random(len(inclusion)) < inclusion)
    mixed = HOT_SHARE * hot[taken] + (1 - HOT_SHARE) * cold[taken]
    in_hot = rng.random(len(taken)) < HOT_SHARE * hot[taken] / mixed
    calls = [(call, is_hot) for is_hot in (True, False)
             for call in cut_calls(rng, rng.permutation(taken[in_hot == is_hot]))]
    calls = [calls[i] for i in rng.permutation(len(calls))]
    rows = np.concatenate([call for call, _ in calls])
    codes = np.repeat(np.arange(len(calls)), [len(call) for call, _ in calls])
    return rows, codes, np.array([is_hot for _, is_hot in calls], dtype=bool)


def true_values(pool_truth5: np.ndarray, hot: np.ndarray, cold: np.ndarray, rows: np.ndarray,
                calls: np.ndarray, hot_calls: np.ndarray):
    """Per label (5,): ((population prevalence, the corpus's share of utterances with the label),
    (expected share of calls with the label given the corpus's call lengths and hot calls, the corpus's
    share of calls with the label))."""
    rate_hot, rate_cold = hot @ pool_truth5, cold @ pool_truth5
    lengths = np.bincount(calls)
    per_call = 1 - (1 - np.where(hot_calls[:, None], rate_hot, rate_cold)) ** lengths[:, None]
    drawn = pool_truth5[rows].astype(float)
    starts = np.flatnonzero(np.r_[True, calls[1:] != calls[:-1]])
    return ((HOT_SHARE * rate_hot + (1 - HOT_SHARE) * rate_cold, drawn.mean(axis=0)),
            (per_call.mean(axis=0), np.maximum.reduceat(drawn, starts, axis=0).mean(axis=0)))


def simulate_once(rng, truth, probs, thresholds, targets, n_boot: int) -> list[dict]:
    """One repetition: split, draw a corpus of distinct texts in calls, measure; one row per
    (level, label, method), with the population truth and the corpus's own share."""
    order = rng.permutation(len(truth))
    held, pool = order[: len(order) // 2], order[len(order) // 2:]
    heldout = Scored.from_probs(probs[held], thresholds, truth[held])
    rates = heldout_rates_all(heldout, n_boot, int(rng.integers(1 << 31)))
    pool_truth = truth[pool].astype(bool)
    hot, cold, inclusion = population(pool_truth, targets)
    rows, calls, hot_calls = draw_corpus(rng, hot, cold, inclusion)
    values = true_values(np.column_stack([pool_truth, pool_truth.any(axis=1)]), hot, cold, rows, calls, hot_calls)
    corpus = Scored.from_probs(probs[pool][rows], thresholds)
    utterance, call = measure_group("sim", corpus, calls, rates, n_boot, rng, min_size=0)
    results = []
    for level, table, (truth_population, truth_corpus) in zip(("utterance", "call"), (utterance, call), values,
                                                              strict=True):
        for row in table:
            k = LABELS.index(row["label"])
            results.append(dict(level=level, label=row["label"], method=row["method"], estimate=row["estimate"],
                                ci_low=row["ci_low"], ci_high=row["ci_high"], clipped=row["clipped"], n=row["n"],
                                truth=float(truth_population[k]), truth_corpus=float(truth_corpus[k])))
    return results


def _repetition(task) -> list[dict]:
    name, number, rep, seed, truth, probs, thresholds, targets, n_boot = task
    rng = np.random.default_rng((seed, number, rep))
    return [dict(scenario=name, rep=rep, **row)
            for row in simulate_once(rng, truth, probs, thresholds, targets, n_boot)]


def run_repetitions(repetition, tasks: list, workers: int, chunksize: int) -> pd.DataFrame:
    """The rows of ``repetition(task)`` for every task (a list of row dicts each), on ``workers``
    processes when more than one."""
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(repetition, tasks, chunksize=chunksize))
    else:
        parts = [repetition(task) for task in tasks]
    return pd.DataFrame([row for part in parts for row in part])


def simulate(truth, probs, thresholds, scenarios: dict, reps: int, n_boot: int, seed: int = 13,
             workers: int = 1) -> pd.DataFrame:
    """Every repetition of every scenario: one row per (scenario, rep, level, label, method)."""
    tasks = [(name, number, rep, seed, truth, probs, thresholds, targets, n_boot)
             for number, (name, targets) in enumerate(scenarios.items()) for rep in range(reps)]
    return run_repetitions(_repetition, tasks, workers, chunksize=8)


def _covered(results: pd.DataFrame, truth: pd.Series) -> pd.Series:
    return (results["ci_low"] <= truth) & (truth <= results["ci_high"])


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, level, label and method: mean truth, bias, RMSE, 95 % interval coverage of the
    population truth (and of the corpus's own share), mean width, share clipped."""
    truth = results["truth"]
    frame = results.assign(error=results["estimate"] - truth, covered=_covered(results, truth),
                           covered_corpus=_covered(results, results["truth_corpus"]),
                           width=results["ci_high"] - results["ci_low"])
    grouped = frame.groupby(["scenario", "level", "label", "method"], sort=False)
    return grouped.agg(truth=("truth", "mean"), bias=("error", "mean"),
                       rmse=("error", lambda e: float(np.sqrt(np.nanmean(e ** 2)))),
                       coverage=("covered", "mean"), coverage_corpus=("covered_corpus", "mean"),
                       width=("width", "mean"), clipped=("clipped", "mean"),
                       reps=("error", "count")).reset_index()


def overview(summary: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, level and method over the five labels: mean |bias|, mean RMSE, mean and lowest
    coverage, mean coverage of the corpus's own share."""
    grouped = summary.assign(abs_bias=summary["bias"].abs()).groupby(["scenario", "level", "method"], sort=False)
    return grouped.agg(mean_abs_bias=("abs_bias", "mean"), mean_rmse=("rmse", "mean"),
                       mean_coverage=("coverage", "mean"), min_coverage=("coverage", "min"),
                       coverage_corpus=("coverage_corpus", "mean")).reset_index()


def sizes(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: utterances and calls per corpus (mean, lowest, highest over repetitions)."""
    first = results.drop_duplicates(["scenario", "rep", "level"])
    table = first.pivot_table(index=["scenario", "rep"], columns="level", values="n").reset_index()
    grouped = table.groupby("scenario", sort=False)
    return grouped.agg(utterances=("utterance", "mean"), utterances_min=("utterance", "min"),
                       utterances_max=("utterance", "max"), calls=("call", "mean"),
                       calls_min=("call", "min"), calls_max=("call", "max")).reindex(results["scenario"].unique())


def per_label(summary: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the headline methods (utterance and call level), per scenario and label."""
    headline = summary[((summary["level"] == "utterance") & (summary["method"] == HEADLINE))
                       | ((summary["level"] == "call") & (summary["method"] == CALL_HEADLINE))]
    table = headline.pivot_table(index=["scenario", "level", "method"], columns="label", values=column, sort=False)
    return table[list(LABELS)]


def main(argv: Sequence[str] | None = None) -> int:
    from .shift_sim import AUDIT_SIZES, DEFAULT_SHIFT, SHIFT_SCENARIOS

    parser = argparse.ArgumentParser(prog="collectguard prevalence-sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="model directory written by collectguard train")
    parser.add_argument("--data", required=True, nargs="+", type=Path,
                        help="labelled .jsonl/.csv rows not used in training, e.g. data/splits/dev.jsonl "
                             "data/splits/test.jsonl (distinct texts)")
    parser.add_argument("--reps", type=int, default=200, help="repetitions per scenario (default 200)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates per estimate (default 200)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=Path("reports/prevalence_sim"), help="directory to write")
    parser.add_argument("--shift", action="store_true",
                        help="shift scenarios with audit samples (PPI, classical, acc) instead of the prior-shift ones")
    parser.add_argument("--scenarios", nargs="+", choices=list(SHIFT_SCENARIOS), default=list(DEFAULT_SHIFT),
                        help=f"shift scenarios (default {' '.join(DEFAULT_SHIFT)})")
    parser.add_argument("--audit-sizes", nargs="+", type=int, default=list(AUDIT_SIZES),
                        help="audit sizes (default 100 200 400 800)")
    args = parser.parse_args(argv)
    if min(args.reps, args.bootstrap) < 1:
        parser.error("--reps and --bootstrap must be at least 1")
    classifier = Classifier.from_pretrained(args.model)
    rows = load_labelled(*args.data)
    truth = np.array([to_multi_hot(r.labels) for r in rows], dtype=int).reshape(-1, len(LABELS) - 1)
    probs = classifier.predict_proba([r.text for r in rows])
    if args.shift:
        return shift_main(args, rows, truth, probs, classifier.thresholds)
    results = simulate(truth, probs, classifier.thresholds, SCENARIOS, args.reps, args.bootstrap, args.seed,
                       args.workers)
    table = write_outputs(args.out, results, args, len(truth))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(sizes(results).to_string(float_format=lambda v: f"{v:.1f}"))
    print(f"wrote {args.out}: {len(results)} estimates from {args.reps} repetitions x {len(SCENARIOS)} scenarios")
    return 0


def shift_main(args: argparse.Namespace, rows, truth: np.ndarray, probs: np.ndarray, thresholds) -> int:
    """``--shift``: run, write ``shift_results.csv``, ``shift_summary.csv`` and ``shift_table.md``."""
    from .shift_sim import (
        CORPUS_SIZE,
        TARGETS,
        shift_overview,
        shift_tables,
        simulate_shift,
        slice_rates,
        summarize_shift,
    )

    meta = {"style": [r.style for r in rows], "script": [r.script for r in rows]}
    results = simulate_shift(truth, probs, meta, thresholds, args.scenarios, args.reps, args.bootstrap, args.seed,
                             args.workers, args.audit_sizes)
    summary = summarize_shift(results)
    args.out.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out / "shift_results.csv", index=False)
    summary.to_csv(args.out / "shift_summary.csv", index=False)
    data = ", ".join(f"{path} (sha256 {sha256_of(path)[:12]})" for path in args.data)
    header = (f"Model {args.model}; data {data}: {len(truth)} labelled rows. Corpus of {CORPUS_SIZE} utterances at "
              f"{', '.join(f'{v:.0%}' for v in TARGETS)} (threat, insult, deception, privacy); {args.reps} "
              f"repetitions per scenario, {args.bootstrap} bootstrap replicates, seed {args.seed}.")
    rates = slice_rates(truth, probs, meta, thresholds, args.scenarios)
    (args.out / "shift_table.md").write_text(shift_tables(summary, header, rates), encoding="utf-8")
    print(rates.to_string(float_format=lambda v: f"{v:.3f}"))
    print(shift_overview(summary).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {args.out}: {len(results)} estimates from {args.reps} repetitions x {len(args.scenarios)} scenarios")
    return 0


def write_outputs(out: Path, results: pd.DataFrame, args: argparse.Namespace, n_rows: int) -> pd.DataFrame:
    """``sim_results.csv`` (every estimate), ``sim_summary.csv`` (per label), ``sim_overview.csv`` and
    ``sim_table.md`` (corpus sizes, the overview over labels and the headline methods' coverage per
    label, with the model and data it came from); returns the overview."""
    summary = summarize(results)
    table = overview(summary)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "sim_results.csv", index=False)
    summary.to_csv(out / "sim_summary.csv", index=False)
    table.to_csv(out / "sim_overview.csv", index=False)
    data = ", ".join(f"{path} (sha256 {sha256_of(path)[:12]})" for path in args.data)
    header = (f"Model {args.model}; data {data}: {n_rows} labelled rows, {n_rows // 2} for error rates and "
              f"{n_rows - n_rows // 2} in the pool per repetition; {args.reps} repetitions per scenario, "
              f"{args.bootstrap} bootstrap replicates, seed {args.seed}.\n\n")
    size_table = sizes(results).round(1)
    sections = [header + "Corpus sizes (distinct texts):\n\n" + markdown_table(size_table),
                "Over the five labels:\n\n" + markdown_table(table.set_index(["scenario", "level", "method"])),
                "Coverage of the headline methods' intervals per label:\n\n"
                + markdown_table(per_label(summary, "coverage")),
                "Bias of the headline methods per label:\n\n" + markdown_table(per_label(summary, "bias"))]
    (out / "sim_table.md").write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return table
