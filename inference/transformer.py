"""Probabilities from a fine-tuned BERT-architecture model, with windows for long texts.

Torch is imported only when a model is loaded or run, so the torch-free ONNX scorer can share
:func:`windows` and :func:`windowed_probabilities`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from .modeldir import ModelDirectoryError

PRECISIONS = ("auto", "fp32", "bf16", "int8")


def windows(ids: list[int], body_length: int, stride: int) -> list[list[int]]:
    """Overlapping slices of at most ``body_length`` ids starting every ``stride`` ids; the last one
    reaches the end, so no id is left out."""
    if len(ids) <= body_length:
        return [ids]
    starts = list(range(0, len(ids) - body_length, stride)) + [len(ids) - body_length]
    return [ids[s : s + body_length] for s in starts]


def windowed_probabilities(encoded: Sequence[list[int]], body_length: int, stride: int, cls_id: int,
                           sep_id: int, batch_size: int, num_labels: int,
                           score_batch: Callable[[list[list[int]]], np.ndarray]) -> np.ndarray:
    """Per-text probabilities (n, num_labels): the maximum over each text's windows.

    ``encoded`` holds token ids without special tokens; every window gets ``[CLS]`` and ``[SEP]``.
    Windows are sorted by length before batching so that padding is small; ``score_batch`` turns a
    list of id lists into their probabilities (len, num_labels).
    """
    owner, pieces = [], []
    for index, ids in enumerate(encoded):
        for piece in windows(ids, body_length, stride):
            owner.append(index)
            pieces.append([cls_id, *piece, sep_id])
    order = np.argsort([len(p) for p in pieces], kind="stable")
    window_probs = np.zeros((len(pieces), num_labels), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        window_probs[batch] = score_batch([pieces[i] for i in batch])
    probs = np.zeros((len(encoded), num_labels), dtype=np.float32)
    np.maximum.at(probs, np.asarray(owner, dtype=int), window_probs)
    return probs


def pad(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)``, int64 arrays padded on the right to the longest sequence."""
    width = max(len(s) for s in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
        attention[row, : len(seq)] = 1
    return input_ids, attention


def quantize_int8(model):
    """Dynamic int8 quantisation of every ``nn.Linear``: int8 weights, activations quantised per batch.

    ``torch.ao.quantization.quantize_dynamic`` still works in torch 2.13 but warns that it moves to
    torchao; torchao's CPU path needs ``torch.compile`` to be fast, so the warning is silenced here.
    """
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao")
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*deprecated")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _fastest_precision(model, device: str) -> str:
    import torch

    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    from .precision import fastest_cpu_precision

    return fastest_cpu_precision(model, training=False)


class TransformerScorer:
    """Sigmoid outputs of ``AutoModelForSequenceClassification``, max-combined over a text's windows.

    ``precision``: ``fp32``; ``bf16`` (autocast); ``int8`` (dynamic quantisation of the Linear layers);
    ``auto``: bf16 on a GPU that supports it, on a CPU whichever of fp32/bf16 a short measurement finds faster.
    """

    def __init__(self, model, tokenizer, max_length: int, stride: int, batch_size: int = 32,
                 precision: str = "fp32", device: str = "cpu"):
        import torch

        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but torch sees no GPU; use device 'cpu' or 'auto'")
        model = model.eval().to(device)
        if precision == "auto":
            precision = _fastest_precision(model, device)
        self.model = quantize_int8(model) if precision == "int8" else model
        self.tokenizer = tokenizer
        self.body_length, self.stride = max_length - 2, stride
        self.batch_size, self.precision, self.device = batch_size, precision, device

    @classmethod
    def load(cls, model_dir: Path, max_length: int, stride: int, **options) -> TransformerScorer:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        # safetensors only and no remote code: loading never unpickles or runs code from the directory.
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                model_dir, use_safetensors=True, trust_remote_code=False)
            tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
        except (OSError, ValueError) as exc:  # transformers' errors for missing or corrupt files
            raise ModelDirectoryError(f"{model_dir}: cannot load the transformer ({exc})") from None
        return cls(model, tokenizer, max_length, stride, **options)

    def save(self, model_dir: Path) -> None:
        """fp32 safetensors weights and the tokenizer, with ``model_max_length`` set so that
        ``pipeline(..., truncation=True)`` cuts long texts at the position limit."""
        import torch

        if self.precision == "int8":
            raise ValueError("an int8-quantised model cannot be saved; load it in fp32 to save it")
        self.model.to(torch.float32).save_pretrained(model_dir, safe_serialization=True)
        self.tokenizer.model_max_length = self.model.config.max_position_embeddings
        self.tokenizer.save_pretrained(model_dir)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        autocast = (torch.autocast(self.device, dtype=torch.bfloat16) if self.precision == "bf16"
                    else nullcontext())

        def score_batch(pieces: list[list[int]]) -> np.ndarray:
            input_ids, attention = pad(pieces, self.tokenizer.pad_token_id)
            logits = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                                attention_mask=torch.from_numpy(attention).to(self.device)).logits
            return torch.sigmoid(logits.float()).cpu().numpy()

        with torch.inference_mode(), autocast:
            return windowed_probabilities(encoded, self.body_length, self.stride, self.tokenizer.cls_token_id,
                                          self.tokenizer.sep_token_id, self.batch_size,
                                          self.model.config.num_labels, score_batch)
