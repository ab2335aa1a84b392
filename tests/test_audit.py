"""Audit samples and prediction-powered prevalence: the estimator against ppi_py and known answers,
sampling designs, the audit-sample / prevalence --audit / audit-plan commands and their errors."""
import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.prevalence.audit import Corpus, allocate, draw_audit, matched_from_draw
from collectguard.inference.prevalence.ppi import AuditSample, measure_audit, plan_size, ppi_mean

LABELS4 = ("threat", "insult", "deception", "privacy")
THRESHOLDS = np.array([0.5, 0.5, 0.5, 0.5])


def srs(y, f, population: int) -> AuditSample:
    """A simple random sample of ``len(y)`` items from ``population``, one item per unit."""
    n = len(y)
    return AuditSample(np.asarray(y, dtype=float), np.asarray(f, dtype=float), np.ones(n, dtype=int),
                       np.zeros(n, dtype=int), np.full(n, population / n), np.array([population]), np.array([n]))


def shifted_corpus(rng, size: int, prevalence: float = 0.05):
    """Labels and a model whose probabilities are informative but miscalibrated (too high), as on a
    corpus unlike its training data: returns (truth (size,), probability (size,))."""
    truth = rng.random(size) < prevalence
    score = np.where(truth, rng.beta(5, 2, size), rng.beta(1.2, 6, size))
    return truth, score


# --- the estimator ----------------------------------------------------------------------------

def test_ppi_matches_ppi_py_on_a_large_corpus():
    ppi_py = pytest.importorskip("ppi_py")
    rng = np.random.default_rng(0)
    truth = rng.random(200_000) < 0.1
    score = (0.5 * truth + 0.8 * rng.random(len(truth))) / 1.3  # noisy: the best lam is about 0.77
    audit = rng.choice(len(truth), 500, replace=False)
    y, f = truth[audit].astype(float), score[audit]
    for tuning, lam in (("plain", 1.0), ("ppi++", None)):
        ours = ppi_mean(srs(y, f, len(truth)), score.mean(), tuning=tuning)
        theirs = ppi_py.ppi_mean_pointestimate(y, f, score, lam=lam)
        low, high = ppi_py.ppi_mean_ci(y, f, score, alpha=0.05, lam=lam)
        assert ours.estimate == pytest.approx(float(np.ravel(theirs)[0]), abs=2e-4)
        # the target here is the corpus's share (no variance from the corpus mean, finite-population
        # correction, Student's t): for an audit of 0.25 % of the corpus the intervals agree within 1 %
        assert ours.ci_high - ours.ci_low == pytest.approx(float(high[0] - low[0]), rel=0.01)
    assert 0.6 < ppi_mean(srs(y, f, len(truth)), score.mean(), tuning="ppi++").lam < 0.95


def test_ppi_is_unbiased_and_covers_where_the_model_is_miscalibrated():
    rng = np.random.default_rng(1)
    truth, score = shifted_corpus(rng, 20_000)
    true_share, estimates, covered, widths = truth.mean(), [], [], []
    for _ in range(400):
        audit = rng.choice(len(truth), 300, replace=False)
        result = ppi_mean(srs(truth[audit], score[audit], len(truth)), score.mean())
        estimates.append(result.estimate)
        covered.append((result.ci_low <= true_share <= result.ci_high, result.classical_low <= true_share
                        <= result.classical_high))
        widths.append((result.ci_high - result.ci_low, result.classical_high - result.classical_low))
    assert abs(score.mean() - true_share) > 0.1  # the model alone is far off
    assert abs(np.mean(estimates) - true_share) < 0.002
    coverage = np.mean(covered, axis=0)
    assert 0.92 <= coverage[0] <= 0.98 and 0.92 <= coverage[1] <= 0.99
    assert np.mean(widths, axis=0)[0] < 0.85 * np.mean(widths, axis=0)[1]  # narrower than the audit alone


def test_audit_without_positives_is_not_a_zero_width_interval():
    rng = np.random.default_rng(2)
    score = rng.beta(1.2, 8, 100)
    result = ppi_mean(srs(np.zeros(100), score, 10_000), score.mean() + 0.01)
    assert result.positives == 0 and result.lam == 1.0  # shrunk to plain PPI, not lam = 0
    assert result.ci_high > result.ci_low + 0.005
    assert result.classical == 0 and result.classical_high == pytest.approx(0.037, abs=0.002)  # Wilson, 0 of 100
    plain = ppi_mean(srs(np.zeros(100), score, 10_000), score.mean(), tuning="ppi++")
    assert plain.lam == 0.0 and plain.ci_high == 0.0  # what the published tuning does here


def test_plan_size_is_the_normal_approximation_with_finite_population_correction():
    assert plan_size(0.25, 0.05, 10**9) == 385
    assert plan_size(0.25, 0.05, 1000) == 278  # 384.1 / (1 + 384.1 / 1000)


def test_allocation_keeps_two_per_stratum_and_caps_at_the_stratum():
    counts = allocate(100, np.array([900.0, 50.0, 10.0]), np.array([900, 50, 3]))
    assert counts.sum() == 100 and counts[2] == 2 and counts[0] > counts[1] >= 2
    assert allocate(20, np.array([1.0, 1.0]), np.array([5, 100])).tolist() == [5, 15]
    with pytest.raises(ValueError, match="too small"):
        allocate(3, np.ones(2), np.array([10, 10]))


# --- designs on a synthetic scored corpus --------------------------------------------------------

def scored_corpus(rng, size: int = 3000, calls: int = 400, negatives=(1.2, 7)):
    """A scored frame (no model needed) and its truth (size, 4): rows in calls, two agencies, some
    rows not scored (customer turns). ``negatives``: beta parameters of the probabilities of rows
    without the label."""
    truth = rng.random((size, 4)) < np.array([0.05, 0.02, 0.04, 0.03])
    probs = np.where(truth, rng.beta(5, 2, truth.shape), rng.beta(*negatives, truth.shape))
    frame = pd.DataFrame(probs, columns=[f"prob_{label}" for label in LABELS4])
    frame["pred_labels"] = [[lb for lb, d in zip(LABELS4, row, strict=True) if d] for row in probs >= THRESHOLDS]
    frame["call_id"] = [f"c{i:04d}" for i in np.sort(rng.integers(0, calls, size))]
    frame["turn"] = frame.groupby("call_id").cumcount() + 1
    frame["agency"] = np.where(frame["call_id"] < "c0100", "甲", "乙")
    frame["text"] = [f"第{i}句话" for i in range(size)]
    frame["status"] = np.where(rng.random(size) < 0.1, "not_scored:speaker", "ok")
    frame.loc[frame["status"] != "ok", [f"prob_{label}" for label in LABELS4]] = np.nan
    frame.loc[frame["status"] != "ok", "pred_labels"] = None
    frame["pred_labels"] = frame["pred_labels"].astype(object)
    return frame, truth


def as_corpus(frame):
    frame = frame.assign(_id=[f"s.parquet:{i}" for i in range(1, len(frame) + 1)])
    return Corpus(frame, (frame["status"] == "ok").to_numpy(), [Path("s.parquet")])


@pytest.mark.parametrize("design", ["simple", "stratified"])
def test_weighted_estimates_are_unbiased_under_either_design(design):
    rng = np.random.default_rng(3)
    frame, truth = scored_corpus(rng, negatives=(1, 40))  # low probabilities off the flagged rows
    corpus = as_corpus(frame)
    ok = corpus.ok
    target = truth[ok].any(axis=1).mean()
    classical, ppi, raw = [], [], []
    for seed in range(150):
        sample, strata = draw_audit(corpus, 200, design=design, seed=seed)
        assert strata["size"].sum() == ok.sum() and strata["sample"].sum() == 200
        matched = matched_from_draw(corpus, sample, strata, truth)
        details = measure_audit(corpus.frame, ok, matched, [], None)[2]
        row = details[(details["group"] == "all") & (details["label"] == "any")].iloc[0]
        classical.append(row["classical"])
        ppi.append(row["estimate"])
        raw.append(truth[matched.row_unit >= 0].any(axis=1).mean())
    assert abs(np.mean(classical) - target) < 0.006 and abs(np.mean(ppi) - target) < 0.006
    if design == "stratified":  # flagged rows are oversampled: the unweighted share is far off
        assert np.mean(raw) - target > 0.02


def test_call_audit_covers_the_share_of_calls_and_of_utterances():
    rng = np.random.default_rng(6)
    frame, truth = scored_corpus(rng, size=4000, calls=500)
    corpus = as_corpus(frame)
    ok = corpus.ok
    has_any = pd.Series(truth[:, :].any(axis=1) & ok).groupby(frame["call_id"]).max()
    true_calls = has_any[frame.loc[ok, "call_id"].unique()].mean()
    true_rows = truth[ok].any(axis=1).mean()
    covered = []
    for seed in range(150):
        sample, strata = draw_audit(corpus, 80, unit="call", seed=seed)
        matched = matched_from_draw(corpus, sample, strata, truth, unit="call", call_col="call_id")
        _, _, details = measure_audit(corpus.frame, ok, matched, [], "call_id")
        rows = details[(details["label"] == "any") & (details["group"] == "all")].set_index("level")
        covered.append([rows.at["call", "ci_low"] <= true_calls <= rows.at["call", "ci_high"],
                        rows.at["utterance", "ci_low"] <= true_rows <= rows.at["utterance", "ci_high"]])
    coverage = np.mean(covered, axis=0)
    assert 0.91 <= coverage[0] <= 0.99 and 0.91 <= coverage[1] <= 0.99


# --- the commands ---------------------------------------------------------------------------------

@pytest.fixture()
def scored_file(tmp_path):
    frame, truth = scored_corpus(np.random.default_rng(4))
    path = tmp_path / "scored.parquet"
    frame.to_parquet(path)
    return path, frame, truth


def fill(audit_path: Path, frame: pd.DataFrame, truth, out: Path) -> pd.DataFrame:
    """The audit file labelled with the truth, as labellers would return it."""
    audit = pd.read_csv(audit_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rows = audit["id"].str.split(":").str[1].astype(int) - 1
    labels = ["|".join(lb for lb, t in zip(LABELS4, truth[r], strict=True) if t) or "compliant" for r in rows]
    audit["labels"] = np.where(audit["labels"] == "-", "-", labels)
    audit.to_csv(out, index=False)
    return audit


def cli(*args) -> int:
    return main([str(a) for a in args])


def test_audit_sample_writes_a_file_to_label_without_predictions(scored_file, tmp_path, capsys):
    path, frame, _ = scored_file
    out = tmp_path / "audit.csv"
    assert cli("audit-sample", "--scores", path, "--n", 120, "--out", out, "--seed", 5) == 0
    audit = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(audit.columns[:4]) == ["id", "text", "labels", "note"]
    assert len(audit) == 120 and (audit["labels"] == "").all() and audit["id"].is_unique
    assert not any(c.startswith(("prob_", "pred_")) for c in audit.columns)  # no anchoring
    ok = int((frame["status"] == "ok").sum())
    assert np.allclose(audit["inclusion_prob"].astype(float), 120 / ok)
    scored_rows = frame.iloc[audit["id"].str.split(":").str[1].astype(int) - 1]
    assert (scored_rows["status"] == "ok").all() and (scored_rows["text"].to_numpy() == audit["text"]).all()
    assert cli("audit-sample", "--scores", path, "--n", 120, "--out", out) == 2  # it may hold labels
    assert "--overwrite" in capsys.readouterr().err
    shown = tmp_path / "shown.csv"
    assert cli("audit-sample", "--scores", path, "--n", 10, "--out", shown, "--show-predictions") == 0
    assert "pred_labels" in pd.read_csv(shown, encoding="utf-8-sig").columns


def test_prevalence_from_a_stratified_audit_by_group(scored_file, tmp_path):
    path, frame, truth = scored_file
    drawn, labelled, report = tmp_path / "audit.csv", tmp_path / "labelled.csv", tmp_path / "report"
    assert cli("audit-sample", "--scores", path, "--n", 300, "--out", drawn, "--design", "stratified",
               "--by", "agency") == 0
    audit = fill(drawn, frame, truth, labelled)
    assert audit["stratum"].nunique() == 8  # 2 agencies x (flagged + 3 score bins)
    assert cli("prevalence", "--scores", path, "--audit", labelled, "--out", report, "--by", "agency") == 0
    table = pd.read_csv(report / "prevalence.csv", keep_default_na=False)
    details = pd.read_csv(report / "audit.csv")
    assert {"ppi", "classical", "cc"} <= set(table["method"])
    assert set(table["group"]) == {"all", "agency=甲", "agency=乙"}
    # the classical estimate is the design-weighted share of the audit's labels
    weights = 1 / audit["inclusion_prob"].astype(float)
    has_threat = audit["labels"].str.contains("threat")
    expected = (weights * has_threat).sum() / weights.sum()
    row = details[(details["group"] == "all") & (details["label"] == "threat") & (details["level"] == "utterance")]
    assert row["classical"].iat[0] == pytest.approx(expected)
    assert row["n_audit"].iat[0] == 300
    ok = frame["status"] == "ok"
    true_any = truth[ok.to_numpy()].any(axis=1).mean()
    any_row = details[(details["group"] == "all") & (details["label"] == "any")].iloc[0]
    assert any_row["ci_low"] <= true_any <= any_row["ci_high"]
    report_text = (report / "report.md").read_text(encoding="utf-8")
    assert "Headline: `ppi`" in report_text and "audit samples utterances" in report_text


def test_call_level_share_from_an_audit_of_calls(scored_file, tmp_path):
    path, frame, truth = scored_file
    drawn, labelled, report = tmp_path / "calls.csv", tmp_path / "labelled.csv", tmp_path / "report"
    assert cli("audit-sample", "--scores", path, "--n", 60, "--unit", "call", "--out", drawn) == 0
    audit = fill(drawn, frame, truth, labelled)
    assert audit["unit"].nunique() == 60 and (audit["unit"] == audit["call_id"]).all()
    assert (audit["labels"] == "-").sum() == (frame["call_id"].isin(audit["unit"]) & (frame["status"] != "ok")).sum()
    assert cli("prevalence", "--scores", path, "--audit", labelled, "--out", report) == 0
    calls = pd.read_csv(report / "calls.csv")
    classical = calls[(calls["method"] == "classical") & (calls["label"] == "any")]["estimate"].iat[0]
    scored = audit[audit["labels"] != "-"]
    assert classical == pytest.approx((scored.groupby("unit")["labels"].agg(lambda s: (s != "compliant").any())).mean())


def test_audit_errors_name_file_line_and_column(scored_file, tmp_path, capsys):
    path, frame, truth = scored_file
    drawn, labelled = tmp_path / "audit.csv", tmp_path / "labelled.csv"
    assert cli("audit-sample", "--scores", path, "--n", 50, "--out", drawn) == 0
    fill(drawn, frame, truth, labelled)
    rows = list(csv.DictReader(labelled.open(encoding="utf-8")))

    def broken(change, name):
        edited = [dict(r) for r in rows]
        change(edited)
        target = tmp_path / name
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(edited)
        assert cli("prevalence", "--scores", path, "--audit", target, "--out", tmp_path / "r") == 2
        return capsys.readouterr().err

    error = broken(lambda r: r[3].update(labels=""), "unlabelled.csv")
    assert "unlabelled.csv:5" in error and "without labels" in error
    error = broken(lambda r: r[0].update(labels="threat|rude"), "unknown.csv")
    assert "unknown.csv:2: labels" in error and "rude" in error
    error = broken(lambda r: r[1].update(text="改过的文字"), "edited.csv")
    assert "edited.csv:3: text" in error
    error = broken(lambda r: r.pop(7), "deleted.csv")
    assert "deleted.csv" in error and "rows were removed" in error
    error = broken(lambda r: r[2].update(id="other.parquet:3", unit="other.parquet:3"), "foreign.csv")
    assert "foreign.csv:4: id" in error
    assert "Traceback" not in error


def test_audit_plan_with_a_pilot_needs_fewer_rows_for_ppi(scored_file, tmp_path, capsys):
    path, frame, truth = scored_file
    drawn, labelled = tmp_path / "pilot.csv", tmp_path / "labelled.csv"
    assert cli("audit-plan", "--scores", path, "--halfwidth", 0.02) == 0
    assert "--pilot" in capsys.readouterr().out
    assert cli("audit-sample", "--scores", path, "--n", 400, "--out", drawn) == 0
    fill(drawn, frame, truth, labelled)
    plan_path = tmp_path / "plan.csv"
    assert cli("audit-plan", "--scores", path, "--halfwidth", 0.02, "--pilot", labelled, "--out", plan_path) == 0
    plan = pd.read_csv(plan_path).set_index("label")
    assert (plan["ppi_n"] <= plan["classical_n"]).all()
    assert plan.loc["any", "ppi_n"] < 0.8 * plan.loc["any", "classical_n"]
    ok = (frame["status"] == "ok").to_numpy()
    share = truth[ok].any(axis=1).mean()  # the classical size is about z^2 p (1 - p) / h^2
    assert plan.loc["any", "classical_n"] == pytest.approx(plan_size(share * (1 - share), 0.02, int(ok.sum())),
                                                           rel=0.3)


def test_shift_simulation_measures_audits_and_model_corrections(baseline_model):
    from collectguard.inference.classifier import Classifier
    from collectguard.inference.prevalence.shift_sim import CORPUS_SIZE, simulate_shift, slice_rates, summarize_shift
    from collectguard.inference.records import load_labelled

    model_dir, _ = baseline_model
    rows = load_labelled(Path(__file__).parent.parent / "data" / "splits" / "test.jsonl")
    classifier = Classifier.from_pretrained(model_dir)
    truth = np.array([[label in r.labels for label in LABELS4] for r in rows])
    meta = {"style": [r.style for r in rows], "script": [r.script for r in rows]}
    results = simulate_shift(truth, classifier.predict_proba([r.text for r in rows]), meta, classifier.thresholds,
                             ["clean->chat"], reps=2, n_boot=20, sizes=(100,), designs=("simple",))
    assert set(results["method"]) == {"acc", "acc_joint", "ppi", "ppi++", "classical"}
    assert len(results) == 2 * 5 * (2 + 3)
    # the truth is the corpus's share at the scenario's mix (threat 4 %): about 400 of 10,000 rows
    threat = results.loc[results["label"] == "threat", "truth"]
    assert ((threat - 0.04).abs() < 4 * np.sqrt(0.04 * 0.96 / CORPUS_SIZE)).all()
    summary = summarize_shift(results)
    assert summary["reps"].eq(2).all() and summary["coverage"].between(0, 1).all()
    rates = slice_rates(truth, classifier.predict_proba([r.text for r in rows]), meta, classifier.thresholds,
                        ["clean->chat"])
    assert list(rates.index) == ["all rows", "style=clean", "style=chat"]
    assert rates.loc["style=chat", "rows"] == sum(r.style == "chat" for r in rows)
