import json

import pytest

from collectguard.inference.records import LabelledDataError, load_labelled, read_labelled
from collectguard.inference.textio import detect_encoding

ROW = {"id": "r1", "text": "再不还钱就把你欠钱的事发到你通讯录每个人", "labels": ["threat", "privacy"],
       "speaker": "agent", "style": "clean", "script": "simplified"}


def write_jsonl(path, records, encoding="utf-8"):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding=encoding)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_reads_each_supported_encoding(tmp_path, encoding):
    path = write_jsonl(tmp_path / "a.jsonl", [ROW], encoding)
    rows, errors = read_labelled(path)
    assert errors == []
    assert rows[0].text == ROW["text"] and rows[0].labels == ("threat", "privacy")


def test_detects_utf16_and_gb18030(tmp_path):
    (tmp_path / "u16.csv").write_text("text\n你好\n", encoding="utf-16")
    (tmp_path / "gb.csv").write_text("text\n欠款逾期\n", encoding="gb18030")
    assert detect_encoding(tmp_path / "u16.csv") == "utf-16"
    assert detect_encoding(tmp_path / "gb.csv") == "gb18030"


@pytest.mark.parametrize("text", ["你這個廢物，欠錢不還還敢掛電話", "陳先生您好", "欠款逾期", "我哋而家畀你最後機會"])
def test_big5_and_gb18030_are_told_apart(tmp_path, text):
    """Big5 bytes also decode as GB18030 (to mojibake such as 硂紀ぃ临窥); both must be read right."""
    for encoding in ("big5hkscs", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(f"text\n{text}\n".encode(encoding))
        assert detect_encoding(path) == encoding
        assert path.read_text(encoding=detect_encoding(path)).splitlines()[1] == text


def test_csv_with_pipe_separated_labels(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "id,text,labels,speaker,style,script\n"
        "a,再不还钱就曝光你,threat|privacy,agent,clean,simplified\n"
        "b,您好，请问是张先生吗,,agent,clean,simplified\n"
        "c,好的,compliant,customer,asr,simplified\n",
        encoding="utf-8",
    )
    rows, errors = read_labelled(path)
    assert errors == []
    assert [r.labels for r in rows] == [("threat", "privacy"), (), ()]


def test_errors_name_file_line_and_field(tmp_path):
    records = [ROW, {**ROW, "id": "r2", "labels": ["threat", "abuse"]}, {**ROW, "id": "r3", "text": "  "},
               {**ROW, "id": "r4", "speaker": "robot"}, {k: v for k, v in ROW.items() if k != "script"}]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    rows, errors = read_labelled(path)
    assert [r.id for r in rows] == ["r1"]
    found = {(e.line, e.field) for e in errors}
    assert found == {(2, "labels"), (3, "text"), (4, "speaker"), (5, "script"), (6, "line")}
    assert str(errors[0]).startswith(f"{path}:2: labels: unknown label(s) ['abuse']")
    with pytest.raises(LabelledDataError, match="5 error"):
        load_labelled(path)
