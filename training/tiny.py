"""A tiny, randomly initialised BERT with a character vocabulary: NOT pretrained.

For tests, smoke runs and machines that cannot reach a model hub. Its vocabulary is every character
of the GB2312 (simplified) and Big5 (traditional) tables plus ASCII, so tokenisation is realistic even
though the weights know nothing.
"""
from __future__ import annotations

import string
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _decodable(encoding: str, leads: range, trails: list[int]) -> list[str]:
    chars = []
    for lead in leads:
        for trail in trails:
            try:
                chars.append(bytes([lead, trail]).decode(encoding))
            except UnicodeDecodeError:
                continue
    return chars


def character_vocabulary() -> list[str]:
    """Special tokens, printable ASCII (lower case; the tokenizer lower-cases) with word-piece
    continuations (so "sb" becomes "s", "##b"), GB2312 and Big5."""
    gb2312 = _decodable("gb2312", range(0xA1, 0xF8), list(range(0xA1, 0xFF)))
    big5 = _decodable("big5", range(0xA1, 0xFA), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    ascii_chars = [c for c in string.printable if not c.isspace() and not c.isupper()]
    vocab, seen = list(SPECIAL_TOKENS), set(SPECIAL_TOKENS)
    continuations = [f"##{c}" for c in ascii_chars if c.isalnum()]
    for char in [*ascii_chars, *continuations, *gb2312, *big5]:
        if char not in seen and not char.isspace():
            seen.add(char)
            vocab.append(char)
    return vocab


def build_tokenizer(directory: Path):
    """A ``BertTokenizerFast`` over :func:`character_vocabulary`, saved into ``directory``."""
    from transformers import BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab_path = directory / "vocab.txt"
    vocab_path.write_text("\n".join(character_vocabulary()) + "\n", encoding="utf-8")
    # ``vocab=`` and not ``vocab_file=``: transformers 5 ignores the latter (5 tokens, all [UNK]).
    tokenizer = BertTokenizerFast(vocab=str(vocab_path), tokenize_chinese_chars=True, do_lower_case=True)
    tokenizer.save_pretrained(directory)
    return tokenizer


def build_tiny_model(directory: Path, num_labels: int, id2label: dict[int, str], shape, max_length: int):
    """Tokenizer and randomly initialised ``BertForSequenceClassification`` of the given shape."""
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = build_tokenizer(directory)
    config = BertConfig(
        vocab_size=len(tokenizer), num_hidden_layers=shape.num_hidden_layers, hidden_size=shape.hidden_size,
        num_attention_heads=shape.num_attention_heads, intermediate_size=shape.intermediate_size,
        max_position_embeddings=max(512, max_length), num_labels=num_labels, id2label=id2label,
        label2id={v: k for k, v in id2label.items()}, problem_type="multi_label_classification",
    )
    return tokenizer, BertForSequenceClassification(config)
