"""``collectguard select-sim``: does a selection strategy beat random selection? A simulation on labelled data.

The labelled pool (default: the train split) stands in for unlabelled production data whose labels are
revealed only when a row is selected. Each seed starts from the same random ``--start`` rows for every
strategy; then, round after round, the fast baseline (TF-IDF + logistic regression, ``--config``) is
trained on the rows labelled so far, its thresholds tuned on dev, its macro-F1 measured on ``--test``,
and the next ``--batch`` rows chosen from the rest of the pool by the strategy, exactly as
``collectguard select`` chooses them (near-duplicates of labelled rows skipped). Writes ``curves.csv``
(one row per strategy, seed and round) and ``summary.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import TFIDF_LOGREG
from collectguard.inference.records import load_labelled
from collectguard.inference.reporting import markdown_table

from .config import ConfigError, load_config
from .data import label_matrix
from .fit_baseline import baseline_classifier
from .metrics import multilabel_metrics, tune_thresholds
from .paths import CONFIGS_DIR, SPLITS_DIR
from .select import STRATEGIES, select_rows

logger = logging.getLogger(__name__)


def train_and_measure(config, texts, labels, dev, test) -> tuple[Classifier, dict]:
    """The baseline trained on ``texts``/``labels``, thresholds tuned on ``dev``, and its test metrics
    (``dev`` and ``test`` are ``(texts, truth matrix)``)."""
    classifier = baseline_classifier(config, texts, labels)
    thresholds = tune_thresholds(dev[1], classifier.predict_proba(dev[0]))
    classifier.thresholds = np.array([thresholds[v] for v in VIOLATIONS], dtype=np.float32)
    probs = classifier.predict_proba(test[0])
    return classifier, multilabel_metrics(test[1], classifier.decide(probs), probs)


def simulate(config, pool, dev, test, strategies: Sequence[str], seeds: Sequence[int], start: int,
             batch: int) -> pd.DataFrame:
    """One row per strategy, seed and round: rows labelled, test macro-F1 and each label's F1.
    ``pool``, ``dev`` and ``test`` are lists of labelled rows."""
    texts, labels = [r.text for r in pool], [list(r.labels) for r in pool]
    dev = ([r.text for r in dev], label_matrix([r.labels for r in dev]))
    test = ([r.text for r in test], label_matrix([r.labels for r in test]))
    points = []
    for seed in seeds:
        initial = np.random.default_rng(seed).choice(len(pool), size=min(start, len(pool)), replace=False).tolist()
        for strategy in strategies:
            labelled = list(initial)
            while True:
                classifier, metrics = train_and_measure(config, [texts[i] for i in labelled],
                                                        [labels[i] for i in labelled], dev, test)
                points.append({"strategy": strategy, "seed": seed, "labelled": len(labelled),
                               "macro_f1": metrics["macro_f1"],
                               **{f"{v}_f1": metrics["per_label"][v]["f1"] for v in VIOLATIONS}})
                logger.info("%s seed %d: %d rows labelled, test macro-F1 %.4f", strategy, seed, len(labelled),
                            metrics["macro_f1"])
                rest = sorted(set(range(len(pool))) - set(labelled))
                if len(rest) < batch:
                    break
                frame = pd.DataFrame(classifier.predict_proba([texts[i] for i in rest]), columns=PROB_COLUMNS)
                frame.insert(0, "text", [texts[i] for i in rest])
                frame.insert(0, "position", rest)
                chosen = select_rows(frame, classifier.thresholds, batch, strategy, [texts[i] for i in labelled],
                                     seed=seed)
                if chosen.empty:
                    break
                labelled += chosen["position"].tolist()
    return pd.DataFrame(points)


def summary(curves: pd.DataFrame) -> str:
    """Markdown: mean (sd over seeds) macro-F1 by rows labelled and strategy, and each strategy's mean
    paired gain over random per round with the number of seeds it won."""
    pivot = curves.groupby(["labelled", "strategy"])["macro_f1"].agg(["mean", "std"]).reset_index()
    pivot["cell"] = [f"{m:.3f} ({s:.3f})" for m, s in zip(pivot["mean"], pivot["std"].fillna(0), strict=True)]
    table = pivot.pivot(index="labelled", columns="strategy", values="cell")
    parts = [f"### Test macro-F1, mean (sd) over {curves['seed'].nunique()} seeds\n\n" + markdown_table(table)]
    if "random" in set(curves["strategy"]):
        wide = curves.pivot_table(index=["seed", "labelled"], columns="strategy", values="macro_f1")
        gains = {s: wide[s] - wide["random"] for s in wide.columns if s != "random"}
        rows = {}
        for labelled in sorted(curves["labelled"].unique()):
            rows[labelled] = {s: (f"{g.xs(labelled, level='labelled').mean():+.3f} "
                                  f"({int((g.xs(labelled, level='labelled') > 0).sum())}/"
                                  f"{g.xs(labelled, level='labelled').notna().sum()})")
                              for s, g in gains.items()}
        gain_table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("labelled")
        parts.append("### Gain over random (same seed, same start), mean and seeds won\n\n"
                     + markdown_table(gain_table))
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard select-sim", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=CONFIGS_DIR / "baseline.yaml",
                        help="a tfidf-logreg config (default: training/configs/baseline.yaml)")
    parser.add_argument("--pool", nargs="+", type=Path, default=[SPLITS_DIR / "train.jsonl"])
    parser.add_argument("--dev", nargs="+", type=Path, default=[SPLITS_DIR / "dev.jsonl"])
    parser.add_argument("--test", nargs="+", type=Path, default=[SPLITS_DIR / "test.jsonl"])
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--start", type=int, default=500, help="rows labelled before the first selection")
    parser.add_argument("--batch", type=int, default=200, help="rows selected per round")
    parser.add_argument("--out", type=Path, required=True, help="folder for curves.csv and summary.md")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if config.model.kind != TFIDF_LOGREG:
        raise ConfigError(f"--config {args.config}: the simulation trains the fast baseline (model.kind tfidf-logreg)")
    curves = simulate(config, load_labelled(*args.pool), load_labelled(*args.dev), load_labelled(*args.test),
                      args.strategies, args.seeds, args.start, args.batch)
    args.out.mkdir(parents=True, exist_ok=True)
    curves.to_csv(args.out / "curves.csv", index=False)
    (args.out / "summary.md").write_text(summary(curves), encoding="utf-8")
    print(summary(curves))
    return 0
