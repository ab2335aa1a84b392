"""``collectguard evaluate --model DIR --data FILE... --out REPORT_DIR [--compare DIR2]
[--false-alarm-data CSV] [--bootstrap 1000] [--seed 13]``: evaluate a model directory on labelled data.

REPORT_DIR gets ``metrics.json`` (everything), ``report.md`` (tables and plots), ``errors.csv`` (every
row whose predicted labels differ from the true ones) and PNG plots. Predictions come only from
``Classifier.from_pretrained(DIR)`` (``predict_proba`` then ``decide``), the code that ships; labelled data only
from ``inference.records.load_labelled``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from collectguard.inference.bootstrap import LEVEL, attach_cis, bootstrap_cis, bootstrap_rate, paired_bootstrap
from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import COMPLIANT, VIOLATIONS
from collectguard.inference.modeldir import ModelDirectoryError
from collectguard.inference.records import LabelledDataError, load_labelled, to_frame
from collectguard.inference.textio import EncodingError

from .metrics import binary_metrics, cooccurrence, expected_calibration_error, multilabel_metrics, reliability_bins
from .perturb import PERTURBATIONS, perturb
from .report import write_report
from .train import predict_labelled

THRESHOLD_GRID = tuple(round(0.1 * i, 1) for i in range(1, 10))
LENGTH_BUCKETS = ((10, "<10"), (30, "10-29"), (60, "30-59"), (math.inf, "60+"))  # (exclusive upper, name)
SLICE_COLUMNS = ("style", "script", "speaker", "length_bucket")
FALSE_ALARM_COLUMNS = ("label", "fine-grained-label", "TEXT")
NAN = float("nan")


class EvaluationInputError(ValueError):
    """An input the evaluation cannot use; the message names the option, file and column."""


def length_bucket(length: int) -> str:
    return next(name for upper, name in LENGTH_BUCKETS if length < upper)


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


def read_false_alarm_csv(path: str | Path) -> pd.DataFrame:
    """A COLD-style CSV (UTF-8, BOM allowed) with integer ``label`` and ``fine-grained-label`` and ``TEXT``."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(f"--false-alarm-data {path}: no such file")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise EvaluationInputError(f"--false-alarm-data {path}: not a readable UTF-8 CSV ({exc})") from None
    for column in FALSE_ALARM_COLUMNS:
        if column not in frame.columns:
            raise EvaluationInputError(f"--false-alarm-data {path}: no column {column!r} (needs "
                                       f"{', '.join(FALSE_ALARM_COLUMNS)}; has {', '.join(map(str, frame.columns))})")
    for column in FALSE_ALARM_COLUMNS[:2]:
        if not pd.api.types.is_integer_dtype(frame[column]):
            raise EvaluationInputError(f"--false-alarm-data {path}: column {column!r} must hold integers")
    return frame.assign(TEXT=frame["TEXT"].fillna("").astype(str))


def flag_rates(flags, n_bootstrap: int, seed: int) -> dict:
    """Share of rows flagged with any violation (with a bootstrap CI) and with each label."""
    flags = np.asarray(flags, dtype=bool)
    rate = (lambda column: float(column.mean()) if len(column) else NAN)
    return {"n": int(len(flags)), "flagged": int(flags.any(axis=1).sum()), "any_violation_rate": rate(flags.any(axis=1)),
            "any_violation_rate_ci": bootstrap_rate(flags.any(axis=1), n_bootstrap, seed),
            "per_label_rate": {label: rate(flags[:, k]) for k, label in enumerate(VIOLATIONS)}}


def false_alarm_rates(frame: pd.DataFrame, flags, n_bootstrap: int, seed: int) -> dict:
    """Flag rates of the safe rows (label 0), of the anti-bias rows (fine-grained 3), and the insult
    rate of the rows attacking an individual (fine-grained 1; indicative of insult recall only)."""
    flags = np.asarray(flags, dtype=bool)
    safe, anti_bias = (frame["label"] == 0).to_numpy(), (frame["fine-grained-label"] == 3).to_numpy()
    individual = flag_rates(flags[(frame["fine-grained-label"] == 1).to_numpy()], n_bootstrap, seed)
    return {"safe": flag_rates(flags[safe], n_bootstrap, seed), "anti_bias": flag_rates(flags[anti_bias], n_bootstrap, seed),
            "individual_attack": {"n": individual["n"], "insult_rate": individual["per_label_rate"]["insult"],
                                  "any_violation_rate": individual["any_violation_rate"]}}


def false_alarm(classifier: Classifier, path: str | Path, n_bootstrap: int, seed: int) -> dict:
    frame = read_false_alarm_csv(path)
    frame = frame[(frame["label"] == 0) | frame["fine-grained-label"].isin([1, 3])].reset_index(drop=True)
    flags = classifier.decide(classifier.predict_proba(frame["TEXT"].tolist()))
    return {"path": str(path), **false_alarm_rates(frame, flags, n_bootstrap, seed)}


def label_names(matrix) -> list[str]:
    """Each row's labels joined with ``|``, ``compliant`` for none (the CSV convention)."""
    return ["|".join(v for v, on in zip(VIOLATIONS, row) if on) or COMPLIANT for row in np.asarray(matrix, dtype=bool)]


def error_rows(frame: pd.DataFrame, truth, probs, decisions) -> pd.DataFrame:
    """Every row whose predicted labels differ from its true labels, with ``error_<label>`` fp/fn/''."""
    truth, decisions = np.asarray(truth, dtype=bool), np.asarray(decisions, dtype=bool)
    wrong = (truth != decisions).any(axis=1)
    out = frame.loc[wrong, ["id", "text"]].reset_index(drop=True)
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


def check_inputs(model_dir, data_paths, compare_dir=None, false_alarm_csv=None) -> None:
    for option, directory in (("--model", model_dir), ("--compare", compare_dir)):
        if directory is not None and not Path(directory).is_dir():
            raise EvaluationInputError(f"{option} {directory}: no such model directory")
    for option, path in [*(("--data", p) for p in data_paths), ("--false-alarm-data", false_alarm_csv)]:
        if path is not None and not Path(path).is_file():
            raise EvaluationInputError(f"{option} {path}: no such file")


def evaluate(model_dir, data_paths: Sequence, compare_dir=None, false_alarm_csv=None,
             n_bootstrap: int = 1000, seed: int = 13) -> tuple[dict, pd.DataFrame]:
    """The content of ``metrics.json`` and the errors table for ``model_dir`` on ``data_paths``."""
    check_inputs(model_dir, data_paths, compare_dir, false_alarm_csv)
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
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "level": LEVEL},
        "overall": overall,
        "confusion": {"per_label": confusion_matrices(overall),
                      "cooccurrence": cooccurrence(truth, decisions).to_dict(orient="index")},
        "calibration": calibration(truth, probs),
        "thresholds": threshold_sweep(truth, probs, classifier.thresholds),
        "slices": slice_metrics(frame, truth, decisions),
        "robustness": robustness(classifier, texts, truth, decisions, overall, seed),
    }
    if false_alarm_csv is not None:
        metrics["false_alarm"] = false_alarm(classifier, false_alarm_csv, n_bootstrap, seed)
    if compare_dir is not None:
        metrics["compare"] = compare_models(compare_dir, texts, truth, decisions, n_bootstrap, seed)
    return metrics, error_rows(frame, truth, probs, decisions)


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
    parser.add_argument("--false-alarm-data", type=Path,
                        help="COLD-style CSV (label, fine-grained-label, TEXT), e.g. ../shared/external/COLD/test.csv")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="seed of resampling and perturbations (default 13)")
    args = parser.parse_args(argv)
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    try:
        metrics, errors = evaluate(args.model, args.data, args.compare, args.false_alarm_data, args.bootstrap, args.seed)
        write_outputs(metrics, errors, args.out)
    except (EvaluationInputError, ModelDirectoryError, LabelledDataError, EncodingError) as exc:
        print(f"collectguard evaluate: {exc}", file=sys.stderr)
        return 2
    overall = metrics["overall"]
    print(f"wrote {args.out}: {metrics['n']} rows, macro-F1 {overall['macro_f1']:.3f} "
          f"[{overall['macro_f1_ci'][0]:.3f}, {overall['macro_f1_ci'][1]:.3f}], any-violation F1 "
          f"{overall['any_violation']['f1']:.3f}, {len(errors)} misclassified rows")
    return 0
