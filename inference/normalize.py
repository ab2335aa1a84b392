"""Text normalisation, applied identically when training and when predicting.

The settings travel inside every model directory (``normalization`` in ``collectguard.json``), so a
model is always fed text prepared the way it was trained on. ``version`` says which rules: 2 masks
PII with :func:`collectguard.inference.pii.mask_pii` (spoken and grouped numbers, accounts, plates,
addresses, names); 1, the rules of model directories written before versions were recorded, masks
only written-out phone, ID and card numbers and e-mails, and stays available for those directories.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Literal

from .pii import mask_pii, mask_pii_v1

NORMALIZATION_VERSIONS = (1, 2)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizationConfig:
    """Which optional steps run; NFKC, control-character removal and whitespace are always on."""

    to_simplified: bool = field(default=True, metadata={"help": "traditional to simplified characters (OpenCC t2s)"})
    mask_pii: bool = field(default=True, metadata={
        "help": "replace personal data (phone, ID, card and account numbers, e-mails, plates, addresses, names) "
                "by placeholders"})
    version: Literal[1, 2] = field(default=2, metadata={
        "help": "normalisation rules: 2 masks PII as inference/pii.py does; 1 (model directories written before "
                "versions were recorded) masks only written-out phone, ID, card numbers and e-mails"})

    def __post_init__(self):
        if self.version not in NORMALIZATION_VERSIONS:
            raise ValueError(f"normalization version {self.version!r} is not one of {NORMALIZATION_VERSIONS}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NormalizationConfig:
        """The config stored in a model directory; one without ``version`` predates versions: 1."""
        return cls(**{"version": 1, **data})


PII_MASKERS = {1: mask_pii_v1, 2: mask_pii}  # normalisation version -> its PII masker


@lru_cache(maxsize=4)
def opencc_converter(config: str):
    """OpenCC's converter ``config`` (``t2s``, ``s2t``, ``s2tw`` ...), loaded once, on first use."""
    import opencc  # loading its dictionaries takes a moment

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional to simplified characters with OpenCC's ``t2s`` conversion."""
    return opencc_converter("t2s").convert(text)


def normalize(text: str, config: NormalizationConfig = NormalizationConfig()) -> str:
    """NFKC (full-width to half-width), control characters removed, whitespace collapsed, then the
    optional steps of ``config``."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text).strip()
    if config.to_simplified:
        text = to_simplified(text)
    if config.mask_pii:
        text = PII_MASKERS[config.version](text)
    return text
