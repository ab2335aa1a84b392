"""Labelled utterance files: JSONL (one object per line), CSV with a pipe-separated ``labels`` column,
or Parquet (``labels`` a list of strings).

Reading never repairs data: every problem becomes a :class:`RowError` naming file, line and field,
and the caller decides whether to stop.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .labels import SCRIPTS, SPEAKERS, STYLES, labels_from_text, unknown_labels
from .tables import jsonl_records
from .textio import resolve_encoding

REQUIRED_FIELDS = ("id", "text", "labels", "speaker", "style", "script")
LENGTH_BUCKETS = ((10, "<10"), (30, "10-29"), (60, "30-59"), (100, "60-99"), (float("inf"), "100+"))
AUTHORED = "authored"


@dataclass(frozen=True)
class LabelledRow:
    id: str
    text: str
    labels: tuple[str, ...]
    speaker: str
    style: str
    script: str
    note: str = ""
    source: str = "authored"  # where the text comes from: authored for this project, or a corpus name
    origin: str = ""  # "path:line", for messages


@dataclass(frozen=True)
class RowError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class LabelledDataError(ValueError):
    """Raised by :func:`load_labelled` when a file has errors; carries them all."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in labelled data:\n{shown}{more}")


def read_labelled(path: str | Path, encoding: str | None = None) -> tuple[list[LabelledRow], list[RowError]]:
    """Parse ``path`` (``.jsonl``, ``.csv`` or ``.parquet``) into valid rows and the errors of the invalid
    ones (a Parquet file's "line" is its row number, from 1)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        raw_rows = _parquet_records(path)
    elif suffix in (".csv", ".jsonl", ".json"):
        text = path.read_text(encoding=resolve_encoding(path, encoding))
        raw_rows = _csv_records(text) if suffix == ".csv" else jsonl_records(io.StringIO(text))
    else:
        return [], [RowError(str(path), 0, "file", "unsupported extension; use .jsonl, .csv or .parquet")]
    rows, errors, records = [], [], 0
    for line, record, parse_error in raw_rows:
        records += 1
        if parse_error:
            errors.append(RowError(str(path), line, "line", parse_error[1]))
            continue
        row, row_errors = _to_row(record, f"{path}:{line}")
        errors.extend(RowError(str(path), line, f, m) for f, m in row_errors)
        if row is not None:
            rows.append(row)
    if records == 0:
        errors.append(RowError(str(path), 0, "file", "no rows (an empty or header-only file)"))
    return rows, _collapse_missing(errors, records)


def _collapse_missing(errors: list[RowError], records: int) -> list[RowError]:
    """One error per field that is missing from every row (a column the file lacks), instead of
    one per row."""
    missing = Counter(e.field for e in errors if e.message == "missing")
    absent = {name for name, count in missing.items() if count == records and records > 1}
    if not absent:
        return errors
    kept = [e for e in errors if not (e.message == "missing" and e.field in absent)]
    first = {}
    for e in errors:
        if e.message == "missing" and e.field in absent:
            first.setdefault(e.field, e)
    return [RowError(first[name].path, first[name].line, name, f"missing in all {records} rows (no such column)")
            for name in sorted(absent)] + kept


def load_labelled(*paths: str | Path, encoding: str | None = None) -> list[LabelledRow]:
    """All rows of ``paths``; raises :class:`LabelledDataError` listing every error."""
    rows, errors = [], []
    for path in paths:
        file_rows, file_errors = read_labelled(path, encoding)
        rows.extend(file_rows)
        errors.extend(file_errors)
    if errors:
        raise LabelledDataError(errors)
    return rows


def _csv_records(text: str):
    reader = csv.DictReader(io.StringIO(text))
    for record in reader:
        line = reader.line_num
        if None in record:
            yield line, None, ("malformed", "more fields than the header has")
            continue
        if record.get("labels") is not None:
            record["labels"] = labels_from_text(record["labels"])
        yield line, record, None


def _parquet_records(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        records = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        yield 0, None, ("malformed", f"cannot be read as Parquet ({exc})")
        return
    for number, record in enumerate(records, start=1):
        yield number, record, None


def _to_row(record: dict, origin: str) -> tuple[LabelledRow | None, list[tuple[str, str]]]:
    """The row, or None and every problem of the record (all fields are checked in one pass)."""
    errors = [(name, "missing") for name in REQUIRED_FIELDS if record.get(name) is None]
    text, labels = record.get("text"), record.get("labels")
    if text is not None and not isinstance(text, str):
        errors.append(("text", f"expected a string, got {type(text).__name__}"))
    elif isinstance(text, str) and not text.strip():
        errors.append(("text", "empty"))
    if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)):
        errors.append(("labels", "expected a list of label names ([] for compliant)"))
    elif labels is not None:
        if unknown := unknown_labels(labels):
            errors.append(("labels", f"unknown label(s) {unknown}; known: threat, insult, deception, privacy"))
        if len(set(labels)) != len(labels):
            errors.append(("labels", f"repeated label in {labels}"))
    for name, allowed in (("speaker", SPEAKERS), ("style", STYLES), ("script", SCRIPTS)):
        if record.get(name) is not None and record[name] not in allowed:
            errors.append((name, f"{record[name]!r} is not one of {', '.join(allowed)}"))
    identifier = record.get("id")
    if identifier is not None and (not isinstance(identifier, str) or not identifier.strip()):
        errors.append(("id", "expected a non-empty string"))
    for name in ("note", "source"):
        if not isinstance(record.get(name) or "", str):
            errors.append((name, "expected a string"))
    if errors:
        return None, errors
    return LabelledRow(identifier, text, tuple(labels), record["speaker"], record["style"], record["script"],
                       record.get("note") or "", record.get("source") or AUTHORED, origin), []


def length_bucket(length: int) -> str:
    """The length slice of a text of ``length`` characters (data card distributions, evaluation slices)."""
    return next(name for upper, name in LENGTH_BUCKETS if length < upper)


def to_frame(rows: list[LabelledRow]):
    """Rows as a pandas DataFrame with one boolean column per violation and ``n_labels``, ``length``."""
    import pandas as pd

    from .labels import VIOLATIONS

    frame = pd.DataFrame([{"id": r.id, "text": r.text, "labels": list(r.labels), "speaker": r.speaker,
                           "style": r.style, "script": r.script, "note": r.note} for r in rows])
    for label in VIOLATIONS:
        frame[label] = frame["labels"].map(lambda labels, label=label: label in labels)
    frame["n_labels"] = frame["labels"].map(len)
    frame["compliant"] = frame["n_labels"] == 0
    frame["length"] = frame["text"].str.len()
    return frame
