"""``python -m collectguard.training.pretrain_curve --point NAME=BASE_MODEL ... --baseline DIR --out DIR``:
the learning curve of pretraining, measured by fine-tuning.

For every point (a pretraining snapshot or model directory, or ``tiny`` for random initialisation of
the config's shape) and every ``--seeds`` value, fine-tune with ``--config`` (default
``training/configs/zh-small.yaml``) and evaluate on the test split like ``collectguard evaluate
--compare BASELINE --false-alarm-data COLD``, plus the false-alarm rate on the held-out ATEC
questions and the scoring speed. Finished fine-tunes and evaluations are kept in ``--out`` and
skipped when the command runs again. ``curve.json`` and ``curve.md`` summarise each point over its
seeds, with a paired bootstrap CI of (mean over seeds - baseline) on the same resampled test rows.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from collectguard.inference.bootstrap import metric_samples, percentile_ci, resample_counts
from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS, to_multi_hot
from collectguard.inference.records import load_labelled

from .config import load_config
from .evaluate import evaluate, write_outputs
from .paths import COLD_TEST_CSV, CONFIGS_DIR, EVAL_CORPORA_DIR, SPLITS_DIR
from .train import train_model

ATEC_HELDOUT = EVAL_CORPORA_DIR / "atec_questions_heldout.txt"


def scoring_speed(classifier: Classifier, texts: list[str], repeats: int = 2) -> float:
    """Utterances per second through ``predict_proba`` (best of ``repeats``)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        classifier.predict_proba(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def measure(model_dir: Path, out: Path, baseline: Path | None, test: Path, n_bootstrap: int) -> dict:
    """Evaluation of one model: ``metrics.json`` of ``collectguard evaluate --false-alarm-data COLD
    --false-alarm-data ATEC`` plus the scoring speed and the test decisions (``decisions.npy``), kept
    in ``out``."""
    if (out / "metrics.json").is_file():
        return json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    metrics, errors = evaluate(model_dir, [test], baseline, [COLD_TEST_CSV, ATEC_HELDOUT], n_bootstrap)
    classifier = Classifier.from_pretrained(model_dir)
    texts = [r.text for r in load_labelled(test)]
    metrics["scoring_utterances_per_s"] = scoring_speed(classifier, texts)
    write_outputs(metrics, errors, out)
    np.save(out / "decisions.npy", classifier.decide(classifier.predict_proba(texts)))
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def false_alarm_rate(metrics: dict, path: Path) -> float:
    """The flagged share of the false-alarm file ``path`` in an evaluation's metrics."""
    return next(f["any_violation_rate"] for f in metrics["false_alarm"] if Path(f["path"]) == path)


def fine_tune(config_path: Path, base_model: str, seed: int, sets: list[str], out: Path) -> dict:
    if not (out / "metrics.json").is_file():
        config = load_config(config_path, [f"model.base_model={base_model}", f"training.seed={seed}", *sets])
        train_model(config, out, quiet=True)
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def seed_mean_difference(truth, decisions: list[np.ndarray], baseline: np.ndarray, n_bootstrap: int) -> dict:
    """Paired bootstrap of (mean over seeds of the metric - baseline's metric) on the same rows."""
    counts = resample_counts(len(truth), n_bootstrap, 13)
    base = metric_samples(truth, baseline, counts)
    runs = [metric_samples(truth, d, counts) for d in decisions]
    result = {}
    for name in ("macro_f1", "any_violation.f1"):
        differences = np.mean([r[name] for r in runs], axis=0) - base[name]
        result[name] = {"mean_difference": float(differences.mean()), "ci": percentile_ci(differences)}
    return result


def summarise(name: str, runs: list[dict], truth, decisions, baseline_decisions, n_bootstrap: int) -> dict:
    def values(get):
        return [get(r) for r in runs]

    def mean_sd(get):
        v = values(get)
        return {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "values": v}

    return {
        "point": name, "seeds": len(runs),
        "macro_f1": mean_sd(lambda r: r["eval"]["overall"]["macro_f1"]),
        "any_violation_f1": mean_sd(lambda r: r["eval"]["overall"]["any_violation"]["f1"]),
        "any_violation_recall": mean_sd(lambda r: r["eval"]["overall"]["any_violation"]["recall"]),
        "cold_safe_false_alarm": mean_sd(lambda r: false_alarm_rate(r["eval"], COLD_TEST_CSV)),
        "atec_false_alarm": mean_sd(lambda r: false_alarm_rate(r["eval"], ATEC_HELDOUT)),
        "fine_tune_minutes": mean_sd(lambda r: r["train"]["training"]["train_seconds"] / 60),
        "scoring_utterances_per_s": mean_sd(lambda r: r["eval"]["scoring_utterances_per_s"]),
        "per_seed_paired_macro_f1": values(lambda r: r["eval"]["compare"]["paired"]["macro_f1"]),
        "vs_baseline": seed_mean_difference(truth, decisions, baseline_decisions, n_bootstrap),
    }


def markdown(rows: list[dict], baseline: dict) -> str:
    lines = ["| point | seeds | test macro-F1 (mean ± sd) | Δ macro-F1 vs baseline [95 % CI] | any-violation F1 | "
             "any-violation recall | COLD safe false alarms | ATEC false alarms | fine-tune min | scoring utt/s |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
             f"| baseline (TF-IDF) | 1 | {baseline['overall']['macro_f1']:.3f} | – | "
             f"{baseline['overall']['any_violation']['f1']:.3f} | "
             f"{baseline['overall']['any_violation']['recall']:.3f} | "
             f"{false_alarm_rate(baseline, COLD_TEST_CSV):.1%} | {false_alarm_rate(baseline, ATEC_HELDOUT):.1%} | – | "
             f"{baseline['scoring_utterances_per_s']:.0f} |"]
    for r in rows:
        d = r["vs_baseline"]["macro_f1"]
        lines.append(f"| {r['point']} | {r['seeds']} | {r['macro_f1']['mean']:.3f} ± {r['macro_f1']['sd']:.3f} | "
                     f"{d['mean_difference']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] | "
                     f"{r['any_violation_f1']['mean']:.3f} | {r['any_violation_recall']['mean']:.3f} | "
                     f"{r['cold_safe_false_alarm']['mean']:.1%} | "
                     f"{r['atec_false_alarm']['mean']:.1%} | {r['fine_tune_minutes']['mean']:.1f} | "
                     f"{r['scoring_utterances_per_s']['mean']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--point", action="append", required=True, metavar="NAME=BASE_MODEL")
    parser.add_argument("--baseline", required=True, type=Path, help="the TF-IDF baseline's model directory")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", type=Path, default=CONFIGS_DIR / "zh-small.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15])
    parser.add_argument("--test", type=Path, default=SPLITS_DIR / "test.jsonl")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    truth = np.array([to_multi_hot(r.labels) for r in load_labelled(args.test)], dtype=int).reshape(-1, len(VIOLATIONS))
    baseline = measure(args.baseline, args.out / "baseline-eval", None, args.test, args.bootstrap)
    baseline_decisions = np.load(args.out / "baseline-eval" / "decisions.npy")
    rows = []
    for point in args.point:
        name, base_model = point.split("=", 1)
        runs, decisions = [], []
        for seed in args.seeds:
            folder = args.out / f"{name}-seed{seed}"
            train = fine_tune(args.config, base_model, seed, args.set, folder / "model")
            runs.append({"train": train, "eval": measure(folder / "model", folder / "eval", args.baseline,
                                                         args.test, args.bootstrap)})
            decisions.append(np.load(folder / "eval" / "decisions.npy"))
            print(f"{name} seed {seed}: test macro-F1 {runs[-1]['eval']['overall']['macro_f1']:.3f}", flush=True)
        rows.append(summarise(name, runs, truth, decisions, baseline_decisions, args.bootstrap))
    (args.out / "curve.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (args.out / "curve.md").write_text(markdown(rows, baseline), encoding="utf-8")
    print(markdown(rows, baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
