"""Text normalisation, applied identically when training and when predicting.

The settings travel inside every model directory (``normalization`` in ``collectguard.json``), so a
model is always fed text prepared the way it was trained on.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache

# Placeholders are plain Chinese words so that any Chinese vocabulary tokenises them.
PHONE, ID_NUMBER, CARD, EMAIL = "[电话]", "[证件号]", "[卡号]", "[邮箱]"

_DIGIT_OR_MASK = r"[0-9*＊xX×]"
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Mainland resident ID: 18 characters (last may be X) or the old 15-digit form; masked digits allowed.
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
    mask_pii: bool = field(default=True, metadata={"help": "replace phone, ID, card numbers and e-mails by placeholders"})

    def to_dict(self) -> dict:
        return asdict(self)


def mask_pii(text: str) -> str:
    """Replace e-mail addresses, ID, bank-card and phone numbers (also partly masked ones)."""
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _ID_RE.sub(ID_NUMBER, text)
    text = _CARD_RE.sub(CARD, text)
    return _PHONE_RE.sub(PHONE, text)


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
        text = mask_pii(text)
    return text
