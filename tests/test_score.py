import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.score import ScoreOptions, score_file
from collectguard.inference.tables import TableError
from tests.helpers import ROWS, read_output, write_input


@pytest.mark.parametrize("source", [".csv", ".tsv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("target", [".csv", ".jsonl", ".parquet"])
def test_every_format_keeps_rows_order_and_columns(baseline_model, tmp_path, source, target):
    src = write_input(tmp_path / f"in{source}")
    out = tmp_path / f"out{target}"
    result = score_file(baseline_model[0], [src], out, progress=False)
    frame = read_output(out)
    assert result.rows == len(frame) == len(ROWS)
    assert frame["text"].tolist() == [r["text"] for r in ROWS]
    assert list(frame.columns) == ["call_id", "turn", "speaker", "text", *PROB_COLUMNS, "pred_labels", "status"]
    assert frame["status"].tolist() == ["ok", "not_scored:speaker", "ok", "empty_text", "ok", "ok"]
    labels = frame["pred_labels"].iloc[2]
    expected = Classifier.from_pretrained(baseline_model[0]).predict(ROWS[2]["text"])["pred_labels"].iat[0]
    assert (labels.split("|") if target == ".csv" else list(labels)) == expected and "threat" in expected
    assert not out.with_name(out.name + ".parts").exists()


def test_probabilities_equal_the_classifier(baseline_model, tmp_path):
    out = tmp_path / "out.parquet"
    score_file(baseline_model[0], [write_input(tmp_path / "in.csv")], out, progress=False)
    frame = pd.read_parquet(out)
    expected = Classifier.from_pretrained(baseline_model[0]).predict_proba([ROWS[0]["text"], ROWS[2]["text"]])
    assert frame.loc[[0, 2], PROB_COLUMNS].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert frame.loc[[1, 3], PROB_COLUMNS].isna().all().all()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_are_detected(baseline_model, tmp_path, encoding):
    src = write_input(tmp_path / "in.csv", encoding=encoding)
    out = tmp_path / "out.csv"
    score_file(baseline_model[0], [src], out, progress=False)
    assert read_output(out)["text"].tolist() == [r["text"] for r in ROWS]


def test_speaker_filter_can_be_switched_off_or_changed(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    score_file(baseline_model[0], [src], out, options=ScoreOptions(speaker_col=None), progress=False)
    assert read_output(out)["status"].tolist()[:2] == ["ok", "ok"]
    score_file(baseline_model[0], [src], out, options=ScoreOptions(agent_values=("客户",)), progress=False,
               overwrite=True)
    assert read_output(out)["status"].tolist()[:3] == ["not_scored:speaker", "ok", "not_scored:speaker"]


def test_malformed_rows_get_a_status_and_a_line(baseline_model, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("call_id,text\nC1,你好\nC1,多,了,字段\nC1,还钱\n", encoding="utf-8")
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"call_id": "C1", "text": "你好"}\n{not json\n[1, 2]\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = score_file(baseline_model[0], [src, jsonl], out, progress=False)
    frame = read_output(out)
    assert frame["status"].tolist() == ["ok", "not_scored:malformed_row", "ok", "ok",
                                        "not_scored:malformed_row", "not_scored:malformed_row"]
    assert result.problems[0] == f"{src}:3: expected 2 fields, got 4"
    assert result.problems[1].startswith(f"{jsonl}:2: invalid JSON")


def test_unreadable_input_and_missing_columns_stop_with_a_named_error(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    with pytest.raises(TableError, match="no text column 'utterance'"):
        score_file(baseline_model[0], [src], tmp_path / "o.csv", options=ScoreOptions(text_col="utterance"))
    with pytest.raises(TableError, match="no such file"):
        score_file(baseline_model[0], [tmp_path / "missing.csv"], tmp_path / "o.csv")
    with pytest.raises(TableError, match="unsupported extension"):
        score_file(baseline_model[0], [src], tmp_path / "o.xlsx")


def test_long_texts_are_scored_whole(tiny_model, tmp_path):
    long_text = "您好这里是客服中心请您按时还款" * 30 + "不还钱我们就去你家门口堵你"
    src = write_input(tmp_path / "in.jsonl", [{"call_id": "C1", "text": long_text}, {"call_id": "C1", "text": "好"}])
    out = tmp_path / "out.parquet"
    score_file(tiny_model[0], [src], out, progress=False)
    frame = pd.read_parquet(out)
    expected = Classifier.from_pretrained(tiny_model[0]).predict_proba(long_text)[0]
    assert frame.loc[0, PROB_COLUMNS].to_numpy(dtype=float) == pytest.approx(expected, abs=1e-5)


def test_call_summary_on_a_constructed_call(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    calls = tmp_path / "calls.csv"
    score_file(baseline_model[0], [src], tmp_path / "out.csv", calls_out=calls,
               options=ScoreOptions(turn_col="turn", chunk_rows=2), progress=False)
    frame = pd.read_csv(calls, dtype={"first_flagged_turn_threat": str}).set_index("call_id")
    c1, c2 = frame.loc["C1"], frame.loc["C2"]
    assert (c1["n_utterances"], c1["n_scored"]) == (4, 2)
    flagged = Classifier.from_pretrained(baseline_model[0]).predict([ROWS[0]["text"], ROWS[2]["text"]])["pred_labels"]
    assert c1["verdict"] == "|".join(v for v in VIOLATIONS if v in flagged.iat[0] + flagged.iat[1])
    assert {"threat", "privacy"} <= set(c1["verdict"].split("|")) and "insult" in c2["verdict"].split("|")
    assert c1["n_flagged_threat"] == 1 and c1["first_flagged_turn_threat"] == "3"
    evidence = json.loads(c1["evidence_privacy"])
    assert evidence[0]["turn"] == "3" and "[电话]" in evidence[0]["text"] and "13812345678" not in evidence[0]["text"]
    for label in VIOLATIONS:  # every flagged utterance is evidence (up to 3), with its personal data masked
        evidence = json.loads(c1[f"evidence_{label}"])
        assert len(evidence) == min(3, c1[f"n_flagged_{label}"])
        assert not any("张" in e["text"] or "138" in e["text"] for e in evidence)
    assert set(frame["pii_masking"]) == {"v2"}


def test_no_mask_leaves_evidence_unmasked_and_says_so(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    calls = tmp_path / "calls.csv"
    assert main(["score", "--model", str(baseline_model[0]), str(src), "--out", str(tmp_path / "out.csv"),
                 "--calls-out", str(calls), "--turn-col", "turn", "--no-mask", "--quiet"]) == 0
    frame = pd.read_csv(calls).set_index("call_id")
    assert "13812345678" in json.loads(frame.loc["C1", "evidence_privacy"])[0]["text"]
    assert set(frame["pii_masking"]) == {"off"}


def test_an_unfinished_run_is_not_silently_overwritten(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    (tmp_path / "out.csv.parts").mkdir()
    with pytest.raises(TableError, match="--resume"):
        score_file(baseline_model[0], [src], out)


def test_resume_after_sigkill_matches_an_uninterrupted_run(tiny_model, tmp_path):
    rows = [{"call_id": f"C{i // 10}", "speaker": "坐席", "text": f"第{i}句：" + ROWS[i % 6]["text"] * (1 + i % 3)}
            for i in range(3000)]
    src = write_input(tmp_path / "in.csv", rows)
    reference = tmp_path / "reference.parquet"
    score_file(tiny_model[0], [src], reference, options=ScoreOptions(chunk_rows=100), progress=False)
    out = tmp_path / "out.parquet"
    command = [sys.executable, "-m", "collectguard", "score", "--model", str(tiny_model[0]), str(src),
               "--out", str(out), "--chunk-rows", "100", "--quiet", "--precision", "fp32"]
    process = subprocess.Popen(command, cwd=os.getcwd())
    parts = tmp_path / "out.parquet.parts"
    deadline = time.time() + 120
    while len(list(parts.glob("*.meta.json"))) < 5 and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(parts.glob("*.meta.json")))
    assert 5 <= finished < 30 and not out.exists()  # killed mid-way, nothing visible yet
    resumed = subprocess.run(command + ["--resume"], cwd=os.getcwd(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed {finished} finished chunk(s)" in resumed.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))


def test_parquet_parts_with_all_null_columns_assemble(baseline_model, tmp_path):
    """A first chunk with no scored row (and a key that appears later) must not fix the column types."""
    rows = [{"call_id": "C1", "speaker": "客户", "text": "你好"}, {"call_id": "C1", "speaker": "客户", "text": "嗯"},
            {"call_id": "C1", "speaker": "坐席", "text": "再不还钱就把你欠钱的事发到你通讯录每个人", "agency": "甲"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.parquet"
    score_file(baseline_model[0], [src], out, options=ScoreOptions(chunk_rows=2), progress=False)
    frame = pd.read_parquet(out)
    assert frame["status"].tolist() == ["not_scored:speaker", "not_scored:speaker", "ok"]
    assert frame["agency"].isna().tolist() == [True, True, False] and frame["agency"].iloc[2] == "甲"
    assert frame["pred_labels"].iloc[0] is None and "threat" in list(frame["pred_labels"].iloc[2])
