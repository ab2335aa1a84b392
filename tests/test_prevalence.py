"""Prevalence estimation: estimators on cases with known answers, intervals, the command and the simulation."""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.classifier import Classifier
from collectguard.inference.modeldir import HELDOUT_FILE
from collectguard.inference.prevalence.estimators import call_share, estimate, heldout_rates, joint_adjust, joint_rates
from collectguard.inference.prevalence.measure import Scored, heldout_rates_all, measure_group
from collectguard.inference.records import load_labelled

FIXTURES = Path(__file__).parent / "fixtures"
TEST_SPLIT = Path(__file__).parent.parent / "data" / "splits" / "test.jsonl"


def point(weights_len: int) -> np.ndarray:
    return np.ones((1, weights_len))


def known_case():
    """Held-out: tpr 0.8, fpr 0.1, mean probability 0.7 on positives and 0.2 on negatives.
    Corpus: 100 rows, 20 positive (16 flagged), 80 negative (8 flagged), mean probability 0.3."""
    truth = np.r_[np.ones(10), np.zeros(10)].astype(bool)
    decision = np.r_[np.ones(8), np.zeros(2), np.ones(1), np.zeros(9)].astype(bool)
    score = np.r_[np.full(10, 0.7), np.full(10, 0.2)]
    corpus_decision = np.r_[np.ones(16), np.zeros(4), np.ones(8), np.zeros(72)].astype(bool)
    corpus_score = np.r_[np.full(20, 0.7), np.full(80, 0.2)]
    return heldout_rates(point(20), truth, score, decision), corpus_score, corpus_decision


def test_known_rates_give_cc_024_and_acc_recovers_02():
    rates, score, decision = known_case()
    assert rates.tpr[0] == pytest.approx(0.8) and rates.fpr[0] == pytest.approx(0.1)
    result = estimate(point(100), score, decision, rates)
    assert result["cc"][0][0] == pytest.approx(0.24)
    assert result["acc"][0][0] == pytest.approx(0.2)
    assert result["pcc"][0][0] == pytest.approx(0.3)
    assert result["pacc"][0][0] == pytest.approx(0.2)
    assert not result["acc"][1][0] and not result["pacc"][1][0]


def test_estimate_below_false_alarm_rate_is_clipped_and_flagged():
    rates, score, _ = known_case()
    decision = np.r_[np.ones(5), np.zeros(95)].astype(bool)  # 5 % flagged < fpr 10 %
    value, clipped = estimate(point(100), score, decision, rates)["acc"]
    assert value[0] == 0.0 and clipped[0]


def synthetic_scores(rng, truth, prior):
    """Posteriors calibrated for ``prior``: classes N(+1, 1) and N(-1, 1)."""
    x = np.where(truth, rng.normal(1, 1, len(truth)), rng.normal(-1, 1, len(truth)))
    odds = np.exp(2 * x) * prior / (1 - prior)
    return odds / (1 + odds)


def test_emq_recovers_a_shifted_prior():
    rng = np.random.default_rng(0)
    held_truth = rng.random(4000) < 0.5
    held_score = synthetic_scores(rng, held_truth, 0.5)
    rates = heldout_rates(point(4000), held_truth, held_score, held_score >= 0.5)
    corpus_truth = rng.random(20000) < 0.1
    corpus_score = synthetic_scores(rng, corpus_truth, 0.5)
    result = estimate(point(20000), corpus_score, corpus_score >= 0.5, rates)
    assert abs(result["emq"][0][0] - corpus_truth.mean()) < 0.015
    assert abs(result["pcc"][0][0] - corpus_truth.mean()) > 0.08  # the naive mean is far off


def test_joint_adjustment_removes_cross_label_false_alarms():
    """Label 0's flag fires on 40 % more of label-1 rows (additively); held-out is rich in label 1,
    the corpus is not."""
    rng = np.random.default_rng(1)

    def rows(n, p):
        truth = rng.random((n, 4)) < np.array([p[0], p[1], 0.1, 0.1])
        flag0 = rng.random(n) < 0.02 + 0.55 * truth[:, 0] + 0.4 * truth[:, 1]
        flags = np.column_stack([flag0, truth[:, 1:] & (rng.random((n, 3)) < 0.9)])
        return truth, flags

    held_truth, held_flags = rows(30000, (0.3, 0.5))
    corpus_truth, corpus_flags = rows(20000, (0.05, 0.02))
    joint = joint_rates(point(30000), held_truth, held_flags.astype(float))
    joint_value = joint_adjust(corpus_flags.mean(axis=0)[None, :], joint)[0, 0]
    binary = heldout_rates(point(30000), held_truth[:, 0], held_flags[:, 0].astype(float), held_flags[:, 0])
    binary_value = estimate(point(20000), corpus_flags[:, 0].astype(float), corpus_flags[:, 0], binary)["acc"][0][0]
    true_value = corpus_truth[:, 0].mean()
    assert abs(joint_value - true_value) < 0.01
    assert abs(binary_value - true_value) > 2 * abs(joint_value - true_value)


def test_call_share_multiplies_utterance_probabilities():
    probs = np.array([0.5, 0.5, 0.1])  # call 0: two utterances, call 1: one
    assert call_share(np.ones((1, 2)), probs, np.array([0, 2]))[0] == pytest.approx((0.75 + 0.1) / 2)


def interval_width(heldout_size: int) -> float:
    rng = np.random.default_rng(2)
    truth = rng.random((heldout_size, 4)) < 0.3
    probs = np.where(truth, rng.beta(5, 2, truth.shape), rng.beta(2, 5, truth.shape))
    rates = heldout_rates_all(Scored.from_probs(probs, [0.5] * 4, truth), 200, seed=3)
    corpus_rng = np.random.default_rng(4)  # the same corpus for every held-out size
    corpus_truth = corpus_rng.random((1500, 4)) < 0.1
    shape = corpus_truth.shape
    corpus = np.where(corpus_truth, corpus_rng.beta(5, 2, shape), corpus_rng.beta(2, 5, shape))
    rows, _ = measure_group("all", Scored.from_probs(corpus, [0.5] * 4), None, rates, 200,
                            np.random.default_rng(5), min_size=30)
    acc = next(r for r in rows if r["label"] == "threat" and r["method"] == "acc")
    return acc["ci_high"] - acc["ci_low"]


def test_interval_widens_when_the_heldout_set_is_smaller():
    assert interval_width(60) > 1.5 * interval_width(3000)


# --- the command -----------------------------------------------------------------------------------

def scored_frame(model_dir) -> pd.DataFrame:
    rows = load_labelled(*(FIXTURES / f"mini_{split}.jsonl" for split in ("train", "dev", "test")))
    frame = pd.DataFrame({"id": [r.id for r in rows], "text": [r.text for r in rows]})
    frame = pd.concat([frame, Classifier.from_pretrained(model_dir).predict(frame["text"]).drop(columns="compliant")], axis=1)
    frame["call_id"] = [f"c{i // 4}" for i in range(len(frame))]
    frame["agency"] = np.where(np.arange(len(frame)) < 20, "小", "大")  # 20 rows: too small
    frame["month"] = np.where(np.arange(len(frame)) % 2, "2026-08", "2026-07")
    frame["status"] = "ok"
    return frame


@pytest.fixture(scope="module")
def scored(baseline_model, tmp_path_factory):
    model_dir, _ = baseline_model
    frame = scored_frame(model_dir)
    path = tmp_path_factory.mktemp("scored") / "scored.parquet"
    frame.to_parquet(path)
    return model_dir, frame, path


def run_cli(args) -> int:
    return main(["prevalence", *map(str, args)])


def test_prevalence_by_group_keeps_small_groups_and_marks_empty_ones(scored, tmp_path):
    model_dir, frame, _ = scored
    frame = frame.copy()
    frame.loc[frame.index[-8:], "agency"] = "空"
    frame.loc[frame.index[-8:], "status"] = "empty_text"
    frame.loc[frame.index[-8:], ["prob_threat", "prob_insult", "prob_deception", "prob_privacy"]] = np.nan
    frame.loc[frame.index[-8:], "pred_labels"] = None
    path = tmp_path / "scored.jsonl"
    frame.to_json(path, orient="records", lines=True, force_ascii=False)
    out = tmp_path / "report"
    assert run_cli(["--scores", path, "--model", model_dir, "--out", out, "--by", "agency", "--bootstrap", 50]) == 0
    table = pd.read_csv(out / "prevalence.csv", keep_default_na=False)
    sizes = table.groupby("group")["n"].first().to_dict()
    assert sizes == {"all": len(frame) - 8, "agency=小": 20, "agency=大": len(frame) - 28, "agency=空": 0}
    assert (table.loc[table["group"] == "agency=小", "flag"].str.contains("too_small")).all()
    assert not table.loc[table["group"] == "agency=大", "flag"].str.contains("too_small").any()
    assert (table.loc[table["group"] == "agency=空", "flag"] == "empty").all()
    assert set(table["label"]) == {"threat", "insult", "deception", "privacy", "any"}
    assert {"cc", "acc", "pcc", "pacc", "emq"} <= set(table["method"])
    calls = pd.read_csv(out / "calls.csv")
    assert calls.loc[calls["group"] == "all", "n"].iat[0] == frame.loc[frame["status"] == "ok", "call_id"].nunique()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.count("agency=小") >= 1
    assert "Warning: no audit of this corpus" in report and "Error rates transfer" in report
    assert (out / "by_group.png").stat().st_size > 0


def test_csv_with_pipe_separated_labels_gives_the_parquet_estimates(scored, tmp_path):
    model_dir, frame, parquet = scored
    csv = tmp_path / "scored.csv"
    frame.assign(pred_labels=frame["pred_labels"].map("|".join)).to_csv(csv, index=False)
    tables = []
    for path in (parquet, csv):
        out = tmp_path / path.suffix[1:]
        assert run_cli(["--scores", path, "--model", model_dir, "--out", out, "--by", "agency", "--by", "month",
                        "--bootstrap", 20]) == 0
        tables.append(pd.read_csv(out / "prevalence.csv"))
    assert "agency=大|month=2026-08" in set(tables[1]["group"])
    assert np.allclose(tables[0]["estimate"], tables[1]["estimate"], equal_nan=True)


def test_missing_probability_columns_is_an_error_naming_file_and_columns(scored, tmp_path, capsys):
    model_dir, frame, _ = scored
    path = tmp_path / "bad.csv"
    frame.drop(columns=["prob_insult", "prob_privacy"]).to_csv(path, index=False)
    assert run_cli(["--scores", path, "--model", model_dir, "--out", tmp_path / "r"]) == 2
    error = capsys.readouterr().err
    assert str(path) in error and "prob_insult" in error and "prob_privacy" in error
    assert "Traceback" not in error


def test_missing_group_column_is_an_error_naming_it(scored, tmp_path, capsys):
    model_dir, _, path = scored
    assert run_cli(["--scores", path, "--model", model_dir, "--out", tmp_path / "r", "--by", "agency", "--by", "region"]) == 2
    assert "'region'" in capsys.readouterr().err


def test_model_without_heldout_predictions_needs_labelled_rows(scored, tmp_path, capsys):
    model_dir, _, path = scored
    bare = tmp_path / "model"
    shutil.copytree(model_dir, bare)
    (bare / HELDOUT_FILE).unlink()
    assert run_cli(["--scores", path, "--model", bare, "--out", tmp_path / "r"]) == 2
    error = capsys.readouterr().err
    assert HELDOUT_FILE in error and "--labelled" in error
    assert run_cli(["--scores", path, "--model", bare, "--out", tmp_path / "r", "--bootstrap", 20,
                    "--labelled", FIXTURES / "mini_test.jsonl"]) == 0


def test_scores_from_another_model_are_refused(scored, tmp_path, capsys):
    model_dir, frame, _ = scored
    path = tmp_path / "other.parquet"
    frame.assign(pred_labels=[["threat"]] * len(frame)).to_parquet(path)
    assert run_cli(["--scores", path, "--model", model_dir, "--out", tmp_path / "r"]) == 2
    assert "pred_labels" in capsys.readouterr().err


def test_small_simulation_corrects_the_naive_count(baseline_model):
    from collectguard.inference.prevalence.sim import SCENARIOS, draw_corpus, population, simulate

    model_dir, _ = baseline_model
    classifier = Classifier.from_pretrained(model_dir)
    rows = load_labelled(TEST_SPLIT)
    truth = np.array([[label in r.labels for label in ("threat", "insult", "deception", "privacy")] for r in rows])
    probs = classifier.predict_proba([r.text for r in rows])
    results = simulate(truth, probs, classifier.thresholds, {"1%": SCENARIOS["1%"]}, reps=6, n_boot=30)
    utterance = results[results["level"] == "utterance"]
    bias = (utterance["estimate"] - utterance["truth"]).groupby(utterance["method"]).mean().abs()
    assert bias["acc_joint"] < bias["cc"] / 2
    assert bias["emq"] < bias["cc"] / 2
    assert len(results) == 6 * (5 * 7 + 5 * 3)
    # a corpus uses every labelled text at most once, as many as the pool allows at the prevalence
    rng = np.random.default_rng(0)
    hot, cold, inclusion = population(truth.astype(bool), SCENARIOS["5%"])
    drawn, calls, hot_calls = draw_corpus(rng, hot, cold, inclusion)
    assert len(np.unique(drawn)) == len(drawn) and inclusion.max() == pytest.approx(1.0)
    assert np.all(np.diff(calls) >= 0) and len(hot_calls) == calls.max() + 1
    assert np.bincount(calls).max() <= 10


def test_group_names_with_personal_data_are_masked_in_the_report(scored, tmp_path):
    model_dir, frame, _ = scored
    frame = frame.assign(agent=["王女士 13812345678"] * 20 + ["小组B"] * (len(frame) - 20))
    path = tmp_path / "scored.jsonl"
    frame.to_json(path, orient="records", lines=True, force_ascii=False)
    out = tmp_path / "report"
    assert run_cli(["--scores", path, "--model", model_dir, "--out", out, "--by", "agent", "--bootstrap", 20]) == 0
    groups = set(pd.read_csv(out / "prevalence.csv")["group"])
    assert groups == {"all", "agent=[姓名]女士 [电话]", "agent=小组B"}
    assert "13812345678" not in (out / "report.md").read_text(encoding="utf-8")
