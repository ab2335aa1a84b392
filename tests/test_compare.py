"""The release gate: side-by-side metrics, paired bootstrap, exit 1 only when the candidate is worse beyond noise."""
import json
import shutil

import pandas as pd

from collectguard.cli import main
from collectguard.training.compare import compare, false_alarm_texts
from collectguard.training.config import load_config
from collectguard.training.train import train_model

from .conftest import CONFIGS, FIXTURES, MINI

DATA = [str(FIXTURES / "mini_dev.jsonl"), str(FIXTURES / "mini_test.jsonl")]


def with_thresholds(model_dir, out, value):
    """A copy of ``model_dir`` that decides every label at ``value``."""
    shutil.copytree(model_dir, out)
    (out / "thresholds.json").write_text(json.dumps(dict.fromkeys(["threat", "insult", "deception", "privacy"], value)))
    return out


def test_a_model_against_itself_passes_with_zero_differences(baseline_model, tmp_path):
    result = compare(baseline_model[0], baseline_model[0], DATA, [FIXTURES / "mini_train.jsonl"], n_bootstrap=200)
    assert result["failed"] == [] and all(c["difference"] == 0 for c in result["checks"])
    assert result["gated_level"] == 1 - 0.05 / 6  # macro-F1, four recalls, one false-alarm set
    assert main(["compare", "--candidate", str(baseline_model[0]), "--reference", str(baseline_model[0]),
                 "--data", *DATA, "--gate", "--bootstrap", "200", "--out", str(tmp_path / "report")]) == 0
    assert "**PASS**" in (tmp_path / "report" / "comparison.md").read_text()
    assert (tmp_path / "report" / "comparison.png").stat().st_size > 1000


def test_a_candidate_that_flags_nothing_fails_on_recall(baseline_model, tmp_path, capsys):
    mute = with_thresholds(baseline_model[0], tmp_path / "mute", 1.0)
    assert main(["compare", "--candidate", str(mute), "--reference", str(baseline_model[0]), "--data", *DATA,
                 "--gate", "--bootstrap", "500"]) == 1
    out = capsys.readouterr().out
    assert "**FAIL**: worse beyond noise on macro_f1, threat.recall" in out
    assert "| threat.recall |" in out and "FAIL: worse" in out
    assert main(["compare", "--candidate", str(mute), "--reference", str(baseline_model[0]), "--data", *DATA,
                 "--bootstrap", "500"]) == 0  # without --gate it only reports


def test_a_candidate_that_flags_everything_fails_on_false_alarms(baseline_model, tmp_path):
    loud = with_thresholds(baseline_model[0], tmp_path / "loud", 0.0)
    cold = tmp_path / "cold.csv"
    pd.DataFrame({"label": [0, 0, 0, 1], "fine-grained-label": [0, 0, 0, 1],
                  "TEXT": ["今天天气不错", "这家店的面很好吃", "明天几点开会", "你这个废物"]}).to_csv(cold, index=False)
    assert false_alarm_texts(cold) == ["今天天气不错", "这家店的面很好吃", "明天几点开会"]
    result = compare(loud, baseline_model[0], DATA, [FIXTURES / "mini_train.jsonl"], n_bootstrap=500)
    alarm = [c for c in result["checks"] if c["metric"].startswith("false-alarm rate")][0]
    assert alarm["candidate"] == 1.0 and alarm["reference"] < 0.5 and alarm["worse"]
    assert alarm["metric"].endswith(f"(n={sum(1 for r in false_alarm_texts(FIXTURES / 'mini_train.jsonl'))})")
    assert not [c for c in result["checks"] if c["metric"].endswith(".recall") and c["worse"]]


def test_the_report_names_the_candidates_parent(baseline_model, tmp_path, capsys):
    config = load_config(CONFIGS / "baseline.yaml", [*MINI, "baseline.min_df=1", f"parent={baseline_model[0]}"])
    train_model(config, tmp_path / "child", quiet=True)
    card = (tmp_path / "child" / "README.md").read_text()
    assert f"Retrained from `{baseline_model[0]}`" in card
    assert main(["compare", "--candidate", str(tmp_path / "child"), "--reference", str(baseline_model[0]),
                 "--data", *DATA, "--bootstrap", "200"]) == 0
    assert "the reference is the candidate's parent" in capsys.readouterr().out
