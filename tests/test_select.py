"""Choosing the next rows to label: each strategy on constructed scores, de-duplication, the command."""
import json

import numpy as np
import pandas as pd
import pytest

from collectguard.cli import main
from collectguard.inference.classifier import PROB_COLUMNS
from collectguard.training.select import SelectionError, log_odds_margins, select_rows

THRESHOLDS = [0.5, 0.5, 0.05, 0.5]  # deception's threshold is low


def frame(probs, texts=None):
    out = pd.DataFrame(np.asarray(probs, dtype=float), columns=PROB_COLUMNS)
    distinct = [f"第{i}条完全不同的话{chr(0x4E00 + 37 * i)}{chr(0x5000 + 53 * i)}" for i in range(len(out))]
    out.insert(0, "text", texts or distinct)
    out.insert(0, "id", [f"r{i}" for i in range(len(out))])
    return out


def test_uncertainty_is_measured_in_log_odds_from_each_threshold():
    probs = [[0.9, 0.1, 0.01, 0.1],   # 0: far from everything
             [0.35, 0.1, 0.001, 0.1],  # 1: threat 0.35 vs 0.5: 0.62 log-odds
             [0.9, 0.1, 0.07, 0.1],    # 2: deception 0.07 vs 0.05: 0.36 log-odds -> nearest
             [0.1, 0.52, 0.001, 0.1]]  # 3: insult 0.52 vs 0.5: 0.08 -> nearest of all
    margins = log_odds_margins(np.array(probs), np.array(THRESHOLDS))
    assert margins[2, 2] == pytest.approx(abs(np.log(0.07 / 0.93) - np.log(0.05 / 0.95)))
    chosen = select_rows(frame(probs), THRESHOLDS, 3, "uncertainty")
    assert chosen["id"].tolist() == ["r3", "r2", "r1"]
    assert chosen["label"].tolist() == ["insult", "deception", "threat"]
    assert chosen["reason"][1] == ("closest to a threshold: prob_deception 0.070 vs threshold 0.050 "
                                   "(0.36 log-odds apart)")
    assert chosen["rank"].tolist() == [1, 2, 3]


def test_per_label_takes_each_label_in_turn():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0, 1, size=(40, 4))
    probs[:10, 0] = 0.5  # the ten most uncertain rows are all about threat
    chosen = select_rows(frame(probs), [0.5] * 4, 8, "per-label")
    assert chosen["label"].tolist() == ["threat", "insult", "deception", "privacy"] * 2
    assert chosen["reason"][1].startswith("insult's turn: among the rows closest to the insult threshold")
    assert select_rows(frame(probs), [0.5] * 4, 8, "uncertainty")["label"].tolist() == ["threat"] * 8


def test_near_duplicates_of_labelled_rows_and_of_each_other_are_skipped():
    texts = ["再不还钱就把你欠钱的事发到你通讯录每个人", "再不还钱就把你欠钱的事发到你通讯录每个人！！",
             "逾期会上报征信，我们也可能依法起诉你", "逾期会上报征信，我们也可能依法起诉您",
             "你个废物欠钱不还还有脸挂电话"]
    probs = [[0.50, 0.1, 0.1, 0.1], [0.51, 0.1, 0.1, 0.1], [0.52, 0.1, 0.1, 0.1], [0.53, 0.1, 0.1, 0.1],
             [0.7, 0.1, 0.1, 0.1]]
    labelled = ["逾期會上報徵信，我們也可能依法起訴你"]
    chosen = select_rows(frame(probs, texts), [0.5] * 4, 5, "uncertainty", labelled_texts=labelled)
    assert chosen["id"].tolist() == ["r0", "r4"]  # r1 repeats r0; r2, r3 repeat a labelled row (across scripts)


def test_diverse_spreads_the_batch_over_clusters():
    """The 2 * POOL_FACTOR most uncertain rows: six about a debt, then four about the weather."""
    debt = [f"你欠的{n}块钱今天必须还上不然后果自负{chr(0x4E00 + 7 * n)}{chr(0x4F00 + 11 * n)}" for n in range(6)]
    weather = [f"今天天气不错我们{chr(0x5100 + 13 * n)}{chr(0x5200 + 17 * n)}出去走走吧公园里人很多" for n in range(4)]
    probs = [[0.5 + 0.001 * i, 0.1, 0.1, 0.1] for i in range(10)]
    uncertain = select_rows(frame(probs, debt + weather), [0.5] * 4, 2, "uncertainty")
    diverse = select_rows(frame(probs, debt + weather), [0.5] * 4, 2, "diverse")
    assert uncertain["id"].tolist() == ["r0", "r1"]
    assert diverse["id"].tolist() == ["r0", "r6"]  # the most uncertain row of each topic
    assert "most uncertain of cluster" in diverse["reason"][1]


def test_random_is_a_reproducible_sample():
    probs = np.random.default_rng(1).uniform(size=(50, 4))
    first = select_rows(frame(probs), [0.5] * 4, 10, "random", seed=3)
    assert first["id"].tolist() == select_rows(frame(probs), [0.5] * 4, 10, "random", seed=3)["id"].tolist()
    assert first["id"].tolist() != select_rows(frame(probs), [0.5] * 4, 10, "random", seed=4)["id"].tolist()


def test_bad_requests_are_refused():
    with pytest.raises(SelectionError, match="--n must be at least 1"):
        select_rows(frame([[0.5] * 4]), [0.5] * 4, 0, "uncertainty")


def test_command_reads_scored_files_and_writes_the_batch(baseline_model, tmp_path, capsys):
    scored = frame(np.random.default_rng(2).uniform(size=(30, 4))).drop(columns="id")
    scored["status"] = ["ok"] * 29 + ["empty_text"]
    scored.loc[0, PROB_COLUMNS] = [0.5, 0.5, 0.5, 0.5]
    scored.to_parquet(tmp_path / "scored.parquet")
    out = tmp_path / "batch.jsonl"
    assert main(["select", "--model", str(baseline_model[0]), "--scores", str(tmp_path / "scored.parquet"),
                 "--n", "5", "--strategy", "uncertainty", "--out", str(out), "--labelled"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and "scored.parquet:30" not in {r["id"] for r in rows}  # not scored: not chosen
    assert all(r["reason"].startswith("closest to a threshold") and r["scored_file"].endswith("scored.parquet")
               for r in rows)
    assert "wrote" in capsys.readouterr().out
    scored.astype({"prob_deception": object}).assign(prob_deception=["0.5"] * 6 + ["0,5"] + ["0.2"] * 23).to_csv(
        tmp_path / "typo.csv", index=False)
    assert main(["select", "--model", str(baseline_model[0]), "--scores", str(tmp_path / "typo.csv"), "--n", "5",
                 "--strategy", "random", "--out", str(out)]) == 2
    assert f"--scores {tmp_path / 'typo.csv'}: row 7: prob_deception '0,5' is not a number" in capsys.readouterr().err
    scored.drop(columns="prob_insult").to_csv(tmp_path / "bad.csv", index=False)
    assert main(["select", "--model", str(baseline_model[0]), "--scores", str(tmp_path / "bad.csv"), "--n", "5",
                 "--strategy", "diverse", "--out", str(out)]) == 2
    assert f"--scores {tmp_path / 'bad.csv'}: no column(s) ['prob_insult']" in capsys.readouterr().err
