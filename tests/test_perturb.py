import random
import re
import unicodedata

import pytest

from collectguard.inference.normalize import mask_pii
from collectguard.inference.records import load_labelled
from collectguard.training import perturb as P
from collectguard.training.config import load_config
from collectguard.training.perturb import (
    AUGMENTATIONS,
    FILLERS,
    HOMOPHONES,
    PERTURBATIONS,
    asr_fillers,
    augment_dataset,
    disguised_profanity,
    homophones,
    no_punctuation,
    script_swap,
)

from .conftest import CONFIGS, FIXTURES, MINI

THREAT = "你再不还钱，我们就去你公司找你领导！"
ASR_THREAT = "逾期这么久了，征信已经花了，律师明天就去法院起诉你，还款吧。"
INSULT = "你个傻逼，他妈的还不还钱？废物！"
TRADITIONAL = "你再不還錢，我們就去你公司找你領導！"


def rng(seed=0):
    return random.Random(seed)


def test_registry_has_the_five_perturbations():
    assert set(PERTURBATIONS) == {"script_swap", "no_punctuation", "asr_fillers", "homophones",
                                  "disguised_profanity"}
    assert set(AUGMENTATIONS) <= set(PERTURBATIONS) and "no_punctuation" not in AUGMENTATIONS
    assert 30 <= len(HOMOPHONES) + len(P.TRADITIONAL_HOMOPHONES) <= 60


def test_script_swap_goes_both_ways_and_round_trips():
    assert script_swap(THREAT, rng()) == TRADITIONAL
    assert script_swap(TRADITIONAL, rng()) == THREAT
    assert script_swap(script_swap(THREAT, rng()), rng()) == THREAT
    assert script_swap("sb 123", rng()) == "sb 123"  # nothing to convert


def test_no_punctuation_leaves_no_punctuation_and_keeps_the_words():
    text = "喂？你好！请问是张先生吗……我们是XX金融的，您的欠款3,000.50元（含利息）已逾期; ok?"
    out = no_punctuation(text, rng())
    assert not any(unicodedata.category(c).startswith("P") for c in out.replace(".", ""))
    assert "3000.50" in out and "  " not in out and out == out.strip()
    assert re.sub(r"\W", "", out.replace(".", "")) == re.sub(r"\W", "", text.replace(",", "").replace(".", ""))


def test_no_punctuation_keeps_masked_numbers_maskable():
    out = no_punctuation("号码：138-1234-5678，身份证110101********1234。", rng())
    assert mask_pii(out) == "号码 [电话] 身份证[证件号]"


def test_asr_fillers_inserts_fillers_without_punctuation_or_splitting_key_words():
    outs = [asr_fillers(ASR_THREAT, rng(seed)) for seed in range(50)]
    for out in outs:
        assert not re.search(r"[，。！？]", out)
        for word in ("征信", "律师", "法院", "起诉", "还款", "逾期"):
            assert word in out  # protected words are never split by a filler
        assert 1 <= sum(word in FILLERS for word in out.split(" ")) <= 3
    assert len(set(outs)) > 10
    assert any(re.search(r"([\u4e00-\u9fff])\1", out) and not re.search(r"([\u4e00-\u9fff])\1", ASR_THREAT)
               for out in outs)  # a stutter sometimes


def test_asr_fillers_uses_the_texts_script():
    outs = [asr_fillers(TRADITIONAL, rng(seed)) for seed in range(30)]
    assert not any(f in out for out in outs for f in ("那个", "对吧", "就是说"))
    assert any(f in out for out in outs for f in ("那個", "對吧", "就是說", "嗯", "啊", "呃", "然後"))


def test_homophones_replace_about_seventy_percent_of_occurrences():
    text = "征信" * 200
    out = homophones(text, rng(1))
    replaced = out.count("征性")
    assert replaced + out.count("征信") == 200
    assert 0.6 * 200 < replaced < 0.8 * 200
    assert homophones(ASR_THREAT, rng(2)) != ASR_THREAT
    assert homophones("徵信逾期了還款吧", rng(3), probability=1.0) == "徵性魚期了環款吧"


def test_homophones_leave_texts_without_dictionary_words_alone():
    assert homophones("你好，请问是张先生吗", rng()) == "你好，请问是张先生吗"


def test_disguised_profanity_disguises_every_insult():
    out = disguised_profanity(INSULT, rng())
    for word in ("傻逼", "他妈的", "废物"):
        assert word not in out
    assert "还不还钱" in out
    assert disguised_profanity("幹你娘，白癡", rng()) in {f"{a}，{b}" for a in P.PROFANITY["幹你娘"]
                                                      for b in P.PROFANITY["白癡"]}


@pytest.mark.parametrize("text", [THREAT, "利息已经滚到四万了，利滚利你算过吗", "您好，请问是张先生吗？"])
def test_disguised_profanity_leaves_texts_without_profanity_unchanged(text):
    assert disguised_profanity(text, rng()) == text


def test_disguised_profanity_keeps_the_script():
    outs = {disguised_profanity("你這個垃圾", rng(seed)) for seed in range(20)}
    assert "你這個辣雞" in outs and "你這個辣鸡" not in outs


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_same_seed_same_output_and_a_text_with_targets_changes(name):
    texts = [THREAT, ASR_THREAT, INSULT, TRADITIONAL]
    first = P.perturb(texts, name, seed=7)
    assert first == P.perturb(texts, name, seed=7)
    assert any(a != b for a, b in zip(first, texts, strict=True))
    if name in ("asr_fillers", "homophones"):
        assert P.perturb(texts * 5, name, seed=7) != P.perturb(texts * 5, name, seed=8)


def test_perturb_rejects_unknown_names():
    with pytest.raises(KeyError, match="unknown perturbation"):
        P.perturb(["x"], "typos", 0)


def _dataset(texts, labels=("threat",), script="simplified"):
    from datasets import Dataset

    return Dataset.from_list([{"id": f"r{i}", "text": text, "labels": list(labels), "speaker": "agent",
                               "style": "clean", "script": script, "source_file": "x.jsonl"}
                              for i, text in enumerate(texts)])


def test_augment_dataset_adds_one_labelled_copy_per_changed_row(tmp_path):
    from collectguard.training.data import load_labelled_dataset

    rows = load_labelled_dataset([FIXTURES / "mini_train.jsonl"], str(tmp_path))
    out = augment_dataset(rows, seed=13)
    assert out.select(range(len(rows))).to_list() == rows.to_list()
    copies = out.select(range(len(rows), len(out))).to_list()
    assert len(rows) // 2 < len(copies) <= len(rows)
    by_id = {r["id"]: r for r in rows}
    for copy in copies:
        original_id, name = copy["id"].split("~aug-")
        original = by_id[original_id]
        assert name in AUGMENTATIONS
        assert copy["labels"] == original["labels"] and copy["text"] != original["text"]
        assert copy["source_file"] == original["source_file"]  # every other field travels with the copy
        assert copy["text"] == PERTURBATIONS[name](original["text"], _row_rng(13, original_id, name))
    assert len({c["id"] for c in copies}) == len(copies)
    assert augment_dataset(rows, seed=13).to_list() == out.to_list()
    assert augment_dataset(rows, seed=14)["text"][len(rows):] != [c["text"] for c in copies]


def _row_rng(seed, row_id, name):
    generator = random.Random(f"{seed}:{row_id}")
    assert generator.choice(AUGMENTATIONS) == name
    return generator


def test_augment_dataset_skips_unchanged_copies_and_updates_the_script():
    rows = _dataset(["sb 123"] * 20)  # only asr_fillers changes this text
    copies = augment_dataset(rows, seed=0)["id"][len(rows):]
    assert 0 < len(copies) < len(rows) and all(c.endswith("~aug-asr_fillers") for c in copies)
    swapped = [r for r in augment_dataset(_dataset([THREAT] * 40), 0) if "script_swap" in r["id"]]
    assert swapped and all(r["script"] == "traditional" and r["text"] == TRADITIONAL for r in swapped)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("augment", [False, True])
def test_train_model_augments_train_rows_only(monkeypatch, tmp_path, augment):
    import collectguard.training.fit_baseline
    import collectguard.training.fit_transformer
    from collectguard.training.train import train_model

    seen = {}

    def fake_transformer(config, train, dev, output_dir, quiet=False):
        seen["transformer"] = (train["id"], dev["id"])
        raise _Stop

    def fake_baseline(config, train):
        seen["baseline"] = train["id"]
        raise _Stop

    monkeypatch.setattr(collectguard.training.fit_transformer, "fit_transformer", fake_transformer)
    monkeypatch.setattr(collectguard.training.fit_baseline, "fit_baseline", fake_baseline)
    overrides = [*MINI, f"training.augment={str(augment).lower()}"]
    for config_name in ("tiny.yaml", "baseline.yaml"):
        with pytest.raises(_Stop):
            train_model(load_config(CONFIGS / config_name, overrides), tmp_path / config_name)
    train = [r.id for r in load_labelled(FIXTURES / "mini_train.jsonl")]
    dev = [r.id for r in load_labelled(FIXTURES / "mini_dev.jsonl")]
    transformer_train, transformer_dev = seen["transformer"]
    assert transformer_dev == dev  # dev is never augmented
    for fitted in (transformer_train, seen["baseline"]):
        if augment:
            assert fitted[:len(train)] == train and len(fitted) > len(train)
            assert all("~aug-" in i for i in fitted[len(train):])
        else:
            assert fitted == train
