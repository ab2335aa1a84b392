"""``collectguard make-shaped-model``: an UNTRAINED model with the shape of a real base model.

For speed and memory measurements only (``python -m collectguard.training.bench``) on machines that cannot
download pretrained weights: the weights are random, so its scores and F1 mean nothing. The model
directory is marked ``"untrained": true`` in ``collectguard.json`` and in its README.

Shapes: ``bert-base`` is bert-base-chinese / chinese-roberta-wwm-ext (12 layers, hidden 768, 12 heads,
intermediate 3072, vocabulary 21128); ``rbt3`` is hfl/rbt3 (the same with 3 layers). The vocabulary is
the character vocabulary of ``training/tiny.py`` padded with ``[unusedN]`` tokens to 21128 entries.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import METADATA_FILE, THRESHOLDS_FILE, TRANSFORMER, ModelMetadata, write_json

from .base_model import ID2LABEL
from .tiny import character_vocabulary

VOCAB_SIZE = 21128
MAX_LENGTH, WINDOW_STRIDE = 128, 64
SHAPES = {
    "bert-base": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
    "rbt3": {"num_hidden_layers": 3, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
}
README = """# UNTRAINED {shape}-shaped model: NOT TRAINED, for speed measurement only

Randomly initialised `BertForSequenceClassification` with the {shape} shape, written by
`collectguard make-shaped-model`. Its probabilities, thresholds and F1 are meaningless; use it only to
measure speed and memory (`python -m collectguard.training.bench --model DIR`).
"""


def padded_vocabulary(size: int = VOCAB_SIZE) -> list[str]:
    """The tiny character vocabulary followed by ``[unused1]``, ``[unused2]``, ... up to ``size``."""
    vocab = character_vocabulary()
    if len(vocab) > size:
        raise ValueError(f"character vocabulary has {len(vocab)} entries, more than {size}")
    return vocab + [f"[unused{n}]" for n in range(1, size - len(vocab) + 1)]


def build_shaped_model(shape: str, output: Path, seed: int = 0) -> None:
    """Write tokenizer, random weights, ``collectguard.json`` (untrained) and 0.5 thresholds."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    output.mkdir(parents=True, exist_ok=True)
    vocab_path = output / "vocab.txt"
    vocab_path.write_text("\n".join(padded_vocabulary()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(vocab_path), tokenize_chinese_chars=True, do_lower_case=True)
    tokenizer.save_pretrained(output)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=512, num_labels=len(VIOLATIONS),
                        id2label=ID2LABEL, label2id={v: k for k, v in ID2LABEL.items()},
                        problem_type="multi_label_classification", **SHAPES[shape])
    BertForSequenceClassification(config).save_pretrained(output, safe_serialization=True)
    metadata = ModelMetadata(kind=TRANSFORMER, max_length=MAX_LENGTH, window_stride=WINDOW_STRIDE)
    write_json(output / METADATA_FILE, {**metadata.to_dict(), "untrained": True, "shape": shape})
    write_json(output / THRESHOLDS_FILE, {label: 0.5 for label in VIOLATIONS})
    (output / "README.md").write_text(README.format(shape=shape), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard make-shaped-model", description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    build_shaped_model(args.shape, args.out, args.seed)
    print(f"wrote an UNTRAINED {args.shape}-shaped model to {args.out} (speed measurement only)")
    return 0
