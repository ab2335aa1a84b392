"""What the project promises when things go wrong: a failed run, a retrained model or an odd input
never leaves wrong output or a stuck state. One test per promise; read the names as the list."""
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import VIOLATIONS as PROB_LABELS
from collectguard.inference.modeldir import ModelDirectoryError
from collectguard.inference.score import ScoreOptions, score_file
from collectguard.inference.tables import TableError
from collectguard.training.config import ConfigError, load_config
from collectguard.training.train import train_model
from tests.conftest import CONFIGS, FIXTURES, MINI, ROOT
from tests.helpers import ROWS, read_output, write_input


@pytest.fixture
def model_copy(baseline_model, tmp_path):
    """A baseline model directory that a test may change."""
    return shutil.copytree(baseline_model[0], tmp_path / "model")


def parts_of(out):
    return out.with_name(out.name + ".parts")


# --- stale or mixed models ----------------------------------------------------------------------

def test_training_into_a_non_empty_directory_needs_overwrite_and_leaves_no_stale_file(tiny_model, tmp_path):
    target = shutil.copytree(tiny_model[0], tmp_path / "model")  # a transformer directory
    (target / "model.onnx").write_bytes(b"stale")
    config = load_config(CONFIGS / "baseline.yaml", [*MINI, "baseline.min_df=1"])
    with pytest.raises(ConfigError, match="--overwrite"):
        train_model(config, target, quiet=True)
    assert (target / "model.onnx").read_bytes() == b"stale"  # refused: nothing touched
    train_model(config, target, quiet=True, overwrite=True)
    files = {p.name for p in target.iterdir()}
    assert "baseline.safetensors" in files and not files & {"model.onnx", "model.safetensors", "config.json"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.training-")]


def test_onnx_exported_from_other_weights_is_refused(tiny_model, tmp_path):
    from collectguard.inference.export import export_model_dir

    model_dir = shutil.copytree(tiny_model[0], tmp_path / "model")
    export_model_dir(model_dir, int8=False)
    Classifier.from_pretrained(model_dir, backend="onnx")  # fresh export: accepted
    weights = model_dir / "model.safetensors"
    shutil.copy(weights, tmp_path / "weights")
    import safetensors.torch

    tensors = safetensors.torch.load_file(weights)
    next(iter(tensors.values())).add_(1.0)  # "retrained"
    safetensors.torch.save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(ModelDirectoryError, match="not exported from this directory's model.safetensors"):
        Classifier.from_pretrained(model_dir, backend="onnx")


def test_resume_after_the_model_was_retrained_is_refused(model_copy, tmp_path, monkeypatch):
    import collectguard.inference.score as score

    src = write_input(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    monkeypatch.setattr(score, "finish", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        score_file(model_copy, [src], out, progress=False)
    monkeypatch.undo()
    thresholds = json.loads((model_copy / "thresholds.json").read_text())
    (model_copy / "thresholds.json").write_text(json.dumps({k: v / 2 for k, v in thresholds.items()}))
    with pytest.raises(TableError, match=r"model's content .* differ.*--overwrite"):
        score_file(model_copy, [src], out, resume=True, progress=False)
    score_file(model_copy, [src], out, overwrite=True, progress=False)  # the way to start over works
    assert len(read_output(out)) == len(ROWS) and not parts_of(out).exists()


# --- stuck after a failure ----------------------------------------------------------------------

@pytest.mark.parametrize("problem", ["model typo", "call column", "thresholds", "calls-out is out"])
def test_a_failed_score_leaves_nothing_behind(model_copy, tmp_path, problem):
    src = write_input(tmp_path / "in.csv")
    out, model, kwargs = tmp_path / "out.csv", model_copy, {}
    if problem == "model typo":
        model = tmp_path / "modle"
    elif problem == "call column":
        kwargs = {"calls_out": tmp_path / "calls.csv", "options": ScoreOptions(call_col="conversation")}
    elif problem == "thresholds":
        (model_copy / "thresholds.json").write_text('{"threat": 0.5,\n}')
    else:
        kwargs = {"calls_out": out}
    with pytest.raises(ValueError) as error:
        score_file(model, [src], out, progress=False, **kwargs)
    assert not parts_of(out).exists() and not out.exists()
    assert problem != "thresholds" or "thresholds.json" in str(error.value)
    if problem == "thresholds":
        (model_copy / "thresholds.json").write_text(json.dumps(dict.fromkeys(PROB_LABELS, 0.5)))
    score_file(model_copy, [src], out, progress=False)  # the corrected run is not blocked by the failed one
    assert len(read_output(out)) == len(ROWS)


def test_a_missing_output_folder_is_created(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    score_file(baseline_model[0], [src], tmp_path / "a" / "out.csv", calls_out=tmp_path / "b" / "calls.csv",
               progress=False)
    assert (tmp_path / "a" / "out.csv").is_file() and (tmp_path / "b" / "calls.csv").is_file()


def test_ctrl_c_prints_one_line_that_says_how_to_resume(baseline_model, tmp_path, monkeypatch, capsys):
    import collectguard.inference.score_cli as score_cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(score_cli, "score_file", interrupted)
    rc = main(["score", "--model", str(baseline_model[0]), str(write_input(tmp_path / "in.csv")),
               "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert rc == 130 and "--resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- input that is scored wrongly or not at all ---------------------------------------------------

def test_speaker_values_match_ignoring_case_and_spaces(baseline_model, tmp_path):
    rows = [dict(r, speaker=s) for r, s in zip(ROWS[:4], ["Agent", "AGENT ", " agent", "客户"])]
    out = tmp_path / "out.csv"
    score_file(baseline_model[0], [write_input(tmp_path / "in.csv", rows)], out, progress=False)
    assert read_output(out)["status"].tolist() == ["ok", "ok", "ok", "not_scored:speaker"]


def test_a_file_without_agent_rows_warns_and_prevalence_refuses_it(baseline_model, tmp_path, capsys):
    rows = [dict(r, speaker="operator") for r in ROWS]
    out = tmp_path / "out.parquet"
    result = score_file(baseline_model[0], [write_input(tmp_path / "in.csv", rows)], out, progress=False)
    assert result.status_counts == {"not_scored:speaker": len(ROWS)}
    assert result.warnings and "no row was scored" in result.warnings[0] and "--agent-value" in result.warnings[0]
    rc = main(["prevalence", "--scores", str(out), "--model", str(baseline_model[0]), "--out", str(tmp_path / "r")])
    assert rc == 2 and "no row with status ok" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_jsonl_rows_without_text_are_malformed_and_form_no_phantom_call(baseline_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"call_id": "C1", "text": "你好"}\n{"call_id": "C1"}\n{broken\n', encoding="utf-8")
    out, calls = tmp_path / "out.jsonl", tmp_path / "calls.csv"
    result = score_file(baseline_model[0], [src], out, calls_out=calls, progress=False)
    frame = read_output(out)
    assert frame["status"].tolist() == ["ok", "not_scored:malformed_row", "not_scored:malformed_row"]
    assert result.problems[0] == f"{src}:2: no 'text' field"
    assert not any(frame["text"].astype(str) == "nan")
    assert pd.read_csv(calls, dtype=str)["call_id"].tolist() == ["C1"]


def test_ragged_csv_rows_keep_their_fields(baseline_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("call_id,turn,text\nC1,1,你好\nC1,2,多,了\nC1\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    score_file(baseline_model[0], [src], out, progress=False)
    frame = read_output(out)
    assert frame["call_id"].tolist() == ["C1", "C1", "C1"] and frame["turn"].tolist() == ["1", "2", ""]
    assert frame["status"].tolist() == ["ok", "not_scored:malformed_row", "not_scored:malformed_row"]


def test_repeated_column_names_are_refused(baseline_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text,call_id,text\n你好,C1,还钱\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"repeated column name\(s\) \['text'\]"):
        score_file(baseline_model[0], [src], tmp_path / "out.csv", progress=False)


def test_a_whole_transcript_in_one_csv_cell_is_read(baseline_model, tmp_path):
    long_text = "您好这里是客服中心请您按时还款。" * 10_000  # 160,000 characters: over csv's default limit
    src = write_input(tmp_path / "in.csv", [{"call_id": "C1", "text": long_text}])
    out = tmp_path / "out.parquet"
    score_file(baseline_model[0], [src], out, progress=False)
    assert pd.read_parquet(out)["status"].tolist() == ["ok"]
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(f"id,text,labels,speaker,style,script\na,{long_text},,agent,asr,simplified\n", encoding="utf-8")
    assert main(["validate", str(labelled)]) == 0


def test_calls_out_and_out_must_differ_and_outputs_are_not_replaced_silently(baseline_model, tmp_path):
    src = write_input(tmp_path / "in.csv")
    with pytest.raises(TableError, match="same file as --out"):
        score_file(baseline_model[0], [src], tmp_path / "o.csv", calls_out=tmp_path / "o.csv", progress=False)
    with pytest.raises(TableError, match="is an input file"):
        score_file(baseline_model[0], [src], src, progress=False)
    existing = tmp_path / "done.csv"
    existing.write_text("keep me")
    with pytest.raises(TableError, match="--overwrite"):
        score_file(baseline_model[0], [src], existing, progress=False)
    assert existing.read_text() == "keep me" and src.read_text(encoding="utf-8").startswith("call_id")


def test_undecodable_bytes_refuse_the_file_or_mark_their_rows(baseline_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("call_id,text\nC1,你好\nC1,".encode() + b"\xff\xfe bad" + "\nC1,还钱\n".encode())
    with pytest.raises(ValueError, match="--encoding-errors replace"):
        score_file(baseline_model[0], [src], tmp_path / "o.csv", progress=False)
    out = tmp_path / "o.csv"
    result = score_file(baseline_model[0], [src], out, options=ScoreOptions(encoding_errors="replace"),
                        progress=False)
    assert read_output(out)["status"].tolist() == ["ok", "not_scored:undecodable", "ok"]
    assert result.problems == [f"{src}:3: undecodable bytes (replaced by U+FFFD)"]


def test_thresholds_outside_0_1_and_corrupt_files_name_the_file(model_copy, tiny_model, tmp_path):
    (model_copy / "thresholds.json").write_text(json.dumps({"threat": 1.5, "insult": 0.5, "deception": 0.5,
                                                            "privacy": 0.5}))
    with pytest.raises(ModelDirectoryError, match=r"thresholds.json: threat: threshold 1.5 is not a number in \[0, 1\]"):
        Classifier.from_pretrained(model_copy)
    transformer = shutil.copytree(tiny_model[0], tmp_path / "tiny")
    (transformer / "config.json").write_text("{not json")
    with pytest.raises(ModelDirectoryError, match="cannot load the transformer"):
        Classifier.from_pretrained(transformer)


def test_an_unknown_encoding_is_a_one_line_error(baseline_model, tmp_path, capsys):
    rc = main(["score", "--model", str(baseline_model[0]), str(write_input(tmp_path / "in.csv")),
               "--out", str(tmp_path / "o.csv"), "--encoding", "klingon"])
    err = capsys.readouterr().err
    assert rc == 2 and "--encoding 'klingon': unknown encoding" in err and "Traceback" not in err


def test_validate_fails_empty_and_header_only_files_and_reports_a_missing_column_once(tmp_path, capsys):
    empty, header = tmp_path / "empty.jsonl", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text("id,text,labels,speaker,style,script\n")
    assert main(["validate", str(empty)]) == 1 and main(["validate", str(header)]) == 1
    assert "no rows" in capsys.readouterr().err
    no_style = tmp_path / "no_style.csv"
    no_style.write_text("id,text,labels,speaker,script\n" + "".join(
        f"r{i},你好{i},,agent,simplified\n" for i in range(200)), encoding="utf-8")
    assert main(["validate", str(no_style)]) == 1
    err = capsys.readouterr().err
    assert f"{no_style}:2: style: missing in all 200 rows (no such column)" in err and "1 error(s)" in err


def test_validate_reports_every_error_of_a_row(tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "你好", "labels": ["threat", "rudeness"], "style": "clean",
                                "script": "simplified"}) + "\n" + json.dumps(
        {"id": "x", "text": "再见", "labels": [], "speaker": "agent", "style": "clean", "script": "simplified"}) + "\n",
        encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: speaker: missing" in err and f"{path}:1: labels: unknown label(s) ['rudeness']" in err


# --- training ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("override, message", [
    ("baseline.C=-1", "baseline.C: expected a number > 0"),
    ("training.learning_rate=0", "training.learning_rate: expected a number > 0"),
    ("training.batch_size=0", "training.batch_size: expected a number >= 1"),
    ("training.epochs=0", "training.epochs: expected a number > 0"),
    ("model.kind=svm", "model.kind: 'svm' is not one of"),
    ("training.epoch=3", "training.epoch: unknown key"),
    ("training.epochs=three", "training.epochs: expected float"),
    ("data.train=no/such/file.jsonl", "data.train: no such file"),
])
def test_bad_config_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / "baseline.yaml", [*MINI, override])


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel:\n  kind: [transformer\n")
    with pytest.raises(ConfigError, match=rf"{bad}:\d+: invalid YAML"):
        load_config(bad)


@pytest.mark.parametrize("content, message", [
    ("", "data.train: .* has no rows|no rows"),
    ('{"id": "a", "text": "你好", "labels": ["rude"], "speaker": "agent", "style": "clean", "script": "simplified"}\n',
     r"data.train: .*:1: labels: unknown label"),
])
def test_bad_train_files_are_one_line_errors_and_leave_nothing_behind(tmp_path, capsys, content, message):
    train = tmp_path / "train.jsonl"
    train.write_text(content, encoding="utf-8")
    out = tmp_path / "model"
    rc = main(["train", "--config", str(CONFIGS / "baseline.yaml"), "--out", str(out), "--set",
               f"data.train={train}", "--set", f"data.dev={FIXTURES / 'mini_dev.jsonl'}",
               "--set", f"data.test={FIXTURES / 'mini_test.jsonl'}"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert re.search(message, err, re.S)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


def test_tiny_training_logs_each_epoch_once(tmp_path, caplog):
    caplog.set_level("INFO")
    config = load_config(CONFIGS / "tiny.yaml", [*MINI, "training.epochs=2"])
    train_model(config, tmp_path / "m", quiet=True)
    epoch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1.0", "epoch 2.0"]


# --- Python API -------------------------------------------------------------------------------------

def test_predict_accepts_missing_texts_and_keeps_the_index(baseline_model):
    classifier = Classifier.from_pretrained(baseline_model[0])
    texts = pd.Series(["再不还钱就把你欠钱的事发到你通讯录每个人", np.nan, None, "  ", "你好"], index=[10, 11, 12, 13, 14])
    result = classifier.predict(texts)
    assert result.index.tolist() == [10, 11, 12, 13, 14]
    assert result["status"].tolist() == ["ok", "empty_text", "empty_text", "empty_text", "ok"]
    assert result.loc[[11, 12, 13], PROB_COLUMNS].isna().all().all()
    assert result.loc[10, "pred_labels"] and result.loc[11, "pred_labels"] is None


def test_calls_csv_with_empty_cells_predicts_through_the_api(baseline_model):
    calls = pd.read_csv(ROOT / "data" / "examples" / "calls.csv")
    result = Classifier.from_pretrained(baseline_model[0]).predict(calls["text"])
    assert len(result) == len(calls) and (result["status"] == "empty_text").sum() == calls["text"].isna().sum() > 0


def test_pipeline_truncates_texts_longer_than_the_position_limit(tiny_model):
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(tiny_model[0]), top_k=None, function_to_apply="sigmoid")
    scores = classify(["您好这里是客服中心请您按时还款" * 60], truncation=True)[0]
    assert len(scores) == 4


def test_resume_with_precision_auto_keeps_the_precision_the_run_started_with(tiny_model, tmp_path, monkeypatch):
    """``auto`` picks fp32 or bf16 by timing, which can differ between runs: a resumed run must score
    with the precision the interrupted one used, never mix two in one output."""
    import collectguard.inference.score as score

    src = write_input(tmp_path / "in.csv")
    out = tmp_path / "out.parquet"
    monkeypatch.setattr(score, "finish", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        score_file(tiny_model[0], [src], out, precision="auto", progress=False)
    monkeypatch.undo()
    started_with = score.recorded_precision(out)
    assert started_with in ("fp32", "bf16")
    other = "bf16" if started_with == "fp32" else "fp32"
    with pytest.raises(TableError, match="backend or precision"):  # a different precision is refused
        score_file(tiny_model[0], [src], out, precision=other, resume=True, progress=False)
    result = score_file(tiny_model[0], [src], out, precision="auto", resume=True, progress=False)
    assert result.rows == len(ROWS) and result.resumed_chunks == 1
