"""``collectguard evaluate --model DIR --data FILE... --out REPORT_DIR [--compare DIR2]
[--false-alarm-data CSV] [--bootstrap 1000] [--seed 13]``: evaluate a model directory on labelled data.

REPORT_DIR gets ``metrics.json`` (everything), ``report.md`` (tables and plots), ``errors.csv`` (every
row whose predicted labels differ from the true ones, personal data masked unless ``--no-mask``; its
``pii_masking`` column and ``metrics.json`` say which) and PNG plots. Predictions come only from
``Classifier.from_pretrained(DIR)`` (``predict_proba`` then ``decide``), the code that ships; labelled data only
from ``inference.records.load_labelled``.
"""
from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from collectguard.inference.bootstrap import LEVEL, attach_cis, bootstrap_cis, paired_bootstrap
from collectguard.inference.calls import masking_note
from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import COMPLIANT, VIOLATIONS
from collectguard.inference.pii import mask_pii
from collectguard.inference.records import LENGTH_BUCKETS, length_bucket, load_labelled, to_frame

from .false_alarms import false_alarm
from .metrics import binary_metrics, cooccurrence, expected_calibration_error, multilabel_metrics, reliability_bins
from .perturb import PERTURBATIONS, perturb
from .report import write_report
from .train import predict_labelled

ASSUMED_PREVALENCE = 0.03  # share of violating agent turns assumed for precision on real text
THRESHOLD_GRID = tuple(round(0.1 * i, 1) for i in range(1, 10))
SLICE_COLUMNS = ("style", "script", "speaker", "length_bucket")
NAN = float("nan")


class EvaluationInputError(ValueError):
    """An input the evaluation cannot use; the message names the option, file and column."""


def rows_frame(rows) -> pd.DataFrame:
    """``records.to_frame`` plus the ``length_bucket`` (characters) of each row."""
    frame = to_frame(rows)
    frame["length_bucket"] = frame["length"].map(length_bucket)
    return frame


def overall_metrics(truth, probs, decisions, n_bootstrap: int, seed: int) -> dict:
    """``multilabel_metrics`` with a bootstrap ``<metric>_ci`` beside each precision, recall and F1."""
    return attach_cis(multilabel_metrics(truth, decisions, probs), bootstrap_cis(truth, decisions, n_bootstrap, seed))


def confusion_matrices(overall: dict) -> dict[str, list[list[int]]]:
    """Per label ``[[tn, fp], [fn, tp]]`` (rows: truth 0/1; columns: prediction 0/1)."""
    return {label: [[m["tn"], m["fp"]], [m["fn"], m["tp"]]] for label, m in overall["per_label"].items()}


def calibration(truth, probs) -> dict:
    return {label: {"ece": expected_calibration_error(truth[:, k], probs[:, k]),
                    "bins": reliability_bins(truth[:, k], probs[:, k])} for k, label in enumerate(VIOLATIONS)}


def threshold_sweep(truth, probs, stored: np.ndarray) -> dict:
    """Per label: the stored threshold, F1 there, and F1 at 0.1 ... 0.9 (decision: prob >= threshold)."""
    def f1(k, threshold):
        return binary_metrics(truth[:, k], (probs[:, k] >= threshold).astype(int))["f1"]

    return {label: {"stored": float(stored[k]), "f1_at_stored": f1(k, stored[k]),
                    "f1_by_threshold": {f"{t:.1f}": f1(k, np.float32(t)) for t in THRESHOLD_GRID}}
            for k, label in enumerate(VIOLATIONS)}


def slice_summary(truth, decisions) -> dict:
    """Metrics of one slice. F1 needs positives: macro-F1 averages the labels that occur in the
    slice's truth, and is NaN (like any-violation F1) in a slice without violations, where false
    alarms show in ``false_alarm_rate`` (share of compliant rows flagged) instead."""
    m = multilabel_metrics(truth, decisions)
    present = [v["f1"] for v in m["per_label"].values() if v["support"]]
    anyv = m["any_violation"]
    return {"n": m["n"], "n_violation": anyv["support"], "macro_f1": float(np.mean(present)) if present else NAN,
            "any_violation_f1": anyv["f1"] if anyv["support"] else NAN, "any_violation_recall": anyv["tpr"],
            "false_alarm_rate": anyv["fpr"], "exact_match": m["exact_match"]}


def slice_metrics(frame: pd.DataFrame, truth, decisions) -> dict:
    """``{column: {value: slice_summary}}`` for style, script, speaker and length bucket."""
    result = {}
    for column in SLICE_COLUMNS:
        order = [name for _, name in LENGTH_BUCKETS] if column == "length_bucket" else sorted(frame[column].unique())
        groups = frame.groupby(column).indices
        result[column] = {value: slice_summary(truth[groups[value]], decisions[groups[value]])
                          for value in order if value in groups}
    return result


def robustness(classifier: Classifier, texts: list[str], truth, decisions, overall: dict, seed: int) -> dict:
    """Per perturbation: macro-F1 and any-violation F1 on the perturbed texts, the drops from the
    unperturbed ones, the share of texts the perturbation changed and of rows whose decision changed."""
    result = {}
    for name in PERTURBATIONS:
        changed = perturb(texts, name, seed)
        probs = classifier.predict_proba(changed)
        perturbed = classifier.decide(probs)
        m = multilabel_metrics(truth, perturbed, probs)
        result[name] = {"macro_f1": m["macro_f1"], "any_violation_f1": m["any_violation"]["f1"],
                        "macro_f1_drop": overall["macro_f1"] - m["macro_f1"],
                        "any_violation_f1_drop": overall["any_violation"]["f1"] - m["any_violation"]["f1"],
                        "texts_changed": float(np.mean([a != b for a, b in zip(texts, changed)])),
                        "decisions_changed": float((perturbed != decisions).any(axis=1).mean())}
    return result


def label_names(matrix) -> list[str]:
    """Each row's labels joined with ``|``, ``compliant`` for none (the CSV convention)."""
    return ["|".join(v for v, on in zip(VIOLATIONS, row) if on) or COMPLIANT for row in np.asarray(matrix, dtype=bool)]


def error_rows(frame: pd.DataFrame, truth, probs, decisions, mask: bool = True) -> pd.DataFrame:
    """Every row whose predicted labels differ from its true labels, with ``error_<label>`` fp/fn/'';
    texts with personal data masked unless ``mask`` is false (column ``pii_masking``)."""
    truth, decisions = np.asarray(truth, dtype=bool), np.asarray(decisions, dtype=bool)
    wrong = (truth != decisions).any(axis=1)
    out = frame.loc[wrong, ["id", "text"]].reset_index(drop=True)
    if mask:
        out["text"] = out["text"].map(mask_pii)
    out["pii_masking"] = masking_note(mask)
    out["true_labels"], out["pred_labels"] = label_names(truth[wrong]), label_names(decisions[wrong])
    out[PROB_COLUMNS] = np.round(probs[wrong], 4)
    out[["style", "script", "speaker", "length"]] = frame.loc[wrong, ["style", "script", "speaker", "length"]].to_numpy()
    for k, label in enumerate(VIOLATIONS):
        t, p = truth[wrong, k], decisions[wrong, k]
        out[f"error_{label}"] = np.where(p & ~t, "fp", np.where(t & ~p, "fn", ""))
    return out


def compare_models(compare_dir, texts, truth, decisions, n_bootstrap: int, seed: int) -> dict:
    """The second model's metrics on the same rows and the paired bootstrap of (model - compare)."""
    other = Classifier.from_pretrained(compare_dir)
    probs = other.predict_proba(texts)
    other_decisions = other.decide(probs)
    return {"model": str(compare_dir), "metrics": overall_metrics(truth, probs, other_decisions, n_bootstrap, seed),
            "paired": paired_bootstrap(truth, decisions, other_decisions, n_bootstrap, seed)}


def check_inputs(model_dir, data_paths, compare_dir=None, false_alarm_data: Sequence = ()) -> None:
    for option, directory in (("--model", model_dir), ("--compare", compare_dir)):
        if directory is not None and not Path(directory).is_dir():
            raise EvaluationInputError(f"{option} {directory}: no such model directory")
    for option, path in [*(("--data", p) for p in data_paths),
                         *(("--false-alarm-data", str(s).partition("::")[0]) for s in false_alarm_data)]:
        if not Path(path).is_file():
            raise EvaluationInputError(f"{option} {path}: no such file")


def evaluate(model_dir, data_paths: Sequence, compare_dir=None, false_alarm_data: Sequence = (),
             n_bootstrap: int = 1000, seed: int = 13, mask: bool = True,
             prevalence: float = ASSUMED_PREVALENCE) -> tuple[dict, pd.DataFrame]:
    """The content of ``metrics.json`` and the errors table for ``model_dir`` on ``data_paths``, and
    the false alarms on each file of ``false_alarm_data`` (see ``false_alarms``); the texts quoted
    have personal data masked unless ``mask`` is false."""
    check_inputs(model_dir, data_paths, compare_dir, false_alarm_data)
    classifier = Classifier.from_pretrained(model_dir)
    rows = load_labelled(*data_paths)
    if not rows:
        raise EvaluationInputError(f"--data {', '.join(map(str, data_paths))}: no rows")
    frame = rows_frame(rows)
    truth, probs = predict_labelled(classifier, [r.text for r in rows], [r.labels for r in rows])
    decisions = classifier.decide(probs)
    overall = overall_metrics(truth, probs, decisions, n_bootstrap, seed)
    texts = frame["text"].tolist()
    metrics = {
        "model": str(model_dir), "data": [str(p) for p in data_paths], "n": len(rows),
        "pii_masking": masking_note(mask), "normalization": classifier.metadata.normalization.to_dict(),
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "level": LEVEL},
        "overall": overall,
        "confusion": {"per_label": confusion_matrices(overall),
                      "cooccurrence": cooccurrence(truth, decisions).to_dict(orient="index")},
        "calibration": calibration(truth, probs),
        "thresholds": threshold_sweep(truth, probs, classifier.thresholds),
        "slices": slice_metrics(frame, truth, decisions),
        "robustness": robustness(classifier, texts, truth, decisions, overall, seed),
    }
    if false_alarm_data:
        recall = overall["any_violation"]["recall"]
        metrics["false_alarm"] = [false_alarm(classifier, spec, recall, prevalence, n_bootstrap, seed, mask)
                                  for spec in false_alarm_data]
    if compare_dir is not None:
        metrics["compare"] = compare_models(compare_dir, texts, truth, decisions, n_bootstrap, seed)
    return metrics, error_rows(frame, truth, probs, decisions, mask)


def jsonable(value):
    """``value`` with NaN as None and numpy scalars as Python numbers, for strict JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def write_outputs(metrics: dict, errors: pd.DataFrame, out_dir: str | Path) -> Path:
    """``metrics.json``, ``errors.csv`` (UTF-8), ``report.md`` and the plots in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(jsonable(metrics), ensure_ascii=False, indent=2, allow_nan=False)
                                          + "\n", encoding="utf-8")
    errors.to_csv(out_dir / "errors.csv", index=False)
    write_report(metrics, out_dir)
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="model directory written by collectguard train")
    parser.add_argument("--data", required=True, nargs="+", type=Path, help="labelled .jsonl or .csv file(s)")
    parser.add_argument("--out", required=True, type=Path, help="report directory to write")
    parser.add_argument("--compare", type=Path, help="a second model directory to compare with on the same rows")
    parser.add_argument("--false-alarm-data", action="append", default=[], metavar="FILE[::COLUMN]",
                        help="real text with no violation, to count false alarms on (repeatable): one text per "
                             "line (.txt), or a column of a CSV/TSV/JSONL/Parquet table; COLD's test.csv is "
                             "recognised (its safe rows)")
    parser.add_argument("--prevalence", type=float, default=ASSUMED_PREVALENCE,
                        help="assumed share of violating utterances for the precision estimate (default 0.03)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="seed of resampling and perturbations (default 13)")
    parser.add_argument("--no-mask", action="store_true",
                        help="INTERNAL USE: leave personal data unmasked in errors.csv (recorded in its pii_masking "
                             "column and in metrics.json)")
    args = parser.parse_args(argv)
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    if not 0 < args.prevalence < 1:
        parser.error("--prevalence must be between 0 and 1")
    metrics, errors = evaluate(args.model, args.data, args.compare, args.false_alarm_data, args.bootstrap,
                               args.seed, mask=not args.no_mask, prevalence=args.prevalence)
    write_outputs(metrics, errors, args.out)
    overall = metrics["overall"]
    print(f"wrote {args.out}: {metrics['n']} rows, macro-F1 {overall['macro_f1']:.3f} "
          f"[{overall['macro_f1_ci'][0]:.3f}, {overall['macro_f1_ci'][1]:.3f}], any-violation F1 "
          f"{overall['any_violation']['f1']:.3f}, {len(errors)} misclassified rows")
    return 0
