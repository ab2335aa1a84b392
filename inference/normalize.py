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

from .pii import CARD, EMAIL, ID_NUMBER, PHONE, mask_pii

NORMALIZATION_VERSIONS = (1, 2)

_DIGIT_OR_MASK = r"[0-9*＊xX×]"
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Version 1 masking. Mainland resident ID: 18 characters (last may be X) or the old 15-digit form; masked
# digits allowed.
_ID_RE = re.compile(rf"(?<![0-9*])[1-9]{_DIGIT_OR_MASK}{{14}}(?:{_DIGIT_OR_MASK}{{2}}[0-9Xx*])?(?![0-9*])")
# Bank cards: 16-19 digits, possibly grouped by spaces or dashes, masked digits allowed.
_CARD_RE = re.compile(rf"(?<![0-9*])(?:{_DIGIT_OR_MASK}{{4}}[ -]?){{3}}{_DIGIT_OR_MASK}{{4,7}}(?![0-9*])")
# Mainland mobile numbers (optionally +86), landlines with area code; masked digits allowed.
_PHONE_RE = re.compile(
    rf"(?<![0-9*])(?:\+?86[ -]?)?(?:1[3-9][0-9][ -]?{_DIGIT_OR_MASK}{{4}}[ -]?[0-9*]{{4}}"
    rf"|0[0-9]{{2,3}}-[0-9]{{7,8}})(?![0-9*])"
)
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


def _mask_pii_v1(text: str) -> str:
    """Version 1: e-mail addresses, ID, bank-card and phone numbers written with Arabic digits."""
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _ID_RE.sub(ID_NUMBER, text)
    text = _CARD_RE.sub(CARD, text)
    return _PHONE_RE.sub(PHONE, text)


PII_MASKERS = {1: _mask_pii_v1, 2: mask_pii}  # normalisation version -> its PII masker


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
