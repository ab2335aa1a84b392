"""Label Studio tasks and exports without a server: the config, the tasks, and every kind of bad export."""
import copy
import json
import xml.etree.ElementTree as ET

import pytest

from collectguard.cli import main
from collectguard.inference.labels import VIOLATIONS
from collectguard.training.labelstudio import (
    LabelStudioError,
    label_config,
    make_tasks,
    read_export,
    simulated_export,
)

ROWS = [{"id": "r1", "text": "再不还钱就把你欠钱的事发到你通讯录每个人", "speaker": "agent", "style": "clean",
         "script": "simplified", "labels": ["threat", "privacy"]},
        {"id": "r2", "text": "逾期会上报征信，我们也可能依法起诉", "speaker": "agent", "style": "asr",
         "script": "simplified", "labels": []},
        {"id": "r3", "text": "你個廢物，欠錢不還", "speaker": "坐席", "style": "chat", "script": "traditional",
         "labels": ["insult"]}]


def export_file(tmp_path, votes, tasks=None, name="export.json"):
    tasks = make_tasks(ROWS, "rows") if tasks is None else tasks
    path = tmp_path / name
    path.write_text(json.dumps(simulated_export(tasks, votes), ensure_ascii=False), encoding="utf-8")
    return path


def agreeing(*annotators):
    return {r["id"]: {a: r["labels"] for a in annotators} for r in ROWS}


def test_config_offers_the_four_violations_as_multiple_choice_and_links_the_codebook():
    root = ET.fromstring(label_config("https://example.org/CODEBOOK.md?a=1&b=2"))
    choices = root.find("Choices")
    assert choices.get("choice") == "multiple" and choices.get("toName") == root.find("Text").get("name")
    assert [c.get("value") for c in choices.findall("Choice")] == list(VIOLATIONS)
    assert 'href="https://example.org/CODEBOOK.md?a=1&amp;b=2"' in root.find("HyperText").get("value")
    assert "none when it is compliant" in root.find("Header").get("value")


def test_tasks_carry_the_row_id_and_valid_meta_but_no_scores():
    tasks = make_tasks([{**r, "prob_threat": 0.9} for r in ROWS], "rows",
                       [{"model_version": "m", "labels": ["threat"], "score": 0.9}] * 3)
    assert tasks[0]["data"] == {"row_id": "r1", "text": ROWS[0]["text"], "speaker": "agent", "style": "clean",
                                "script": "simplified"}
    assert "speaker" not in tasks[2]["data"]  # 坐席 is not a project speaker value
    assert tasks[0]["predictions"][0]["result"][0]["value"] == {"choices": ["threat"]}


def test_rows_without_text_or_with_repeated_ids_are_refused_by_row():
    with pytest.raises(LabelStudioError) as caught:
        make_tasks([ROWS[0], {**ROWS[1], "text": " "}, {**ROWS[2], "id": "r1"}], "selected.jsonl")
    assert caught.value.problems == ["row 2 (id 'r2'): no text", "row 3 (id 'r1'): id repeated (first in row 1)"]
    assert str(caught.value).startswith("selected.jsonl: 2 problem(s)")


def test_agreeing_annotators_give_labelled_rows_and_disagreements_are_only_listed(tmp_path):
    votes = agreeing("7", "9")
    votes["r2"]["9"] = ["threat"]
    imported = read_export(export_file(tmp_path, votes), defaults={"speaker": "agent"})
    assert [(r["id"], r["labels"], r["annotators"], r["speaker"]) for r in imported.rows] == [
        ("r1", ["threat", "privacy"], ["7", "9"], "agent"), ("r3", ["insult"], ["7", "9"], "agent")]
    assert imported.rows[0]["annotation"] == "export.json#task1"
    assert imported.disagreements == [{"id": "r2", "task": 2, "text": ROWS[1]["text"],
                                       "votes": {"7": [], "9": ["threat"]}}]
    pair = imported.agreement["pairs"][0]
    assert pair["annotators"] == ["7", "9"] and pair["n"] == 3
    assert pair["per_label"]["threat"]["agreement"] == pytest.approx(2 / 3)
    assert imported.agreement["all_agree"] == 2


def test_a_task_below_min_annotators_is_incomplete(tmp_path):
    votes = agreeing("7", "9")
    del votes["r3"]["9"]
    imported = read_export(export_file(tmp_path, votes), {"speaker": "agent"}, min_annotators=2)
    assert [r["id"] for r in imported.rows] == ["r1", "r2"] and [t["id"] for t in imported.incomplete] == ["r3"]


def _mutated(tmp_path, change):
    tasks = simulated_export(make_tasks(ROWS, "rows"), agreeing("7"))
    change(tasks)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def _other_config(tasks):
    tasks[0]["annotations"][0]["result"] = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                             "value": {"choices": ["Positive"]}}]


def _unknown_choice(tasks):
    tasks[1]["annotations"][0]["result"] = [{"from_name": "violations", "to_name": "text", "type": "choices",
                                             "value": {"choices": ["threat", "abuse"]}}]


def _no_text(tasks):
    del tasks[2]["data"]["text"]


def _skipped(tasks):
    tasks[1]["annotations"][0]["was_cancelled"] = True


def _repeated_task(tasks):
    tasks.append(copy.deepcopy(tasks[0]))


def _twice(tasks):
    tasks[0]["annotations"].append(copy.deepcopy(tasks[0]["annotations"][0]))


@pytest.mark.parametrize("change, message", [
    (_other_config, "task 1 (row r1), annotation 1 by annotator 7: result ('sentiment', 'text', 'choices') is not "
                    "from collectguard's labelling config"),
    (_unknown_choice, "task 2 (row r2), annotation 2 by annotator 7: unknown choice(s) ['abuse']"),
    (_no_text, "task 3 (row r3): no text"),
    (_skipped, "task 2 (row r2), annotation 2 by annotator 7: skipped (was_cancelled)"),
    (_repeated_task, "task 1 (row r1): task id 1 repeated (first as task #1)"),
    (_twice, "task 1 (row r1), annotation 1 by annotator 7: a second annotation by the same annotator"),
])
def test_bad_exports_name_the_file_and_task(tmp_path, change, message):
    path = _mutated(tmp_path, change)
    with pytest.raises(LabelStudioError) as caught:
        read_export(path, {"speaker": "agent"})
    assert str(caught.value).startswith(f"{path}: 1 problem(s):")
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems


def test_a_missing_speaker_needs_a_default(tmp_path):
    with pytest.raises(LabelStudioError, match=r"task 3 \(row r3\): speaker None is not one of .*; pass --speaker"):
        read_export(export_file(tmp_path, agreeing("7")))


def test_command_writes_rows_and_checks_them_against_existing_data(tmp_path, capsys):
    export = export_file(tmp_path, agreeing("7"))
    existing = tmp_path / "train.jsonl"
    existing.write_text(json.dumps({**ROWS[0], "id": "old-1", "text": ROWS[0]["text"] + "！"}, ensure_ascii=False)
                        + "\n", encoding="utf-8")
    out = tmp_path / "new.jsonl"
    assert main(["import-annotations", str(export), "--out", str(out), "--speaker", "agent",
                 "--against", str(existing)]) == 1
    assert f"{existing}:1: text: duplicate of {out}:1" in capsys.readouterr().err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["r1", "r2", "r3"]
    assert main(["import-annotations", str(export), "--out", str(out), "--speaker", "agent"]) == 0
    assert main(["import-annotations", str(tmp_path / "missing.json"), "--out", str(out)]) == 2
