"""Training data through Hugging Face datasets: files and globs, three formats, strict rows, cached tokenisation."""
import json

import pandas as pd
import pytest

from collectguard.inference.records import LabelledDataError, load_labelled
from collectguard.training.config import ConfigError, load_config
from collectguard.training.data import load_labelled_dataset

from .conftest import CONFIGS, FIXTURES, MINI

ROWS = load_labelled(FIXTURES / "mini_dev.jsonl")


def write_formats(folder):
    """The mini dev rows split over a CSV (with a weight column), a Parquet and a JSONL file (with a source)."""
    folder.mkdir(exist_ok=True)
    record = lambda r: {"id": r.id, "text": r.text, "speaker": r.speaker, "style": r.style,  # noqa: E731
                        "script": r.script}
    pd.DataFrame([{**record(r), "id": f"00{i}", "labels": "|".join(r.labels), "weight": "0.5"}
                  for i, r in enumerate(ROWS[:10])]).to_csv(folder / "a.csv", index=False)
    pd.DataFrame([{**record(r), "labels": list(r.labels)} for r in ROWS[10:20]]).to_parquet(folder / "b.parquet")
    (folder / "c.jsonl").write_text("".join(json.dumps({**record(r), "labels": list(r.labels), "source": "bg"},
                                                       ensure_ascii=False) + "\n" for r in ROWS[20:]), encoding="utf-8")
    return [folder / "a.csv", folder / "b.parquet", folder / "c.jsonl"]


def test_three_formats_load_with_every_field_and_their_source_file(tmp_path):
    files = write_formats(tmp_path / "data")
    dataset = load_labelled_dataset(files, str(tmp_path / "cache"))
    assert dataset["text"] == [r.text for r in ROWS]
    assert dataset["labels"] == [list(r.labels) for r in ROWS]  # CSV's "threat|privacy" is a list too
    assert dataset["id"][:2] == ["000", "001"]  # CSV cells stay text: no 0 for "000"
    assert dataset["source_file"] == [str(files[0])] * 10 + [str(files[1])] * 10 + [str(files[2])] * 20
    assert dataset["weight"] == ["0.5"] * 10 + [None] * 30  # a column of one file is null in the others
    assert dataset["source"] == [None] * 20 + ["bg"] * 20


def test_data_keys_take_a_file_a_list_or_globs(tmp_path):
    write_formats(tmp_path / "data")
    one = load_config(CONFIGS / "baseline.yaml", MINI)
    assert one.data.train == [str(FIXTURES / "mini_train.jsonl")]
    globs = f"data.train=[{tmp_path}/data/*.csv, {tmp_path}/data/*.j*]"
    globbed = load_config(CONFIGS / "baseline.yaml", [*MINI, globs])
    assert globbed.data.train == [f"{tmp_path}/data/*.csv", f"{tmp_path}/data/*.j*"]
    with pytest.raises(ConfigError, match=r"data.dev: no file matches '.*\*.tsv'"):
        load_config(CONFIGS / "baseline.yaml", [*MINI, f"data.dev={tmp_path}/data/*.tsv"])
    with pytest.raises(ConfigError, match="data.train: .*a.csv is listed twice"):
        load_config(CONFIGS / "baseline.yaml", [*MINI, f"data.train=[{tmp_path}/data/a.csv, {tmp_path}/data/*.csv]"])


def test_a_bad_row_is_named_by_file_line_and_field_before_anything_loads(tmp_path):
    files = write_formats(tmp_path / "data")
    frame = pd.read_parquet(files[1])
    frame.loc[3, "labels"] = ["threat", "abuse"]
    frame.to_parquet(files[1])
    with files[2].open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "x", "text": "还钱", "labels": [], "speaker": "robot", "style": "asr",
                                 "script": "simplified"}) + "\n")
    with pytest.raises(LabelledDataError) as caught:
        load_labelled_dataset(files, str(tmp_path / "cache"))
    assert [str(e) for e in caught.value.errors] == [
        f"{files[1]}:4: labels: unknown label(s) ['abuse']; known: threat, insult, deception, privacy",
        f"{files[2]}:21: speaker: 'robot' is not one of agent, customer, third_party, other"]
    assert not (tmp_path / "cache").exists()


def test_tokenisation_runs_once_and_is_cached(tmp_path):
    from collectguard.inference.normalize import NormalizationConfig, normalize
    from collectguard.training.fit_transformer import encode
    from collectguard.training.tiny import build_tokenizer

    tokenizer = build_tokenizer(tmp_path / "tok")
    dataset = load_labelled_dataset([FIXTURES / "mini_train.jsonl"], str(tmp_path / "cache"))
    first = encode(dataset, tokenizer, NormalizationConfig(), max_length=16)
    cached = len(list((tmp_path / "cache").rglob("cache-*.arrow")))
    second = encode(dataset, tokenizer, NormalizationConfig(), max_length=16)
    assert second.cache_files == first.cache_files  # the second call read the first one's result
    assert len(list((tmp_path / "cache").rglob("cache-*.arrow"))) == cached
    lengths = [len(tokenizer(normalize(t), add_special_tokens=False)["input_ids"]) for t in dataset["text"]]
    ids = tokenizer(normalize(dataset[0]["text"]), add_special_tokens=False)["input_ids"]
    assert first[0]["input_ids"] == [tokenizer.cls_token_id, *ids[:14], tokenizer.sep_token_id]
    assert sum(first["truncated"]) == sum(n > 14 for n in lengths) > 0
    assert first[1]["labels"] == [float(x) for x in (0, 1, 0, 1)]  # fx-001: insult + privacy


def test_background_rows_are_capped_per_source_and_weighted(tmp_path):
    from collectguard.training.data import rows_by_source, with_background

    files = write_formats(tmp_path / "data")  # c.jsonl: the last rows, source "bg"
    dataset = load_labelled_dataset(files)
    n_bg = len(ROWS) - 20
    capped = with_background(dataset, weight=0.25, cap=3)
    assert rows_by_source(capped) == {"authored": 20, "bg": 3} and n_bg > 3
    assert capped["weight"] == [1.0] * 20 + [0.25] * 3  # the CSV's own weight column is replaced
    assert rows_by_source(with_background(dataset, 1.0, 0)) == {"authored": 20, "bg": n_bg}


def test_the_baseline_honours_sample_weights():
    from collectguard.training.fit_baseline import fit_baseline

    config = load_config(CONFIGS / "baseline.yaml", [*MINI, "baseline.min_df=1"])
    train = {"text": [r.text for r in ROWS], "labels": [list(r.labels) for r in ROWS]}
    plain = fit_baseline(config, train)
    light = fit_baseline(config, {**train, "weight": [1.0] * 20 + [0.01] * (len(ROWS) - 20)})
    assert not (plain.coef == light.coef).all()
    assert (fit_baseline(config, {**train, "weight": [1.0] * len(ROWS)}).coef == plain.coef).all()
