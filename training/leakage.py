"""Keeping evaluation texts out of anything a model learns from.

The test split, the held-out real-text files (``shared/corpora/eval/``) and COLD's test split measure
the models; a text of theirs in a pretraining corpus or a training file would make those numbers
optimistic. Texts are compared after the classifier's normalisation (so a traditional-script or
full-width copy is caught too), by a hash of the normalised text.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from collectguard.inference.normalize import NormalizationConfig, normalize
from collectguard.inference.textio import resolve_encoding

from .paths import COLD_TEST_CSV, EVAL_CORPORA_DIR, SPLITS_DIR

logger = logging.getLogger(__name__)


class EvaluationTextError(ValueError):
    """A text that is also an evaluation text was about to be learnt from."""


def text_digest(normalised: str) -> bytes:
    """A 16-byte hash of an already normalised text."""
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).digest()


def default_evaluation_files() -> list[tuple[Path, str]]:
    """``(path, text column)`` of every evaluation file: the test split, ``shared/corpora/eval/*.txt``
    and COLD's test split (``""``: one text per line)."""
    files = [(SPLITS_DIR / "test.jsonl", "text")]
    files += [(p, "") for p in sorted(EVAL_CORPORA_DIR.glob("*.txt"))]
    return files + [(COLD_TEST_CSV, "TEXT")]


def _file_texts(path: Path, column: str) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of a text file (one per line), a JSONL file or a CSV file's ``column``."""
    import pandas as pd

    encoding = resolve_encoding(path, None)
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        if column not in frame.columns:
            raise EvaluationTextError(f"{path}: no column {column!r} (columns: {', '.join(frame.columns)})")
        yield from ((index + 2, text) for index, text in enumerate(frame[column]))
    elif path.suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype=False, encoding=encoding)
        yield from ((index + 1, text) for index, text in enumerate(frame[column]))
    else:
        with open(path, encoding=encoding) as handle:
            yield from ((index + 1, line.rstrip("\n")) for index, line in enumerate(handle))


@dataclass
class EvaluationTexts:
    """Hashes of the normalised evaluation texts, each with the ``file:line`` it comes from."""

    owners: dict[bytes, str]
    normalization: NormalizationConfig

    @classmethod
    def load(cls, files: Iterable[tuple[Path, str]] | None = None,
             normalization: NormalizationConfig | None = None) -> EvaluationTexts:
        """The texts of ``files`` (default: :func:`default_evaluation_files`); a missing default file is
        logged, since then its texts cannot be checked."""
        normalization = normalization or NormalizationConfig()
        owners: dict[bytes, str] = {}
        for path, column in default_evaluation_files() if files is None else files:
            path = Path(path)
            if not path.is_file():
                logger.warning("evaluation file %s not found: its texts are not checked for leakage", path)
                continue
            for line, text in _file_texts(path, column):
                normalised = normalize(str(text), normalization)
                if normalised:
                    owners.setdefault(text_digest(normalised), f"{path}:{line}")
        return cls(owners, normalization)

    def owner(self, normalised: str) -> str | None:
        """The ``file:line`` of the evaluation text equal to ``normalised`` (a text normalised with
        ``self.normalization``), or None."""
        return self.owners.get(text_digest(normalised))

    def check(self, normalised: str, where: str, hint: str = "remove it from the file") -> None:
        """Raise :class:`EvaluationTextError` when ``normalised`` is an evaluation text; ``where``
        names its file and line."""
        owner = self.owner(normalised)
        if owner is not None:
            raise EvaluationTextError(f"{where}: this text is an evaluation text ({owner}) and must never be "
                                      f"trained on; {hint}: {normalised[:40]!r}")
