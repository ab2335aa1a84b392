"""Reading text files whose encoding is not declared.

Collection teams export from Excel, call-centre systems and ASR engines, which write UTF-8, UTF-8
with BOM, GB18030 (a superset of GBK/GB2312) or UTF-16. We decide by BOM and strict decoding rather
than with a statistical detector (charset-normalizer): the candidate set is small and known, and on
short Chinese files a statistical guess confuses GB18030 with Big5 or Shift-JIS, while a strict UTF-8
decode of non-UTF-8 Chinese fails almost surely.
"""
from __future__ import annotations

import codecs
from pathlib import Path

SUPPORTED_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16")
_SAMPLE_BYTES = 1 << 20


class EncodingError(ValueError):
    """A file that is in none of the supported encodings."""


def detect_encoding(path: str | Path) -> str:
    """Return the codec name to open ``path`` with (``utf-8-sig`` also strips a BOM)."""
    with open(path, "rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        if _decodes(sample, encoding):
            return encoding
    raise EncodingError(
        f"{path}: not UTF-8, UTF-8 with BOM, GB18030 or UTF-16; convert it or pass --encoding"
    )


def _decodes(sample: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=False)  # a multi-byte character may be cut at the sample's end
    except UnicodeDecodeError:
        return False
    return True


def resolve_encoding(path: str | Path, encoding: str | None) -> str:
    """``encoding`` when given, otherwise the detected one."""
    return encoding or detect_encoding(path)
