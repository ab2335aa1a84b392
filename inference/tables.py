"""Streaming reading and writing of utterance tables: CSV, TSV, JSONL and Parquet.

Input is read in chunks of rows so that memory does not grow with the file. A row that cannot be
parsed (wrong number of CSV fields, invalid JSON) is not dropped: it comes out with ``malformed`` set
and a message naming the file and line, and the caller gives it a status.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .textio import resolve_encoding

INPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


class TableError(ValueError):
    """An input that cannot be read at all, or lacks a required column."""


@dataclass
class Chunk:
    frame: pd.DataFrame  # input columns, object dtype, one row per input row
    lines: list[int]  # line (CSV/JSONL) or row number (Parquet) of each row, 1-based
    malformed: list[str | None] = field(default_factory=list)  # message per row, None when fine


def table_format(path: Path, formats: dict[str, str]) -> str:
    try:
        return formats[path.suffix.lower()]
    except KeyError:
        raise TableError(f"{path}: unsupported extension {path.suffix!r}; use one of {', '.join(formats)}") from None


def read_columns(path: Path, encoding: str | None = None) -> list[str]:
    """Column names of ``path``: the CSV header, the Parquet schema, or every key seen in the JSONL."""
    kind = table_format(path, INPUT_FORMATS)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    with open(path, newline="", encoding=resolve_encoding(path, encoding)) as handle:
        if kind in ("csv", "tsv"):
            return next(csv.reader(handle, delimiter="\t" if kind == "tsv" else ","), [])
        keys: dict[str, None] = {}
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
        return list(keys)


def count_rows(path: Path) -> int:
    """Rows in ``path`` for progress display (newline count for text files: approximate for CSV
    with quoted newlines)."""
    if table_format(path, INPUT_FORMATS) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return lines - (table_format(path, INPUT_FORMATS) != "jsonl")


def iter_chunks(path: Path, columns: list[str], chunk_rows: int, encoding: str | None = None) -> Iterator[Chunk]:
    """Chunks of ``chunk_rows`` rows with the given ``columns`` (missing ones as None)."""
    kind = table_format(path, INPUT_FORMATS)
    if kind == "parquet":
        yield from _parquet_chunks(path, columns, chunk_rows)
        return
    with open(path, newline="", encoding=resolve_encoding(path, encoding)) as handle:
        records = jsonl_records(handle) if kind == "jsonl" else _csv_records(handle, "\t" if kind == "tsv" else ",")
        rows, lines, malformed = [], [], []
        for line, record, problem in records:
            rows.append(record if record is not None else {})
            lines.append(line)
            malformed.append(f"{path}:{line}: {problem}" if problem else None)
            if len(rows) == chunk_rows:
                yield Chunk(pd.DataFrame(rows, columns=columns, dtype=object), lines, malformed)
                rows, lines, malformed = [], [], []
        if rows:
            yield Chunk(pd.DataFrame(rows, columns=columns, dtype=object), lines, malformed)


def _csv_records(handle, delimiter: str):
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, [])
    for fields in reader:
        if not fields:
            continue  # a blank line is not a row
        if len(fields) != len(header):
            yield reader.line_num, None, f"expected {len(header)} fields, got {len(fields)}"
        else:
            yield reader.line_num, dict(zip(header, fields)), None


def jsonl_records(lines):
    """``(line number, object or None, problem or None)`` for each non-blank line of a JSONL stream.

    Iterate a file (or ``io.StringIO``), not ``str.splitlines()``, which also splits at U+2028 that
    JSON strings may hold unescaped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON ({exc.msg} at column {exc.colno})"
            continue
        if isinstance(record, dict):
            yield number, record, None
        else:
            yield number, None, "expected a JSON object"


def _parquet_chunks(path: Path, columns: list[str], chunk_rows: int):
    import pyarrow.parquet as pq

    start = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas(types_mapper=None).astype(object).reindex(columns=columns)
        frame = frame.where(frame.notna(), None)
        yield Chunk(frame, list(range(start, start + len(frame))), [None] * len(frame))
        start += len(frame)


def write_part(frame: pd.DataFrame, path: Path, kind: str) -> None:
    """One chunk of scored output, in the output's own format (``pred_labels`` a list, or
    pipe-separated in CSV). Written to a temporary name and renamed, so a part is whole or absent."""
    tmp = path.with_name(path.name + ".tmp")
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        labels_at = table.schema.get_field_index("pred_labels")
        table = table.set_column(labels_at, "pred_labels", table.column(labels_at).cast(pa.list_(pa.string())))
        pq.write_table(table, tmp)
    elif kind == "csv":
        out = frame.copy()
        out["pred_labels"] = out["pred_labels"].map(lambda x: "|".join(x) if isinstance(x, list) else "")
        out.to_csv(tmp, index=False, header=False)
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
    """Concatenate parts into ``output`` through a temporary file and an atomic rename."""
    tmp = output.with_name(output.name + ".tmp")
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
