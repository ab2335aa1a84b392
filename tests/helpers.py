"""Helpers shared by the tests: an utterance table in every format."""
import pandas as pd

ROWS = [
    {"call_id": "C1", "turn": "1", "speaker": "坐席", "text": "您好，请问是张先生本人吗？"},
    {"call_id": "C1", "turn": "2", "speaker": "客户", "text": "是我，什么事"},
    {"call_id": "C1", "turn": "3", "speaker": "坐席", "text": "再不还钱就把你欠钱的事发到你通讯录每个人，电话13812345678"},
    {"call_id": "C1", "turn": "4", "speaker": "坐席", "text": "  "},
    {"call_id": "C2", "turn": "1", "speaker": "agent", "text": "逾期属于民事纠纷，不会坐牢，但会影响征信"},
    {"call_id": "C2", "turn": "2", "speaker": "坐席", "text": "你个废物，sb，欠钱不还"},
]


def write_input(path, rows=ROWS, encoding="utf-8"):
    frame = pd.DataFrame(rows)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",", encoding=encoding)
    return path


def read_output(path):
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)
