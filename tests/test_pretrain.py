"""``collectguard pretrain``: loss falls, resume is exact, evaluation texts are refused, the result
loads with AutoModelForMaskedLM and fine-tunes as ``model.base_model``; the precision choice."""
import dataclasses
import json

import numpy as np
import pytest
from transformers import TrainerCallback

from collectguard.cli import main as cli_main
from collectguard.inference import precision
from collectguard.inference.normalize import normalize
from collectguard.inference.records import load_labelled
from collectguard.training.leakage import EvaluationTextError, EvaluationTexts
from collectguard.training.paths import SPLITS_DIR
from collectguard.training.pretrain import MaskingCollator, parse_args, pretrain

from .conftest import CONFIGS, FIXTURES, MINI

TINY = ["--base-model", "scratch", "--layers", "1", "--hidden", "32", "--heads", "2", "--intermediate", "64",
        "--block-length", "32", "--batch-size", "8", "--held-out", "0.25", "--learning-rate", "2e-3",
        "--eval-steps", "2", "--precision", "fp32", "--quiet"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder with a text file and a CSV file of the mini fixture's texts (those that are not
    evaluation texts: the fixture holds some rows of the test split)."""
    folder = tmp_path_factory.mktemp("corpus")
    evaluation = EvaluationTexts.load()
    texts = [r.text for name in ("train", "dev") for r in load_labelled(FIXTURES / f"mini_{name}.jsonl")
             if not evaluation.owner(normalize(r.text))]
    assert len(texts) > 120
    (folder / "a.txt").write_text("\n".join(texts[:100]) + "\n", encoding="utf-8")
    (folder / "b.csv").write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts[100:])),
                                  encoding="utf-8")
    return folder


def run(corpus, out, *extra, callbacks=()):
    return pretrain(parse_args(["--corpus", str(corpus), "--out", str(out), *TINY, *extra]), callbacks)


@pytest.fixture(scope="module")
def pretrained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    return out, run(corpus, out, "--max-steps", "24", "--save-dtype", "fp16", "--snapshot-at", "0.5")


def test_a_few_steps_lower_the_held_out_loss(pretrained):
    out, facts = pretrained
    assert facts["complete"] and facts["steps"] == 24
    assert facts["final_held_out_loss"] < facts["initial_held_out_loss"] - 0.3
    assert [p["step"] for p in facts["curve"] if "held_out_loss" in p][:3] == [0, 2, 4]
    card = (out / "model" / "README.md").read_text(encoding="utf-8")
    assert "| 24 |" in card and "a.txt" in card and "b.csv" in card
    assert (out / "snapshots" / "step-12" / "model.safetensors").is_file()


def test_result_loads_as_masked_lm_and_fine_tunes_as_base_model(pretrained, tmp_path):
    import torch
    from transformers import AutoModelForMaskedLM

    from collectguard.training.base_model import load_base_model
    from collectguard.training.config import load_config
    from collectguard.training.train import train_model

    model_dir = pretrained[0] / "model"
    masked_lm = AutoModelForMaskedLM.from_pretrained(model_dir)
    assert masked_lm.config.num_hidden_layers == 1 and masked_lm.dtype == torch.float16  # stored in fp16
    config = load_config(CONFIGS / "tiny.yaml", [*MINI, f"model.base_model={model_dir}", "training.max_steps=4",
                                                 "training.precision=fp32"])
    _, classifier = load_base_model(config.model, tmp_path)
    assert classifier.dtype == torch.float32  # fp16 weights are trained in fp32
    embeddings = classifier.bert.embeddings.word_embeddings.weight
    assert torch.allclose(embeddings, masked_lm.bert.embeddings.word_embeddings.weight.float())
    metrics = train_model(config, tmp_path / "fine-tuned", quiet=True)
    assert metrics["training"]["steps"] == 4 and 0 <= metrics["test"]["macro_f1"] <= 1


class Interrupt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 7:
            raise KeyboardInterrupt


def test_resumed_run_matches_an_uninterrupted_one(corpus, pretrained, tmp_path):
    whole = json.loads((pretrained[0] / "model" / "pretraining.json").read_text())
    out = tmp_path / "run"
    options = ("--max-steps", "24", "--save-dtype", "fp16", "--save-steps", "4", "--keep-checkpoints", "1")
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out, *options, callbacks=[Interrupt()])
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["checkpoint-4"]
    resumed = run(corpus, out, *options, "--resume")
    assert resumed["complete"] and len(resumed["sessions"]) == 2
    whole_curve = {p["step"]: p for p in whole["curve"]}
    for point in resumed["curve"]:
        if point["step"] > 4:
            for key in ("train_loss", "held_out_loss"):
                assert point[key] == pytest.approx(whole_curve[point["step"]][key], abs=1e-5), point
    assert resumed["final_held_out_loss"] == pytest.approx(whole["final_held_out_loss"], abs=1e-5)


def test_evaluation_texts_in_the_corpus_are_refused(tmp_path, capsys):
    test_text = load_labelled(SPLITS_DIR / "test.jsonl")[5].text
    corpus = tmp_path / "corpus.txt"
    # full-width spaces and padding: still the same text after normalisation
    corpus.write_text(f"一句普通的话\n  {test_text}\u3000\n", encoding="utf-8")
    code = cli_main(["pretrain", "--corpus", str(corpus), "--out", str(tmp_path / "run"), *TINY, "--max-steps", "2"])
    error = capsys.readouterr().err
    assert code == 2 and f"{corpus}:2" in error and "test.jsonl" in error and "evaluation text" in error
    with pytest.raises(EvaluationTextError):
        run(corpus, tmp_path / "run2", "--max-steps", "2")


def test_dropped_evaluation_texts_are_counted_and_left_out(corpus, tmp_path):
    test_text = load_labelled(SPLITS_DIR / "test.jsonl")[5].text
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.txt").write_text((corpus / "a.txt").read_text(encoding="utf-8") + test_text + "\n", encoding="utf-8")
    facts = run(mixed, tmp_path / "run", "--max-steps", "2", "--drop-evaluation-texts")
    assert [f["evaluation_texts"] for f in facts["corpus"]["files"]] == [1]


def test_whole_word_masking_masks_every_character_of_a_word(tmp_path):
    from collectguard.training.pretrain_corpus import CorpusSettings, _packer, word_starts
    from collectguard.training.tiny import build_tokenizer

    tokenizer = build_tokenizer(tmp_path / "tok")
    text = "我们会按规定把逾期记录报送到征信系统这个会影响您以后贷款买房" * 3
    settings = CorpusSettings(sources=[], block_length=32, whole_word_mask=True)
    blocks = _packer(tokenizer, settings.block_length, True)({"text": [text]})
    collator = MaskingCollator(tokenizer, probability=0.5, whole_word=True)
    batch = collator([{k: v[i] for k, v in blocks.items()} for i in range(len(blocks["input_ids"]))])
    masked = (batch["labels"] != -100).numpy()
    assert masked.any()
    starts = sorted(word_starts(text))
    assert len(starts) < len(text) * 0.8  # the segmenter found words longer than one character
    for row, offsets in zip(masked, np.array(blocks["offset_mapping"]), strict=True):
        words = {}
        for position in range(1, len(row) - 1):
            words.setdefault(offsets[position][0] - position, []).append(row[position])
        assert all(len(set(flags)) == 1 for flags in words.values())
        assert any(len(flags) > 1 and flags[0] for flags in words.values())


@pytest.mark.parametrize(("fp32_s", "bf16_s", "expected"),
                         [(1.0, 0.5, "bf16"), (1.0, 1.2, "fp32"), (1.0, 0.98, "fp32")])
def test_auto_precision_keeps_the_faster_measured_one(monkeypatch, fp32_s, bf16_s, expected):
    from transformers import BertConfig, BertForMaskedLM

    model = BertForMaskedLM(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                                       intermediate_size=8))
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(precision, "_seconds_per_pass", lambda *a, bf16, **k: bf16_s if bf16 else fp32_s)
    assert precision.fastest_cpu_precision(model, training=True) == expected
    monkeypatch.setattr(precision, "cpu_supports_bf16", lambda: False)
    assert precision.fastest_cpu_precision(model, training=False) == "fp32"


def test_shipped_zh_small_is_a_small_fp16_masked_lm_that_the_zh_small_config_fine_tunes(tmp_path):
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from collectguard.training.base_model import load_base_model
    from collectguard.training.config import load_config
    from collectguard.training.paths import PROJECT_ROOT
    from collectguard.training.tiny import character_vocabulary

    folder = PROJECT_ROOT / "models" / "pretrained" / "zh-small"
    weights = folder / "model.safetensors"
    assert weights.stat().st_size <= 25 * 2**20
    with safe_open(weights, "pt") as handle:
        assert {handle.get_slice(k).get_dtype() for k in handle.keys()} == {"F16"}
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "held-out MLM loss" in card and "SHA-256" in card and "Apache-2.0" in card
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))) == character_vocabulary()
    masked_lm = AutoModelForMaskedLM.from_pretrained(folder, dtype=torch.float32).eval()
    batch = tokenizer(["逾期会影响你的征[MASK]"], return_tensors="pt")
    with torch.no_grad():
        logits = masked_lm(**batch).logits
    assert torch.isfinite(logits).all()
    config = load_config(CONFIGS / "zh-small.yaml")
    assert config.model.base_model == "models/pretrained/zh-small"
    _, classifier = load_base_model(dataclasses.replace(config.model, base_model=str(folder)), tmp_path)
    assert torch.equal(classifier.bert.embeddings.word_embeddings.weight,
                       masked_lm.bert.embeddings.word_embeddings.weight)
