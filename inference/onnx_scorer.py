"""Probabilities from an exported ONNX model, without torch or transformers.

``collectguard export --model DIR --onnx [--int8]`` writes ``model.onnx`` (fp32) and
``model.int8.onnx`` (dynamic int8) into the model directory. Tokenisation uses the directory's
``tokenizer.json`` through the ``tokenizers`` library (the same ids as the transformers tokenizer);
windows, length-sorted batching and the max over windows are those of the torch scorer.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import expit  # overflow-safe sigmoid

from .modeldir import ModelDirectoryError
from .textio import sha256_of, write_atomic
from .transformer import pad, windowed_probabilities

ONNX_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
EXPORT_RECORD = "onnx_export.json"  # the SHA-256 of the weights each ONNX file was exported from
WEIGHTS_FILE = "model.safetensors"
SPECIAL_TOKENS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]"}


def onnx_path(model_dir: Path, precision: str) -> Path:
    """The ONNX file for ``precision``; a clear error when it is unknown or not exported yet."""
    if precision not in ONNX_FILES:
        raise ValueError(f"the onnx backend supports precision {' or '.join(ONNX_FILES)}, not {precision!r}")
    path = Path(model_dir) / ONNX_FILES[precision]
    if not path.is_file():
        flags = "--onnx --int8" if precision == "int8" else "--onnx"
        raise ModelDirectoryError(f"{model_dir}: no {path.name}; run `collectguard export --model {model_dir} "
                                  f"{flags}` first")
    return path


def record_weights(model_dir: Path, names: list[str]) -> None:
    """Record which weights the ONNX files ``names`` were exported from."""
    record = {name: {"weights_sha256": sha256_of(Path(model_dir) / WEIGHTS_FILE)} for name in names}
    write_atomic(Path(model_dir) / EXPORT_RECORD, json.dumps(record, indent=2) + "\n")


def check_exported_from_current_weights(model_dir: Path, path: Path) -> None:
    """An ONNX file exported from other weights (the model was retrained since) is refused."""
    record_path = Path(model_dir) / EXPORT_RECORD
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
    expected = record.get(path.name, {}).get("weights_sha256")
    if expected is None or expected != sha256_of(Path(model_dir) / WEIGHTS_FILE):
        raise ModelDirectoryError(f"{path}: not exported from this directory's {WEIGHTS_FILE} (retrained since, or "
                                  f"exported by an older version); run `collectguard export --model {model_dir} "
                                  "--onnx` again")


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def special_token_ids(model_dir: Path, tokenizer) -> dict[str, int]:
    """Ids of ``[CLS]``, ``[SEP]`` and ``[PAD]`` (names from ``tokenizer_config.json`` when it has them)."""
    config_path = Path(model_dir) / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    ids = {}
    for key, default in SPECIAL_TOKENS.items():
        token = config.get(key) or default
        token = token["content"] if isinstance(token, dict) else token
        ids[key] = tokenizer.token_to_id(token)
        if ids[key] is None:
            raise ModelDirectoryError(f"{model_dir}/tokenizer.json: no id for {key} {token!r}")
    return ids


class OnnxScorer:
    """Sigmoid outputs of an ONNX export run by onnxruntime on CPU, max-combined over windows."""

    def __init__(self, session, tokenizer, special_ids: dict[str, int], max_length: int, stride: int,
                 batch_size: int = 32, precision: str = "fp32"):
        self.session, self.tokenizer, self.special_ids = session, tokenizer, special_ids
        self.body_length, self.stride = max_length - 2, stride
        self.batch_size, self.precision = batch_size, precision
        self.num_labels = session.get_outputs()[0].shape[1]

    @classmethod
    def load(cls, model_dir: str | Path, max_length: int, stride: int, batch_size: int = 32,
             precision: str = "fp32") -> OnnxScorer:
        import onnxruntime
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        path = onnx_path(model_dir, precision)
        check_exported_from_current_weights(model_dir, path)
        tokenizer_path = model_dir / "tokenizer.json"
        if not tokenizer_path.is_file():
            raise ModelDirectoryError(f"{model_dir}: no tokenizer.json (a fast tokenizer file is needed)")
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = available_cores()
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, special_token_ids(model_dir, tokenizer), max_length, stride,
                   batch_size=batch_size, precision=precision)

    def save(self, model_dir: Path) -> None:
        raise ValueError("an ONNX-backed Classifier cannot be saved: save from the torch backend, then "
                         "`collectguard export`")

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        def score_batch(pieces: list[list[int]]) -> np.ndarray:
            input_ids, attention = pad(pieces, self.special_ids["pad_token"])
            logits = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention})[0]
            return expit(logits.astype(np.float32))

        return windowed_probabilities(self.token_ids(texts), self.body_length, self.stride,
                                      self.special_ids["cls_token"], self.special_ids["sep_token"],
                                      self.batch_size, self.num_labels, score_batch)
