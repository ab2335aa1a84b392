"""``collectguard export --model DIR --onnx [--int8]``: ONNX files for fast CPU scoring.

Writes ``model.onnx`` (fp32) into the model directory and, with ``--int8``, ``model.int8.onnx``
(onnxruntime dynamic quantisation: int8 weights, activations quantised per batch). Both take
``input_ids`` and ``attention_mask`` (int64, dynamic batch and sequence axes) and return ``logits``.
After export the ONNX logits are compared with torch's on sample texts; an fp32 export that differs
by more than 1e-3 is deleted and the command fails. Score with
``Classifier.from_pretrained(DIR, backend="onnx", precision="fp32" | "int8")``.

The exporter is ``torch.onnx.export(dynamo=True)`` (torch.export based; needs ``onnxscript``): the
TorchScript exporter (``dynamo=False``) gives the same graph speed but is deprecated in torch 2.9+.
"""
from __future__ import annotations

import argparse
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .modeldir import TRANSFORMER, ModelDirectoryError, read_metadata
from .onnx_scorer import ONNX_FILES, record_weights
from .transformer import pad

logger = logging.getLogger(__name__)
FP32_TOLERANCE = 1e-3
SAMPLE_TEXTS = [
    "您好，请问是张先生本人吗？",
    "再不还钱就把你欠钱的事发到你通讯录每个人",
    "你個廢柴，欠錢唔還",
    "好",
    "",
    "您好这里是客服中心请您按时还款，" * 12,  # longer than one window: truncated to max_length here
]


def sample_batch(tokenizer, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(input_ids, attention_mask)`` of :data:`SAMPLE_TEXTS`, truncated to ``max_length``."""
    encoded = tokenizer(SAMPLE_TEXTS, truncation=True, max_length=max_length)["input_ids"]
    return pad(encoded, tokenizer.pad_token_id)


def export_fp32(model, input_ids: np.ndarray, attention: np.ndarray, path: Path) -> None:
    """``torch.onnx.export`` with dynamic batch and sequence axes, weights inside the file."""
    import torch

    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence", max=model.config.max_position_embeddings)
    # two rows and some padding, so that neither axis is specialised to 1 and the mask is traced
    example = {"input_ids": torch.from_numpy(input_ids[:2, :8].copy()),
               "attention_mask": torch.from_numpy(attention[:2, :8].copy())}
    example["attention_mask"][0, 5:] = 0
    with warnings.catch_warnings():  # noise from torch's own exporter internals
        warnings.filterwarnings("ignore", message=r".*The axis name")  # the Dim names are used
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
        torch.onnx.export(model, (), str(path), kwargs=example, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamo=True, external_data=False, verbose=False,
                          dynamic_shapes={"input_ids": {0: batch, 1: sequence},
                                          "attention_mask": {0: batch, 1: sequence}})


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul/Gemm weights with onnxruntime (per-tensor scales).

    onnxruntime's advice to run ``quant_pre_process`` first is silenced: its symbolic shape inference
    fails on the dynamic sequence axis, and quantising without it is accurate (see the check after).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def max_logit_difference(model, path: Path, input_ids: np.ndarray, attention: np.ndarray) -> float:
    """Largest absolute logit difference between torch and onnxruntime, on the whole padded batch
    and on each row alone (batch 1, no padding)."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batches = [(input_ids, attention)]
    for row in range(len(input_ids)):
        length = int(attention[row].sum())
        batches.append((input_ids[row : row + 1, :length], attention[row : row + 1, :length]))
    worst = 0.0
    with torch.inference_mode():
        for ids, mask in batches:
            expected = model(input_ids=torch.from_numpy(ids.copy()),
                             attention_mask=torch.from_numpy(mask.copy())).logits.numpy()
            got = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            worst = max(worst, float(np.abs(expected - got).max()))
    return worst


def export_model_dir(model_dir: Path, int8: bool) -> list[Path]:
    """Write and verify the ONNX files; returns their paths. Raises ``ModelDirectoryError`` when the
    fp32 export does not reproduce torch's logits."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not model_dir.is_dir():
        raise ModelDirectoryError(f"{model_dir}: no such model directory")
    metadata = read_metadata(model_dir)
    if metadata.kind != TRANSFORMER:
        raise ModelDirectoryError(f"{model_dir}: only transformer models export to ONNX, not {metadata.kind!r}")
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, use_safetensors=True, trust_remote_code=False).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    input_ids, attention = sample_batch(tokenizer, metadata.max_length)
    fp32_path = model_dir / ONNX_FILES["fp32"]
    export_fp32(model, input_ids, attention, fp32_path)
    difference = max_logit_difference(model, fp32_path, input_ids, attention)
    logger.info("%s: max |logit difference| vs torch fp32 on %d sample texts: %.2e (limit %.0e)", fp32_path,
                len(SAMPLE_TEXTS), difference, FP32_TOLERANCE)
    if difference > FP32_TOLERANCE:
        fp32_path.unlink()
        raise ModelDirectoryError(f"ONNX export differs from torch by {difference:.2e} > {FP32_TOLERANCE:.0e}; "
                           f"{fp32_path.name} removed")
    written = [fp32_path]
    if int8:
        int8_path = model_dir / ONNX_FILES["int8"]
        quantize_int8(fp32_path, int8_path)
        difference = max_logit_difference(model, int8_path, input_ids, attention)
        logger.info("%s: max |logit difference| vs torch fp32: %.2e (int8; for information)", int8_path, difference)
        written.append(int8_path)
    record_weights(model_dir, [p.name for p in written])
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard export", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="transformer model directory")
    parser.add_argument("--onnx", action="store_true", required=True, help="export to ONNX (the only format)")
    parser.add_argument("--int8", action="store_true", help="also write model.int8.onnx (dynamic int8)")
    args = parser.parse_args(argv)
    written = export_model_dir(args.model, args.int8)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0

