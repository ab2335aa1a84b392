import json

import numpy as np
import pytest

from collectguard.inference.classifier import PROB_COLUMNS, Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import read_heldout
from collectguard.inference.records import load_labelled
from collectguard.inference.transformer import windows
from collectguard.training.base_model import BaseModelNotFound, load_base_model
from collectguard.training.config import ConfigError, ModelConfig, load_config
from collectguard.training.metrics import multilabel_metrics, tune_threshold

from .conftest import FIXTURES

TEXTS = ["再不还钱就把你欠钱的事发到你通讯录每个人", "您好，请问是张先生本人吗？", "你個廢柴，欠錢唔還"]


def test_tiny_model_training_loss_falls(tiny_model):
    _, metrics = tiny_model
    losses = metrics["training"]["train_loss_by_epoch"]
    assert len(losses) >= 3 and losses[-1] < losses[0] * 0.9


def test_save_load_reproduces_predictions_exactly(tiny_model):
    model_dir, _ = tiny_model
    first = Classifier.from_pretrained(model_dir).predict(TEXTS)
    second = Classifier.from_pretrained(model_dir, batch_size=1).predict(TEXTS)
    assert list(first.columns) == [*PROB_COLUMNS, "pred_labels", "compliant", "status"]
    np.testing.assert_allclose(first[PROB_COLUMNS].to_numpy(), second[PROB_COLUMNS].to_numpy(), atol=1e-6)
    assert first["pred_labels"].tolist() == second["pred_labels"].tolist()
    assert (first["compliant"] == first["pred_labels"].map(len).eq(0)).all()


def test_directory_loads_with_automodel_and_pipeline(tiny_model):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model_dir, _ = tiny_model
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert [model.config.id2label[i] for i in range(4)] == list(VIOLATIONS)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert "[UNK]" not in tokenizer.convert_ids_to_tokens(tokenizer("欠錢还钱 sb")["input_ids"])
    scores = pipeline("text-classification", model=str(model_dir), top_k=None, function_to_apply="sigmoid")(TEXTS[:1])[0]
    by_label = {s["label"]: s["score"] for s in scores}
    expected = Classifier.from_pretrained(model_dir).predict_proba(TEXTS[:1])[0]
    # the pipeline sees the raw text, the Classifier the normalised one; this text is unchanged by it
    assert by_label == pytest.approx(dict(zip(VIOLATIONS, expected.tolist())), abs=1e-5)
    files = {p.name for p in model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "thresholds.json", "metrics.json",
            "collectguard.json", "training_config.yaml", "data_hashes.json", "README.md"} <= files
    assert not any(name.endswith((".bin", ".pkl", ".pt")) for name in files)
    assert "Not pretrained" in (model_dir / "README.md").read_text()


def test_single_string_and_empty_list(baseline_model):
    classifier = Classifier.from_pretrained(baseline_model[0])
    assert len(classifier.predict("还钱")) == 1
    assert classifier.predict([]).empty


def test_baseline_is_stored_without_pickle_and_learns(baseline_model):
    model_dir, metrics = baseline_model
    assert {p.suffix for p in model_dir.iterdir()} <= {".json", ".safetensors", ".yaml", ".md", ".csv"}
    assert metrics["dev"]["any_violation"]["f1"] > 0.6  # far above the 0.0 of an untrained model
    ids, truth, probs = read_heldout(model_dir)  # the test split's truth and probabilities, for prevalence
    assert len(ids) == metrics["test"]["n"] == len(truth)
    np.testing.assert_allclose(probs, Classifier.from_pretrained(model_dir).predict_proba(
        [r.text for r in load_labelled(FIXTURES / "mini_test.jsonl")]), atol=1e-6)
    stored = json.loads((model_dir / "thresholds.json").read_text())
    assert set(stored) == set(VIOLATIONS) and all(0 < v < 1 for v in stored.values())


def test_windows_cover_every_token_and_long_texts_take_the_max(tiny_model):
    ids = list(range(300))
    pieces = windows(ids, 126, 64)
    assert all(len(p) <= 126 for p in pieces) and sorted({i for p in pieces for i in p}) == ids
    assert windows(ids[:10], 126, 64) == [ids[:10]]
    classifier = Classifier.from_pretrained(tiny_model[0])
    long_text = "您好这里是客服中心请您按时还款" * 20 + "不还钱我们就去你家门口堵你"
    whole = classifier.predict_proba(long_text)[0]
    scorer = classifier.scorer
    token_ids = scorer.tokenizer(long_text, add_special_tokens=False)["input_ids"]
    per_window = [scorer.probabilities([scorer.tokenizer.decode(p).replace(" ", "")])[0]
                  for p in windows(token_ids, scorer.body_length, scorer.stride)]
    assert len(per_window) > 1
    np.testing.assert_allclose(whole, np.max(per_window, axis=0), atol=1e-5)


def test_threshold_tuning_on_a_constructed_case():
    truth = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    score = np.array([0.05, 0.2, 0.45, 0.5, 0.7, 0.9, 0.75, 0.3])
    # F1 by threshold: at 0.5 -> tp 3, fp 1, fn 1 = 0.75; at 0.3 -> tp 4, fp 2 = 0.8; best is 0.3,
    # and the midpoint between 0.2 (largest score below) and 0.3 is returned.
    assert tune_threshold(truth, score) == pytest.approx(0.25)
    assert tune_threshold(np.zeros(4, int), np.array([0.1, 0.2, 0.3, 0.4])) == 0.5


def test_metrics_match_hand_computation():
    y_true = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]])
    y_pred = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    metrics = multilabel_metrics(y_true, y_pred)
    threat = metrics["per_label"]["threat"]
    assert (threat["tp"], threat["fp"], threat["fn"]) == (1, 1, 1) and threat["f1"] == pytest.approx(0.5)
    assert metrics["per_label"]["privacy"]["f1"] == 0.0
    assert metrics["macro_f1"] == pytest.approx((0.5 + 1 + 1 + 0) / 4)
    assert metrics["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))  # tp 3, fp 1, fn 2
    anyv = metrics["any_violation"]
    assert (anyv["tp"], anyv["fp"], anyv["fn"], anyv["tn"]) == (3, 1, 0, 0)
    assert metrics["exact_match"] == pytest.approx(1 / 4)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="--config: no such file"):
        load_config(tmp_path / "nope.yaml")


def test_missing_base_model_says_how_to_provide_it(tmp_path):
    with pytest.raises(BaseModelNotFound, match="huggingface-cli download no-such-org/no-such-model"):
        load_base_model(ModelConfig(base_model="no-such-org/no-such-model"), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaseModelNotFound, match="without config.json"):
        load_base_model(ModelConfig(base_model=str(tmp_path / "empty")), tmp_path)
