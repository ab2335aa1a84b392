"""Probabilities from a fine-tuned BERT-architecture model, with windows for long texts."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np

PRECISIONS = ("fp32", "bf16")


def windows(ids: list[int], body_length: int, stride: int) -> list[list[int]]:
    """Overlapping slices of at most ``body_length`` ids starting every ``stride`` ids; the last one
    reaches the end, so no id is left out."""
    if len(ids) <= body_length:
        return [ids]
    starts = list(range(0, len(ids) - body_length, stride)) + [len(ids) - body_length]
    return [ids[s : s + body_length] for s in starts]


class TransformerScorer:
    """Sigmoid outputs of ``AutoModelForSequenceClassification``, max-combined over a text's windows.

    Batches are formed from windows sorted by length so that padding is small.
    """

    def __init__(self, model, tokenizer, max_length: int, stride: int, batch_size: int = 32,
                 precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.body_length, self.stride = max_length - 2, stride
        self.batch_size, self.precision = batch_size, precision

    @classmethod
    def load(cls, model_dir: Path, max_length: int, stride: int, **options) -> "TransformerScorer":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        # safetensors only and no remote code: loading never unpickles or runs code from the directory.
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, use_safetensors=True, trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
        return cls(model, tokenizer, max_length, stride, **options)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        owner, pieces = [], []
        for index, ids in enumerate(encoded):
            for piece in windows(ids, self.body_length, self.stride):
                owner.append(index)
                pieces.append([self.tokenizer.cls_token_id, *piece, self.tokenizer.sep_token_id])
        order = np.argsort([len(p) for p in pieces], kind="stable")
        window_probs = np.zeros((len(pieces), self.model.config.num_labels), dtype=np.float32)
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bf16"
                    else nullcontext())
        with torch.inference_mode(), autocast:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                input_ids, attention = _pad([pieces[i] for i in batch], self.tokenizer.pad_token_id)
                logits = self.model(input_ids=input_ids, attention_mask=attention).logits
                window_probs[batch] = torch.sigmoid(logits.float()).numpy()
        probs = np.zeros((len(encoded), window_probs.shape[1]), dtype=np.float32)
        np.maximum.at(probs, np.asarray(owner, dtype=int), window_probs)
        return probs


def _pad(sequences: list[list[int]], pad_id: int):
    import torch

    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention[row, : len(seq)] = 1
    return input_ids, attention
