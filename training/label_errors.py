"""``collectguard find-label-errors --data FILE... --out FILE``: rows whose label is probably wrong.

Out-of-fold probabilities come from k-fold cross-validation of the fast baseline (``--config``, the
TF-IDF + logistic regression): every row is scored by a model that never saw it, nor any of its
near-duplicates (they share a fold, grouped as ``collectguard split`` groups them), with folds
stratified on the label combination. ``--extra-train`` files join every fold's training rows and are
never ranked (to rank a frozen test split against a model of train + dev). cleanlab then scores each
row's given labels against those probabilities (``get_label_quality_scores``, lower = more likely
wrong) and flags the rows its confident-learning filter finds (``find_label_issues``). The output lists
every row, most suspect first, with the labels the out-of-fold model suggests (each label's threshold
tuned for F1 on the out-of-fold probabilities) and which labels differ. It is a list to review against
the codebook, not a correction.
"""
from __future__ import annotations

import argparse
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from collectguard.inference.classifier import PROB_COLUMNS
from collectguard.inference.labels import VIOLATIONS, combination_key, labels_to_text
from collectguard.inference.modeldir import TFIDF_LOGREG
from collectguard.inference.tables import OUTPUT_FORMATS, table_format, write_table

from .config import ConfigError, load_config
from .data import label_matrix, load_labelled_dataset
from .fit_baseline import baseline_classifier
from .metrics import tune_thresholds
from .paths import CONFIGS_DIR
from .splits import near_duplicate_groups

logger = logging.getLogger(__name__)


def out_of_fold_probabilities(config, texts: list[str], labels: list[list[str]], folds: int, seed: int,
                              extra: tuple[list[str], list[list[str]]] = ([], [])) -> np.ndarray:
    """(n, 4): each row's probabilities from the baseline trained on the other folds (plus ``extra``)."""
    groups = near_duplicate_groups(texts)
    strata = [combination_key(x) for x in labels]
    probs = np.full((len(texts), len(VIOLATIONS)), np.nan)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare label combinations have fewer members than folds
        splits = list(splitter.split(np.zeros(len(texts)), strata, groups))
    for fold, (train, held) in enumerate(splits, start=1):
        classifier = baseline_classifier(config, [texts[i] for i in train] + extra[0],
                                         [labels[i] for i in train] + extra[1])
        probs[held] = classifier.predict_proba([texts[i] for i in held])
        logger.info("fold %d of %d: %d rows scored by a model of %d", fold, folds, len(held),
                    len(train) + len(extra[0]))
    return probs


def rank_label_issues(ids, texts, labels, probs: np.ndarray, sources=None) -> pd.DataFrame:
    """Every row, most suspect first: cleanlab's label quality and issue flag, the given and the
    suggested labels, the labels that differ, and the probabilities."""
    from cleanlab.multilabel_classification.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    truth = label_matrix(labels)
    indices = [list(np.flatnonzero(row)) for row in truth]
    quality = get_label_quality_scores(indices, probs)
    flagged = find_label_issues(indices, probs)
    thresholds = tune_thresholds(truth, probs)
    suggested = probs >= np.array([thresholds[v] for v in VIOLATIONS])
    frame = pd.DataFrame({"id": list(ids), "text": list(texts), "labels": [labels_to_text(x) for x in labels],
                          "suggested": [labels_to_text(np.array(VIOLATIONS)[row]) for row in suggested],
                          "differs": [", ".join(f"{'+' if s else '-'}{v}" for v, t, s in zip(VIOLATIONS, t_row, s_row,
                                                                                          strict=True) if t != s)
                                      for t_row, s_row in zip(truth.astype(bool), suggested, strict=True)],
                          "label_quality": quality.round(4), "cleanlab_issue": flagged})
    frame[PROB_COLUMNS] = probs.round(4)
    if sources is not None:
        frame["source_file"] = list(sources)
    frame = frame.sort_values("label_quality", kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard find-label-errors", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, nargs="+", type=Path, help="labelled files to rank")
    parser.add_argument("--out", required=True, type=Path, help="ranked rows (.csv, .jsonl or .parquet)")
    parser.add_argument("--extra-train", nargs="*", type=Path, default=[],
                        help="labelled files added to every fold's training rows, never ranked")
    parser.add_argument("--config", type=Path, default=CONFIGS_DIR / "baseline.yaml",
                        help="a tfidf-logreg config (default: training/configs/baseline.yaml)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    kind = table_format(args.out, OUTPUT_FORMATS)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    config = load_config(args.config)
    if config.model.kind != TFIDF_LOGREG:
        raise ConfigError(f"--config {args.config}: out-of-fold probabilities come from the fast baseline "
                          "(model.kind tfidf-logreg)")
    data = load_labelled_dataset(args.data, config.data.cache_dir or None)
    extra = load_labelled_dataset(args.extra_train, config.data.cache_dir or None) if args.extra_train else None
    probs = out_of_fold_probabilities(config, list(data["text"]), list(data["labels"]), args.folds, args.seed,
                                      (list(extra["text"]), list(extra["labels"])) if extra is not None else ([], []))
    ranked = rank_label_issues(data["id"], data["text"], data["labels"], probs, data["source_file"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_table(ranked, args.out, kind)
    print(f"wrote {args.out}: {len(ranked)} rows ranked, most suspect first; cleanlab flags "
          f"{int(ranked['cleanlab_issue'].sum())}; out-of-fold suggestions differ from the given labels in "
          f"{int((ranked['differs'] != '').sum())}")
    return 0
