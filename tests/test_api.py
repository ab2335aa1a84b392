"""The public API, the installed package's shape, and the data tools that rewrite source files."""
import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

import collectguard
from collectguard.inference.records import LabelledRow
from tests.conftest import ROOT
from tests.helpers import write_input


def test_public_api_is_importable_and_documented():
    from collectguard import Classifier, PrevalenceResult, estimate_prevalence, score_file

    assert set(collectguard.__all__) >= {"Classifier", "score_file", "estimate_prevalence", "__version__"}
    assert collectguard.__version__ and collectguard.__version__ != "0+unknown"
    for item in (Classifier.from_pretrained, Classifier.save_pretrained, score_file, estimate_prevalence):
        assert item.__doc__ and ("Args:" in item.__doc__ or item is Classifier.save_pretrained), item
    assert "Returns:" in score_file.__doc__ and "Example:" in estimate_prevalence.__doc__
    assert PrevalenceResult.__doc__


def test_save_pretrained_round_trip_gives_the_same_predictions(baseline_model, tmp_path):
    from collectguard import Classifier

    texts = ["再不还钱就把你欠钱的事发到你通讯录每个人", "您好，请问是张先生本人吗？"]
    model = Classifier.from_pretrained(baseline_model[0])
    model.save_pretrained(tmp_path / "copy")
    again = Classifier.from_pretrained(tmp_path / "copy")
    np.testing.assert_allclose(again.predict_proba(texts), model.predict_proba(texts))
    np.testing.assert_array_equal(again.thresholds, model.thresholds)


def test_estimate_prevalence_is_what_the_command_reports(baseline_model, tmp_path):
    from collectguard import estimate_prevalence, score_file

    scored = tmp_path / "scored.parquet"
    score_file(baseline_model[0], [ROOT / "data" / "examples" / "calls.csv"], scored, progress=False)
    result = estimate_prevalence([scored], baseline_model[0], by=["agency"], n_bootstrap=50)
    assert set(result.headline().index) == {"threat", "insult", "deception", "privacy", "any"}
    assert "agency=" in " ".join(result.utterances["group"].unique())
    from collectguard.cli import main

    assert main(["prevalence", "--scores", str(scored), "--model", str(baseline_model[0]), "--out",
                 str(tmp_path / "r"), "--by", "agency", "--bootstrap", "50"]) == 0
    table = pd.read_csv(tmp_path / "r" / "prevalence.csv")
    pd.testing.assert_series_equal(table["estimate"], result.utterances["estimate"].reset_index(drop=True),
                                   check_names=False)


def test_the_wheel_installs_only_the_collectguard_name(tmp_path):
    source = tmp_path / "source"  # setuptools builds in the source tree: build a copy
    for name in ("src", "inference", "training"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("collectguard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"collectguard"}
    assert {"collectguard/inference/classifier.py", "collectguard/training/train.py",
            "collectguard/inference/prevalence/__init__.py", "collectguard/training/configs/baseline.yaml",
            "collectguard/cli.py"} <= set(names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist") and "extra ==" not in line]
    assert runtime and not any("torch" in line or "transformers" in line for line in runtime)


def test_version_flag(capsys):
    from collectguard.cli import main

    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"collectguard {collectguard.__version__}"


def test_plots_draw_chinese_with_a_cjk_font():
    from matplotlib import font_manager

    from collectguard.inference.reporting import cjk_font, new_figure

    family = cjk_font()
    assert "CJK" in family
    figure = new_figure()
    text = figure.text(0, 0, "甲机构")
    assert font_manager.findfont(text.get_fontproperties()).endswith(".otf")


# --- data tools that rewrite source files ------------------------------------------------------------

def _batch(tmp_path, rows):
    folder = tmp_path / "authoring"
    folder.mkdir()
    write_input(folder / "batch_x.jsonl", rows)
    return folder


def test_apply_review_changes_labels_and_text_and_records_it(tmp_path):
    from collectguard.training.review import apply_decisions, read_decisions

    folder = _batch(tmp_path, [{"id": "a", "text": "你好", "labels": ["threat"], "note": "x"},
                               {"id": "b", "text": "再见", "labels": [], "note": ""}])
    review = tmp_path / "review.jsonl"
    review.write_text(json.dumps({"id": "a", "proposed_labels": [], "proposed_text": "您好"}) + "\n"
                      + json.dumps({"id": "b", "final": ["privacy", "threat"]}) + "\n", encoding="utf-8")
    changes = apply_decisions(read_decisions(review), folder)
    assert len(changes) == 2
    rows = [json.loads(line) for line in (folder / "batch_x.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["labels"] == [] and rows[0]["text"] == "您好" and rows[0]["note"] == "x reviewed:review"
    assert rows[1]["labels"] == ["threat", "privacy"]  # canonical order


def test_apply_review_with_an_unknown_id_changes_nothing(tmp_path):
    from collectguard.training.review import apply_decisions, read_decisions

    folder = _batch(tmp_path, [{"id": "a", "text": "你好", "labels": ["threat"]}])
    before = (folder / "batch_x.jsonl").read_bytes()
    review = tmp_path / "review.jsonl"
    review.write_text(json.dumps({"id": "a", "final": []}) + "\n" + json.dumps({"id": "zz", "final": []}) + "\n")
    with pytest.raises(ValueError, match=r"ids not found .*\['zz'\]; nothing was changed"):
        apply_decisions(read_decisions(review), folder)
    assert (folder / "batch_x.jsonl").read_bytes() == before


def _row(i, labels=(), text=None):
    return LabelledRow(f"r{i:03d}", text or f"第{i}号文本，内容各不相同{i * 7919 % 1000}", tuple(labels), "agent",
                       "clean", "simplified")


def test_assign_splits_keeps_fixed_rows_and_pulls_their_near_duplicates_along():
    from collectguard.training.splits import assign_splits

    labels = [("threat",), ("insult",), (), ("privacy",), ("deception",)]
    rows = [_row(i, labels[i % 5]) for i in range(200)]
    rows.append(_row(200, (), rows[0].text + "！"))  # a near-duplicate of r000
    fixed = {"r000": "test", "r001": "test", "r002": "dev"}
    names = assign_splits(rows, fixed)
    assert names[0] == "test" and names[1] == "test" and names[2] == "dev"
    assert names[200] == "test"  # follows its near-duplicate into the frozen split
    share = {s: names.count(s) / len(names) for s in ("train", "dev", "test")}
    assert 0.6 < share["train"] < 0.8 and 0.1 < share["test"] < 0.2
    assert assign_splits(rows, fixed) == names  # deterministic


@pytest.mark.filterwarnings("ignore::UserWarning")  # labels absent from both annotations: kappa undefined
def test_kappas_on_a_hand_computed_case():
    from collectguard.training.agreement import kappas

    first = {"a": ["threat"], "b": [], "c": ["threat", "insult"], "d": []}
    second = {"a": ["threat"], "b": ["threat"], "c": ["threat"], "d": [], "e": ["privacy"]}
    result = kappas(first, second)
    assert result["n"] == 4
    # threat: first 1,0,1,0 / second 1,1,1,0: po = 0.75, pe = 0.5*0.75 + 0.5*0.25 = 0.5, kappa = 0.5
    assert result["per_label"]["threat"]["kappa"] == pytest.approx(0.5)
    assert result["per_label"]["threat"]["agreement"] == pytest.approx(0.75)
    assert [d["id"] for d in result["disagreements"]] == ["b", "c"]


def test_model_card_states_data_thresholds_metrics_and_warnings(tiny_model):
    card = (tiny_model[0] / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((tiny_model[0] / "metrics.json").read_text())
    hashes = json.loads((tiny_model[0] / "data_hashes.json").read_text())
    assert "Not pretrained" in card and "library_name: transformers" in card
    assert hashes["test"][0]["sha256"] in card and "authored 120" in card
    assert f"{metrics['test']['macro_f1']:.3f}" in card
    assert all(f"| {label} | {value:.3f} |" in card for label, value in metrics["thresholds"].items())
