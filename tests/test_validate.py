import json

from collectguard.training.validate import main, validate_files


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def row(id_, text, labels=(), style="clean", script="simplified"):
    return {"id": id_, "text": text, "labels": list(labels), "speaker": "agent", "style": style, "script": script}


def test_clean_files_pass_and_distribution_is_printed(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", [row("1", "再不还钱就把你欠钱的事发到你通讯录每个人", ["threat", "privacy"]),
                                     row("2", "您好，这里是银行信用卡中心，想跟您确认一下还款计划")])
    b = write(tmp_path / "b.jsonl", [row("3", "你這個廢物，欠錢不還還敢掛電話", ["insult"], "chat", "traditional")])
    assert main([a, b]) == 0
    out = capsys.readouterr().out
    assert "rows: 3" in out and "OK: no errors" in out
    assert "threat+privacy" in out
    assert "two or more labels               1   33.3%" in out
    assert "traditional                      1   33.3%" in out


def test_duplicate_ids_and_texts_and_cross_file_near_duplicates_fail(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", [row("1", "逾期属于民事纠纷，不会坐牢，但会影响您的个人征信记录"),
                                     row("2", "请问是王先生本人吗")])
    b = write(tmp_path / "b.jsonl", [row("1", "逾期屬於民事糾紛 不會坐牢 但會影響您的個人徵信記錄", script="traditional"),
                                     row("4", "请问是王先生本人吗？")])
    report = validate_files([a, b])
    joined = "\n".join(report.errors)
    assert f"{b}:1: id: duplicate id '1'" in joined
    assert f"{b}:2: text: duplicate of {a}:2" in joined
    assert "across files: leakage" in joined
    assert main([a, b]) == 1
    assert "error(s)" in capsys.readouterr().err


def test_near_duplicates_within_one_file_are_warnings(tmp_path):
    a = write(tmp_path / "a.jsonl", [row("1", "今天下午五点前还清，否则我们会上报征信"),
                                     row("2", "今天下午五点前还清，否则我们就上报征信了")])
    report = validate_files([a])
    assert report.errors == [] and len(report.warnings) == 1


def test_unreadable_file_is_an_error_not_a_crash(tmp_path):
    bad = tmp_path / "bin.jsonl"
    bad.write_bytes("欠款".encode() + b"\x81\x30\xff\xff")
    report = validate_files([str(bad), str(tmp_path / "missing.jsonl")])
    assert len(report.errors) == 2
    assert report.errors[0].startswith(f"{bad}: cannot read") and "--encoding" in report.errors[0]
    assert "missing.jsonl: cannot read" in report.errors[1]
