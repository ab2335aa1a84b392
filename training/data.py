"""Labelled training data through Hugging Face ``datasets``.

``data.train`` and ``data.dev`` name files and globs (JSONL, CSV, Parquet). Every file is first read
by ``inference.records``, the strict reader behind ``collectguard validate`` (every problem as
``file:line: field: message``; Arrow's own parsers report no line and accept what it refuses, such as
a repeated JSON key), then loaded with ``datasets.load_dataset`` into Arrow, where datasets caches it
by path and modification time. Each row keeps every field its file has (a ``source`` or ``weight``
column travels with it) plus ``source_file``, the file it came from; columns that only some files
have are null in the others. Tokenisation (``fit_transformer``) is a cached ``Dataset.map`` on top.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from collectguard.inference.labels import VIOLATIONS, labels_from_text, to_multi_hot
from collectguard.inference.records import LabelledDataError, RowError, read_labelled
from collectguard.inference.tables import read_columns
from collectguard.inference.textio import resolve_encoding, sha256_of

logger = logging.getLogger(__name__)
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SOURCE_FILE = "source_file"
SOURCE, WEIGHT = "source", "weight"
AUTHORED = "authored"  # the source of rows written for the project (a row without a source is one)
TEXT_FIELDS = ("id", "text", "speaker", "style", "script", "note", "source")


def load_labelled_dataset(files: Sequence[str | Path], cache_dir: str | None = None):
    """One ``datasets.Dataset`` of the rows of ``files``, in file order; raises
    :class:`LabelledDataError` listing every row error of every file before loading any."""
    from datasets import concatenate_datasets

    errors = [error for path in files for error in read_labelled(path)[1]]
    if errors:
        raise LabelledDataError(errors)
    dataset = concatenate_datasets(_aligned([_load_file(Path(path), cache_dir) for path in files], files))
    logger.info("%d labelled rows from %s", len(dataset), ", ".join(map(str, files)))
    return dataset


def _load_file(path: Path, cache_dir: str | None):
    from datasets import Features, Value, load_dataset

    builder = BUILDERS[path.suffix.lower()]
    options = {}
    if builder == "json":
        options["encoding"] = resolve_encoding(path, None)
    elif builder == "csv":  # every cell as text, an empty one as "", as inference.records reads CSV
        columns = read_columns(path)
        options.update(encoding=resolve_encoding(path, None), na_filter=False,
                       features=Features(dict.fromkeys(columns, Value("string"))))
    dataset = load_dataset(builder, data_files=str(path.resolve()), split="train", cache_dir=cache_dir or None,
                           **options)
    return dataset.map(_with_source, batched=True, fn_kwargs={"source_file": str(path), "csv": builder == "csv"},
                       desc=f"reading {path.name}")


def _with_source(batch: dict, source_file: str, csv: bool) -> dict:
    size = len(batch["text"])
    if csv:
        batch["labels"] = [labels_from_text(text) for text in batch["labels"]]
    batch[SOURCE_FILE] = [source_file] * size
    return batch


def _aligned(parts: list, files: Sequence[str | Path]) -> list:
    """The datasets with the same columns and types: the labelled-format fields as text (``labels`` a
    list of text), other columns typed by the first file that has a non-null type for them, and a
    column a file lacks added to it as nulls."""
    from datasets import Features, List, Value

    features: dict = {}
    for part in parts:
        for name, feature in part.features.items():
            if name not in features or _is_null(features[name]):
                features[name] = feature
    features.update({name: Value("string") for name in TEXT_FIELDS + (SOURCE_FILE,) if name in features})
    features["labels"] = List(Value("string"))
    aligned = []
    for part, path in zip(parts, files, strict=True):
        for name in features:
            if name not in part.column_names:
                part = part.add_column(name, [None] * len(part), feature=features[name])
        try:
            aligned.append(part.select_columns(list(features)).cast(Features(features)))
        except (ValueError, TypeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise LabelledDataError([RowError(str(path), 0, "file", f"a column's type differs from the same "
                                              f"column's in the other files ({exc})")]) from None
    return aligned


def _is_null(feature) -> bool:
    from datasets import List, Value

    if isinstance(feature, List):
        return _is_null(feature.feature)
    return isinstance(feature, Value) and feature.dtype == "null"


def label_matrix(labels: Sequence[Sequence[str]]) -> np.ndarray:
    """(n, 4) 0/1 in ``VIOLATIONS`` order."""
    return np.array([to_multi_hot(row) for row in labels], dtype=int).reshape(-1, len(VIOLATIONS))


def provenance(files: Sequence[str | Path], dataset) -> list[dict]:
    """Per file: path, SHA-256 and rows, for the model card and ``data_hashes.json``."""
    counts: dict[str, int] = {}
    for source in dataset[SOURCE_FILE]:
        counts[source] = counts.get(source, 0) + 1
    return [{"path": str(path), "sha256": sha256_of(path), "rows": counts.get(str(path), 0)} for path in files]


def with_background(dataset, weight: float, cap: int):
    """``dataset`` with a sample ``weight`` column (1 for authored rows, ``weight`` for the others:
    real text used as background negatives) and at most ``cap`` rows of each non-authored source
    (0: all), the first ones in file order."""
    sources = dataset[SOURCE] if SOURCE in dataset.column_names else [None] * len(dataset)
    sources = [s or AUTHORED for s in sources]
    seen: dict[str, int] = {}
    keep = []
    for index, source in enumerate(sources):
        seen[source] = seen.get(source, 0) + 1
        if source == AUTHORED or cap <= 0 or seen[source] <= cap:
            keep.append(index)
    kept = dataset.select(keep)
    weights = [1.0 if sources[i] == AUTHORED else float(weight) for i in keep]
    return kept.remove_columns([c for c in (WEIGHT,) if c in kept.column_names]).add_column(WEIGHT, weights)


def rows_by_source(dataset) -> dict[str, int]:
    """How many rows of each source (authored or a corpus name) ``dataset`` holds."""
    counts: dict[str, int] = {}
    for source in dataset[SOURCE] if SOURCE in dataset.column_names else [None] * len(dataset):
        counts[source or AUTHORED] = counts.get(source or AUTHORED, 0) + 1
    return counts
