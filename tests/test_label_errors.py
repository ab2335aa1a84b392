"""Finding wrong labels: planted label errors rank near the top; the command's output and options."""
import pandas as pd

from collectguard.cli import main
from collectguard.inference.records import load_labelled
from collectguard.training.config import load_config
from collectguard.training.label_errors import out_of_fold_probabilities, rank_label_issues
from collectguard.training.paths import SPLITS_DIR

from .conftest import CONFIGS, FIXTURES


def test_planted_label_errors_rank_near_the_top():
    rows = load_labelled(SPLITS_DIR / "train.jsonl")[:400]
    texts, labels = [r.text for r in rows], [list(r.labels) for r in rows]
    planted = [i for i, r in enumerate(rows) if len(r.labels) >= 2][:10]
    for i in planted:  # ten clear violations relabelled compliant
        labels[i] = []
    probs = out_of_fold_probabilities(load_config(CONFIGS / "baseline.yaml"), texts, labels, folds=3, seed=13)
    ranked = rank_label_issues([r.id for r in rows], texts, labels, probs)
    ranks = ranked.set_index("id").loc[[rows[i].id for i in planted], "rank"]
    assert (ranks <= 50).sum() >= 5  # a random order puts 1.25 of them in the top 50 of 400
    assert ranked["label_quality"].is_monotonic_increasing and ranked["rank"].tolist() == list(range(1, 401))
    flagged = ranked.set_index("id").loc[rows[planted[0]].id]
    assert flagged["labels"] == "compliant" and flagged["suggested"] != "compliant"
    assert flagged["differs"].startswith("+")


def test_command_ranks_only_the_data_rows(tmp_path, capsys):
    out = tmp_path / "ranked.csv"
    assert main(["find-label-errors", "--data", str(FIXTURES / "mini_dev.jsonl"), "--extra-train",
                 str(FIXTURES / "mini_train.jsonl"), "--out", str(out), "--folds", "3"]) == 0
    ranked = pd.read_csv(out)
    assert set(ranked["id"]) == {r.id for r in load_labelled(FIXTURES / "mini_dev.jsonl")}
    assert {"rank", "labels", "suggested", "differs", "label_quality", "cleanlab_issue", "prob_threat",
            "source_file"} <= set(ranked.columns)
    assert "40 rows ranked" in capsys.readouterr().out
    assert main(["find-label-errors", "--data", str(FIXTURES / "mini_dev.jsonl"), "--out", str(out),
                 "--config", str(CONFIGS / "tiny.yaml")]) == 2
