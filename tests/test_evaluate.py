"""``collectguard evaluate``: the report files and the numbers in them."""
import json

import numpy as np
import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.bootstrap import (
    bootstrap_cis,
    metric_samples,
    paired_bootstrap,
    resample_counts,
    sign_flip_p_value,
)
from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS, to_multi_hot
from collectguard.inference.records import length_bucket, load_labelled
from collectguard.training.false_alarms import flag_rates, precision_at
from collectguard.training.metrics import cooccurrence, expected_calibration_error, multilabel_metrics, reliability_bins
from collectguard.training.perturb import PERTURBATIONS

from .conftest import FIXTURES

DATA = [FIXTURES / "mini_test.jsonl", FIXTURES / "mini_dev.jsonl"]
PLOTS = ("reliability.png", "threshold_f1.png", "slices.png", "robustness.png")
# A small COLD-style file: BOM, extra columns, label 0 safe / 1 offensive, fine-grained 0-3.
FALSE_ALARM_ROWS = [
    (0, 0, "今天天气不错，我们去公园散步吧"), (0, 0, "这家店的面很好吃"), (0, 3, "地域歧视是不对的，每个地方都有好人"),
    (0, 3, "不应该因为性别看不起别人"), (1, 1, "你这个废物，滚"), (1, 2, "那个地方的人都不行"),
    (0, 0, "再不还钱就去你家找你"), (1, 1, "垃圾东西，脑子有病"),
]


def write_false_alarm_csv(path, rows=FALSE_ALARM_ROWS, text_column="TEXT"):
    frame = pd.DataFrame([(i, "test", "race", *row) for i, row in enumerate(rows)],
                         columns=["", "split", "topic", "label", "fine-grained-label", text_column])
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


PLAIN_TEXTS = ["明天你干嘛？陪我去买手机？", "恐龙是什么动物", "借呗额度咋还不够", "再不还钱就去你家找你，我的电话13912345678"]


@pytest.fixture(scope="module")
def report(baseline_model, tiny_model, tmp_path_factory):
    """One full run: baseline on mini test+dev, compared with the tiny BERT, with two false-alarm files:
    a COLD-style CSV and plain text (one per line)."""
    tmp = tmp_path_factory.mktemp("evaluate")
    out, csv, txt = tmp / "report", write_false_alarm_csv(tmp / "cold.csv"), tmp / "plain.txt"
    txt.write_text("\n".join(PLAIN_TEXTS) + "\n\n", encoding="utf-8")
    rc = main(["evaluate", "--model", str(baseline_model[0]), "--data", *map(str, DATA), "--out", str(out),
               "--compare", str(tiny_model[0]), "--false-alarm-data", str(csv), "--false-alarm-data", str(txt),
               "--bootstrap", "300"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return out, metrics, baseline_model[0], csv


@pytest.fixture(scope="module")
def shipped(report):
    """Truth and decisions computed here, independently, through the shipping Classifier."""
    _, _, model_dir, _ = report
    rows = load_labelled(*DATA)
    classifier = Classifier.from_pretrained(model_dir)
    probs = classifier.predict_proba([r.text for r in rows])
    return rows, np.array([to_multi_hot(r.labels) for r in rows]), classifier.decide(probs), probs


def test_report_files_exist_and_read_well(report):
    out, metrics, _, _ = report
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / name).stat().st_size > 10_000
    text = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Per label", "## Confusion", "## Calibration", "## Thresholds", "## Slices", "## Robustness",
                    "## Real text: false alarms", "## Comparison"):
        assert heading in text
    assert f"| macro F1 | {metrics['overall']['macro_f1']:.3f} |" in text
    assert "NaN" not in (out / "metrics.json").read_text()  # strict JSON: undefined metrics are null


def test_point_metrics_are_those_of_the_shipping_classifier(report, shipped):
    _, metrics, _, _ = report
    _, truth, decisions, probs = shipped
    expected = multilabel_metrics(truth, decisions, probs)
    overall = metrics["overall"]
    assert overall["n"] == len(truth) == metrics["n"]
    assert overall["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert overall["any_violation"]["roc_auc"] == pytest.approx(expected["any_violation"]["roc_auc"])
    for label in VIOLATIONS:
        assert overall["per_label"][label]["f1"] == pytest.approx(expected["per_label"][label]["f1"])
        assert metrics["thresholds"][label]["f1_at_stored"] == pytest.approx(expected["per_label"][label]["f1"])
    tn, fp, fn, tp = (expected["per_label"]["threat"][k] for k in ("tn", "fp", "fn", "tp"))
    assert metrics["confusion"]["per_label"]["threat"] == [[tn, fp], [fn, tp]]
    co = pd.DataFrame(metrics["confusion"]["cooccurrence"]).T
    both_compliant = ((truth.sum(axis=1) == 0) & ~decisions.any(axis=1)).sum()
    assert co.loc["threat", "threat"] == tp and co.loc["compliant", "compliant"] == both_compliant


def test_confidence_intervals_contain_the_point_estimate(report):
    overall = report[1]["overall"]
    checked = [(overall["macro_f1"], overall["macro_f1_ci"]), (overall["micro_f1"], overall["micro_f1_ci"]),
               (overall["any_violation"]["f1"], overall["any_violation"]["f1_ci"])]
    checked += [(m[k], m[f"{k}_ci"]) for m in overall["per_label"].values() for k in ("precision", "recall", "f1")]
    for value, (low, high) in checked:
        assert low <= value <= high
        assert low < high or value in (0.0, 1.0)  # a degenerate interval only at a bound


def test_bootstrap_ci_narrows_with_more_rows():
    rng = np.random.default_rng(0)
    y_true = rng.random((60, 4)) < 0.4
    y_pred = y_true ^ (rng.random((60, 4)) < 0.2)
    point = multilabel_metrics(y_true, y_pred)["macro_f1"]
    small = bootstrap_cis(y_true, y_pred, 500, seed=1)["macro_f1"]
    large = bootstrap_cis(np.tile(y_true, (10, 1)), np.tile(y_pred, (10, 1)), 500, seed=1)["macro_f1"]
    assert small[0] < point < small[1] and large[0] < point < large[1]
    assert large[1] - large[0] < 0.6 * (small[1] - small[0])  # about 1/sqrt(10) of the width


def test_vectorised_bootstrap_metrics_match_scikit_learn_on_all_rows():
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.random((40, 4)) < 0.3, rng.random((40, 4)) < 0.3
    y_pred[:, 3] = False  # a label never predicted: F1 0 by the zero_division=0 convention
    samples = metric_samples(y_true, y_pred, np.ones((1, 40), dtype=int))
    expected = multilabel_metrics(y_true, y_pred)
    assert samples["macro_f1"][0] == pytest.approx(expected["macro_f1"])
    assert samples["micro_f1"][0] == pytest.approx(expected["micro_f1"])
    assert samples["any_violation.recall"][0] == pytest.approx(expected["any_violation"]["recall"])
    assert samples["exact_match"][0] == pytest.approx(expected["exact_match"])
    for label in VIOLATIONS:
        assert samples[f"{label}.precision"][0] == pytest.approx(expected["per_label"][label]["precision"])
    counts = resample_counts(40, 7, seed=2)
    assert counts.shape == (7, 40) and (counts.sum(axis=1) == 40).all()


def test_ece_matches_hand_computation():
    truth = np.array([0, 1, 0, 1, 1, 0, 1])
    prob = np.array([0.05, 0.15, 0.12, 0.95, 0.85, 0.91, 1.0])
    # bins: [0,.1): .05 (pos 0); [.1,.2): .15 .12 (pos 1/2); [.8,.9): .85 (pos 1); [.9,1]: .95 .91 1.0 (pos 2/3)
    by_hand = (0.05 + 2 * abs(0.5 - 0.135) + 0.15 + 3 * abs(2 / 3 - (0.95 + 0.91 + 1.0) / 3)) / 7
    assert expected_calibration_error(truth, prob) == pytest.approx(by_hand)
    assert [b["count"] for b in reliability_bins(truth, prob)] == [1, 2, 0, 0, 0, 0, 0, 0, 1, 3]
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0


def test_cooccurrence_matches_constructed_example():
    y_true = np.array([[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    y_pred = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    table = cooccurrence(y_true, y_pred)
    expected = pd.DataFrame(0, index=table.index, columns=table.columns)
    for true, pred in [("threat", "threat"), ("privacy", "threat"), ("compliant", "deception"),
                       ("insult", "compliant"), ("compliant", "compliant")]:
        expected.loc[true, pred] = 1
    pd.testing.assert_frame_equal(table, expected)


def test_paired_bootstrap_of_a_model_against_itself(report):
    _, metrics, _, _ = report
    y = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]] * 10)
    same = paired_bootstrap(y, y ^ (np.arange(40) % 3 == 0)[:, None], y ^ (np.arange(40) % 3 == 0)[:, None], 200)
    assert all(d["difference"] == 0 and d["mean_difference"] == 0 and d["ci"] == [0, 0] and d["p_value"] == 1
               for d in same.values())
    # a clearly better model: positive difference, CI above 0, small p-value
    worse = y.copy()
    worse[:, 0] = 0
    better = paired_bootstrap(y, y, worse, 500)
    assert better["threat.f1"]["difference"] == 1.0 and better["threat.f1"]["ci"][0] > 0
    assert better["threat.f1"]["p_value"] < 0.01
    assert sign_flip_p_value(np.array([0.1, -0.1, 0.2, 0.3]), 0.1) == 0.5
    # the CLI's comparison: difference = model - compare, on the same rows
    paired, other = metrics["compare"]["paired"], metrics["compare"]["metrics"]
    assert paired["macro_f1"]["difference"] == pytest.approx(metrics["overall"]["macro_f1"] - other["macro_f1"])
    assert 0 <= paired["macro_f1"]["p_value"] <= 1


def test_compare_with_itself_through_the_cli(baseline_model, tmp_path):
    model = str(baseline_model[0])
    assert main(["evaluate", "--model", model, "--data", str(DATA[0]), "--out", str(tmp_path), "--compare", model,
                 "--bootstrap", "100"]) == 0
    paired = json.loads((tmp_path / "metrics.json").read_text())["compare"]["paired"]
    assert set(paired) == {"macro_f1", "any_violation.f1", *(f"{label}.f1" for label in VIOLATIONS)}
    assert all(d["mean_difference"] == 0 and d["p_value"] == 1 for d in paired.values())


def test_flag_rates_and_precision_match_hand_counts():
    flags = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]], dtype=bool)
    rates = flag_rates(flags, 500, seed=0)
    assert (rates["n"], rates["flagged"], rates["any_violation_rate"]) == (5, 3, pytest.approx(0.6))
    assert rates["per_label_rate"] == pytest.approx({"threat": 0.4, "insult": 0.2, "deception": 0.0, "privacy": 0.2})
    assert rates["any_violation_rate_ci"][0] <= 0.6 <= rates["any_violation_rate_ci"][1]
    # 3% violate, 90% of them found: 0.027 hits; 1% of the other 97% flagged: 0.0097 alarms
    assert precision_at(0.9, 0.01, 0.03) == pytest.approx(0.027 / (0.027 + 0.0097))


def test_false_alarm_section_counts_the_classifier_flags(report):
    out, metrics, model_dir, _ = report
    classifier = Classifier.from_pretrained(model_dir)
    cold, plain = metrics["false_alarm"]
    safe_texts = [text for label, _, text in FALSE_ALARM_ROWS if label == 0]
    flagged = classifier.decide(classifier.predict_proba(safe_texts)).any(axis=1).sum()
    assert cold["kind"] == "COLD safe rows" and (cold["n"], cold["flagged"]) == (5, flagged)
    assert (cold["anti_bias"]["n"], cold["individual_attack"]["n"]) == (2, 2)
    plain_flags = classifier.decide(classifier.predict_proba(PLAIN_TEXTS))
    assert (plain["n"], plain["flagged"]) == (4, plain_flags.any(axis=1).sum())
    recall = metrics["overall"]["any_violation"]["recall"]
    assert plain["precision_at_prevalence"] == pytest.approx(precision_at(recall, plain["any_violation_rate"], 0.03))
    assert len(plain["top_flagged"]) == plain["flagged"]
    assert not any("13912345678" in row["text"] for row in plain["top_flagged"])  # masked
    assert "Most confident false alarms: `plain.txt`" in (out / "report.md").read_text(encoding="utf-8") \
        or plain["flagged"] == 0


def test_errors_csv_has_exactly_the_misclassified_rows(report, shipped):
    out = report[0]
    rows, truth, decisions, probs = shipped
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    wrong = (truth.astype(bool) != decisions).any(axis=1)
    assert 0 < wrong.sum() < len(rows)
    assert errors["id"].tolist() == [r.id for r, w in zip(rows, wrong) if w]
    by_id = {r.id: k for k, r in enumerate(rows)}
    for _, error in errors.iterrows():
        k = by_id[error["id"]]
        assert error["true_labels"] == ("|".join(v for v in VIOLATIONS if v in rows[k].labels) or "compliant")
        for j, label in enumerate(VIOLATIONS):
            kind = "fp" if decisions[k, j] and not truth[k, j] else "fn" if truth[k, j] and not decisions[k, j] else ""
            assert error[f"error_{label}"] == kind
        assert float(error["prob_threat"]) == pytest.approx(probs[k, 0], abs=1e-4)
    assert {"text", "pred_labels", "style", "script", "speaker", "length"} <= set(errors.columns)


def test_slices_and_robustness_cover_every_row_and_perturbation(report):
    metrics = report[1]
    for column, values in metrics["slices"].items():
        assert sum(v["n"] for v in values.values()) == metrics["n"], column
    assert list(metrics["slices"]["length_bucket"]) == [b for b in ("<10", "10-29", "30-59", "60-99", "100+")
                                                        if b in metrics["slices"]["length_bucket"]]
    assert [length_bucket(n) for n in (1, 9, 10, 29, 30, 59, 60, 99, 100, 500)] == \
        ["<10", "<10", "10-29", "10-29", "30-59", "30-59", "60-99", "60-99", "100+", "100+"]
    assert set(metrics["robustness"]) == set(PERTURBATIONS)
    base = metrics["overall"]["macro_f1"]
    for result in metrics["robustness"].values():
        assert result["macro_f1_drop"] == pytest.approx(base - result["macro_f1"])
    assert metrics["robustness"]["no_punctuation"]["texts_changed"] > 0.5


def test_missing_column_in_false_alarm_csv_is_a_clear_error(baseline_model, tmp_path, capsys):
    csv = write_false_alarm_csv(tmp_path / "cold.csv", text_column="content")
    rc = main(["evaluate", "--model", str(baseline_model[0]), "--data", str(DATA[0]), "--out", str(tmp_path / "out"),
               "--false-alarm-data", str(csv)])
    err = capsys.readouterr().err
    assert rc == 2 and str(csv) in err and "no column 'text'" in err and "::COLUMN" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case, message", [
    ("model", "--model {tmp}/no-model: no such model directory"),
    ("data", "--data {tmp}/missing.jsonl: no such file"),
    ("schema", "bad.jsonl:1: labels: unknown label(s) ['threats']"),
])
def test_bad_input_exits_2_with_a_message(baseline_model, tmp_path, capsys, case, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "text": "还钱", "labels": ["threats"], "speaker": "agent",
                               "style": "clean", "script": "simplified"}) + "\n", encoding="utf-8")
    model = tmp_path / "no-model" if case == "model" else baseline_model[0]
    data = {"model": DATA[0], "data": tmp_path / "missing.jsonl", "schema": bad}[case]
    rc = main(["evaluate", "--model", str(model), "--data", str(data), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and message.format(tmp=tmp_path) in err and "Traceback" not in err
