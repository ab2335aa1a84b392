"""Fast CPU paths: torch bf16/int8, ONNX export and the torch-free ONNX scorer (no timing here)."""
import shutil

import numpy as np
import pytest

from collectguard.inference.classifier import Classifier
from collectguard.inference.modeldir import ModelDirectoryError

LONG_TEXT = "您好这里是客服中心请您按时还款" * 20 + "不还钱我们就去你家门口堵你"
TEXTS = ["再不还钱就把你欠钱的事发到你通讯录每个人", "您好，请问是张先生本人吗？", "你個廢柴，欠錢唔還",
         "Call me at 13812345678 SB", "好", "", LONG_TEXT]
# bf16 keeps 8 mantissa bits and int8 quantises every Linear layer: on the tiny model they move the
# probabilities by 0.0006 (bf16) and 0.0012 (int8) at most; 0.02 leaves room for other thread counts
# and CPUs without hiding a broken path.
REDUCED_PRECISION_ATOL = 0.02
ONNX_ATOL = 1e-4


@pytest.fixture(scope="module")
def exported_model(tiny_model, tmp_path_factory):
    """A copy of the tiny model directory with model.onnx and model.int8.onnx."""
    from collectguard.inference.export import export_model_dir

    model_dir = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(tiny_model[0], model_dir)
    export_model_dir(model_dir, int8=True)
    return model_dir


@pytest.fixture(scope="module")
def fp32_probs(tiny_model):
    return Classifier.from_pretrained(tiny_model[0]).predict_proba(TEXTS)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_torch_is_close_to_fp32(tiny_model, fp32_probs, precision):
    probs = Classifier.from_pretrained(tiny_model[0], precision=precision).predict_proba(TEXTS)
    assert probs.shape == fp32_probs.shape
    np.testing.assert_allclose(probs, fp32_probs, atol=REDUCED_PRECISION_ATOL)


def test_onnx_scorer_matches_torch_fp32_including_windows(exported_model, fp32_probs):
    classifier = Classifier.from_pretrained(exported_model, backend="onnx", batch_size=3)
    scorer = classifier.scorer
    assert len(scorer.token_ids([LONG_TEXT])[0]) > scorer.body_length  # the long text is windowed
    np.testing.assert_allclose(classifier.predict_proba(TEXTS), fp32_probs, atol=ONNX_ATOL)
    torch_frame = Classifier.from_pretrained(exported_model).predict(TEXTS)
    assert classifier.predict(TEXTS)["pred_labels"].tolist() == torch_frame["pred_labels"].tolist()


def test_onnx_int8_is_close_to_fp32(exported_model, fp32_probs):
    probs = Classifier.from_pretrained(exported_model, backend="onnx", precision="int8").predict_proba(TEXTS)
    np.testing.assert_allclose(probs, fp32_probs, atol=REDUCED_PRECISION_ATOL)


def test_tokenizers_ids_equal_transformers_ids(tiny_model):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from collectguard.inference.normalize import normalize

    model_dir = tiny_model[0]
    fast = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    reference = AutoTokenizer.from_pretrained(model_dir)
    samples = TEXTS + [normalize(t) for t in TEXTS] + ["ＡＢＣ abc 123 ！？[电话]", "Ｈello\tworld\u3000欠款"]
    for text in samples:
        assert fast.encode(text, add_special_tokens=False).ids == \
            reference(text, add_special_tokens=False)["input_ids"], text


def test_onnx_scorer_does_not_import_torch(exported_model):
    import subprocess
    import sys

    code = ("import sys; from collectguard.inference.classifier import Classifier; "
            f"Classifier.from_pretrained({str(exported_model)!r}, backend='onnx').predict_proba(['还钱']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_onnx_file_says_to_export(tiny_model):
    with pytest.raises(ModelDirectoryError, match=r"no model\.onnx; run `collectguard export --model .* --onnx`"):
        Classifier.from_pretrained(tiny_model[0], backend="onnx")
    with pytest.raises(ModelDirectoryError, match=r"no model\.int8\.onnx; run `collectguard export .*--int8`"):
        Classifier.from_pretrained(tiny_model[0], backend="onnx", precision="int8")


@pytest.mark.parametrize("options, message", [
    ({"backend": "onnx", "precision": "bf16"}, "precision 'bf16' is not supported by backend 'onnx'"),
    ({"backend": "tensorrt"}, "backend 'tensorrt' is not one of"),
    ({"precision": "fp16"}, "precision 'fp16' is not supported by backend 'torch'"),
])
def test_unsupported_backend_and_precision_are_clear_errors(tiny_model, options, message):
    with pytest.raises(ValueError, match=message):
        Classifier.from_pretrained(tiny_model[0], **options)


def test_export_command_writes_and_verifies(exported_model, capsys, caplog):
    from collectguard.cli import main

    caplog.set_level("INFO")
    assert main(["export", "--model", str(exported_model), "--onnx"]) == 0
    assert "wrote" in capsys.readouterr().out and (exported_model / "model.onnx").is_file()
    assert "max |logit difference| vs torch fp32" in caplog.text


def test_benchmark_texts_are_seeded_and_8_to_80_characters():
    from collectguard.training.bench import benchmark_texts

    source = ["还钱", "您好，请问是张先生本人吗？", "再不还钱就把你欠钱的事发到你通讯录每个人" * 5]
    texts = benchmark_texts(source, 300, seed=1)
    assert len(texts) == 300 and all(8 <= len(t) <= 80 for t in texts)
    assert texts == benchmark_texts(source, 300, seed=1) != benchmark_texts(source, 300, seed=2)


def test_benchmark_table_marks_paths_losing_f1():
    from collectguard.training.bench import table

    results = {"pipeline b32": {"seconds": 10.0, "peak_mib": 900},
               "torch fp32": {"seconds": 5.0, "peak_mib": 1000, "f1": (0.900, 0.800)},
               "torch int8": {"seconds": 2.0, "peak_mib": 1100, "f1": (0.897, 0.796)},
               "onnx int8": {"seconds": 1.0, "peak_mib": 500, "f1": (0.890, 0.800)}}
    rows = {line.split("|")[1].strip(): line for line in table(results, 100).splitlines()[2:]}
    assert "| 5.00 | 2.50 |" in rows["torch int8"] and "not a default" not in rows["torch int8"]
    assert "| 10.00 | 5.00 |" in rows["onnx int8"] and "not a default" in rows["onnx int8"]


def test_shaped_model_vocabulary_has_the_bert_base_chinese_size():
    from collectguard.training.make_shaped_model import VOCAB_SIZE, padded_vocabulary
    from collectguard.training.tiny import character_vocabulary

    vocab = padded_vocabulary()
    assert len(vocab) == VOCAB_SIZE == 21128 and len(set(vocab)) == VOCAB_SIZE
    assert vocab[: len(character_vocabulary())] == character_vocabulary() and vocab[-1].startswith("[unused")
