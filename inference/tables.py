"""Utterance tables: CSV, TSV, JSONL and Parquet, read in chunks and written in parts.

The one module that knows table formats and how ``pred_labels`` is written (a list in Parquet and
JSONL; ``threat|privacy``, ``compliant`` or, for a row not scored, an empty cell in CSV).

Input is read in chunks of rows so that memory does not grow with the file. A row that cannot be
used is not dropped: it comes out with a problem (a status and a message naming the file and line),
and the caller gives it that status: ``not_scored:malformed_row`` (wrong number of CSV fields,
invalid JSON, a JSONL object without the text field) or ``not_scored:undecodable`` (bytes that are
not text in the file's encoding, read with ``encoding_errors="replace"``).
"""
from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .labels import labels_to_text
from .textio import resolve_encoding, temporary_path

INPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
MALFORMED, UNDECODABLE = "not_scored:malformed_row", "not_scored:undecodable"
REPLACEMENT = "\ufffd"  # what a decoder with errors="replace" puts for undecodable bytes

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a whole transcript may sit in one cell


class TableError(ValueError):
    """An input that cannot be read at all, or lacks a required column."""


@dataclass
class Chunk:
    frame: pd.DataFrame  # input columns, object dtype, missing values None, one row per input row
    lines: list[int]  # line (CSV/JSONL) or row number (Parquet) of each row, 1-based
    problems: list[tuple[str, str] | None] = field(default_factory=list)  # (status, "file:line: what") or None


def table_format(path: Path, formats: dict[str, str]) -> str:
    try:
        return formats[Path(path).suffix.lower()]
    except KeyError:
        raise TableError(f"{path}: unsupported extension {Path(path).suffix!r}; use one of {', '.join(formats)}") from None


def read_columns(path: Path, encoding: str | None = None, encoding_errors: str = "strict") -> list[str]:
    """Column names of ``path``: the CSV header, the Parquet schema, or every key seen in the JSONL.
    Repeated column names are an error (one of the two would be lost)."""
    kind = table_format(path, INPUT_FORMATS)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    if kind == "parquet":
        import pyarrow.parquet as pq

        columns = list(pq.ParquetFile(path).schema_arrow.names)
    else:
        with open(path, newline="", encoding=resolve_encoding(path, encoding, encoding_errors),
                  errors=encoding_errors) as handle:
            if kind in ("csv", "tsv"):
                columns = next(csv.reader(handle, delimiter="\t" if kind == "tsv" else ","), [])
            else:
                keys: dict[str, None] = {}
                for _, record, _ in jsonl_records(handle):
                    keys.update(dict.fromkeys(record or {}))
                columns = list(keys)
    repeated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if repeated:
        raise TableError(f"{path}: repeated column name(s) {repeated}; rename them so that no column is lost")
    return columns


def read_table(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """A whole (small enough) table: Parquet with its types; CSV/TSV as text (empty cells NaN);
    JSONL with its JSON types."""
    path = Path(path)
    kind = table_format(path, INPUT_FORMATS)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind in ("csv", "tsv"):
            return pd.read_csv(path, dtype=str, sep="\t" if kind == "tsv" else ",",
                               encoding=resolve_encoding(path, encoding))
        return pd.read_json(path, lines=True, dtype=False, encoding=resolve_encoding(path, encoding))
    except (ValueError, OSError) as exc:
        if isinstance(exc, TableError):
            raise
        raise TableError(f"{path}: cannot be read as {kind}: {exc}") from None


def count_rows(path: Path) -> int:
    """Rows in ``path`` for progress display (newline count for text files: approximate for CSV
    with quoted newlines)."""
    if table_format(path, INPUT_FORMATS) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return lines - (table_format(path, INPUT_FORMATS) != "jsonl")


def iter_chunks(path: Path, columns: list[str], chunk_rows: int, encoding: str | None = None,
                encoding_errors: str = "strict", required: str | None = None) -> Iterator[Chunk]:
    """Chunks of ``chunk_rows`` rows with the given ``columns`` (missing ones as None). A JSONL object
    without the ``required`` key is malformed."""
    kind = table_format(path, INPUT_FORMATS)
    if kind == "parquet":
        yield from _parquet_chunks(path, columns, chunk_rows)
        return
    with open(path, newline="", encoding=resolve_encoding(path, encoding, encoding_errors),
              errors=encoding_errors) as handle:
        if kind == "jsonl":
            records = _required(jsonl_records(handle), required)
        else:
            records = _csv_records(handle, "\t" if kind == "tsv" else ",")
        rows, lines, problems = [], [], []
        for line, record, problem in records:
            record = record or {}
            if problem is None and any(REPLACEMENT in str(v) for v in record.values()):
                problem = (UNDECODABLE, "undecodable bytes (replaced by U+FFFD)")
            rows.append(record)
            lines.append(line)
            problems.append((problem[0], f"{path}:{line}: {problem[1]}") if problem else None)
            if len(rows) == chunk_rows:
                yield Chunk(_frame(rows, columns), lines, problems)
                rows, lines, problems = [], [], []
        if rows:
            yield Chunk(_frame(rows, columns), lines, problems)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.where(frame.notna(), None)


def _required(records, key: str | None):
    for line, record, problem in records:
        if key is not None and problem is None and key not in record:
            problem = (MALFORMED, f"no {key!r} field")
        yield line, record, problem


def _csv_records(handle, delimiter: str):
    """``(line, record, problem)``; a row with the wrong number of fields keeps the fields it has,
    in header order, and is malformed."""
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, [])
    for fields in reader:
        if not fields:
            continue  # a blank line is not a row
        problem = None
        if len(fields) != len(header):
            problem = (MALFORMED, f"expected {len(header)} fields, got {len(fields)}")
        yield reader.line_num, dict(zip(header, fields)), problem


def jsonl_records(lines):
    """``(line number, object or None, problem or None)`` for each non-blank line of a JSONL stream;
    a problem is ``(status, message)``.

    Iterate a file (or ``io.StringIO``), not ``str.splitlines()``, which also splits at U+2028 that
    JSON strings may hold unescaped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_no_repeated_keys)
        except (json.JSONDecodeError, _RepeatedKey) as exc:
            message = f"invalid JSON ({exc.msg} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) \
                else str(exc)
            yield number, None, (MALFORMED, message)
            continue
        if isinstance(record, dict):
            yield number, record, None
        else:
            yield number, None, (MALFORMED, "expected a JSON object")


class _RepeatedKey(ValueError):
    pass


def _no_repeated_keys(pairs):
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise _RepeatedKey(f"repeated key(s) {repeated} in one object")
    return dict(pairs)


def _parquet_chunks(path: Path, columns: list[str], chunk_rows: int):
    import pyarrow.parquet as pq

    start = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas(types_mapper=None).astype(object).reindex(columns=columns)
        frame = frame.where(frame.notna(), None)
        yield Chunk(frame, list(range(start, start + len(frame))), [None] * len(frame))
        start += len(frame)


def csv_labels(value) -> str:
    """``pred_labels`` in a CSV cell: ``threat|privacy``, ``compliant``, or empty for a row not scored."""
    return labels_to_text(value) if isinstance(value, list) else ""


def write_table(frame: pd.DataFrame, path: Path, kind: str, header: bool = True) -> None:
    """``frame`` written whole to ``path`` in format ``kind``, through a temporary file and a rename
    (so a file is whole or absent). ``pred_labels``, when present, is encoded as described above."""
    tmp = temporary_path(path)
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if "pred_labels" in frame:
            at = table.schema.get_field_index("pred_labels")
            table = table.set_column(at, "pred_labels", table.column(at).cast(pa.list_(pa.string())))
        pq.write_table(table, tmp)
    elif kind == "csv":
        out = frame.assign(pred_labels=frame["pred_labels"].map(csv_labels)) if "pred_labels" in frame else frame
        out.to_csv(tmp, index=False, header=header)
    else:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                               for r in _records_with_nulls(frame)), encoding="utf-8")
    tmp.replace(path)


def _records_with_nulls(frame: pd.DataFrame):
    for record in frame.to_dict(orient="records"):
        yield {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}


def _unified_schema(schemas):
    """One schema for all parts: a column that is all null in one part (no flagged row, a key absent
    from some JSONL rows) takes the type seen elsewhere; a column whose type differs between parts or
    files (a turn number in one input, text in another) becomes a string."""
    import pyarrow as pa

    types: dict = {}
    for schema in schemas:
        for column in schema:
            known = types.get(column.name)
            if known is None or pa.types.is_null(known):
                types[column.name] = column.type
            elif not pa.types.is_null(column.type) and column.type != known:
                types[column.name] = pa.string()
    return pa.schema(list(types.items()))


def assemble(parts: list[Path], columns: list[str], output: Path, kind: str) -> None:
    """Concatenate parts (CSV parts without header) into ``output`` through a temporary file and an
    atomic rename."""
    tmp = temporary_path(output)
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schemas = [pq.read_schema(part).remove_metadata() for part in parts]
        schema = _unified_schema(schemas) if schemas else pa.schema([(c, pa.string()) for c in columns])
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part).cast(schema))
    else:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            if kind == "csv":
                csv.writer(out).writerow(columns)
            for part in parts:
                with open(part, encoding="utf-8", newline="") as handle:
                    for block in iter(lambda: handle.read(1 << 20), ""):
                        out.write(block)
    tmp.replace(output)
