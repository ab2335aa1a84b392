"""``collectguard export-tasks INPUT... --out DIR --codebook-url URL [--pre-annotate MODEL_DIR]``: Label Studio
tasks for rows to label.

Writes ``DIR/label_config.xml`` (paste it into the project's Labeling Interface, or pass it to the
SDK's ``projects.create``) and ``DIR/tasks.json`` (import it into the project). INPUT is any table of
utterances (``collectguard select`` output, JSONL, CSV, TSV, Parquet) with an id and a text column;
``speaker``, ``style``, ``script`` and ``source`` travel with a task when the input has valid values
for them. ``--pre-annotate`` adds the model's predicted labels as Label Studio predictions (score:
the highest violation probability), which annotators see as a starting point.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from collectguard.inference.tables import read_table

from .labelstudio import make_tasks, write_tasks


def read_records(path: Path, text_col: str, id_col: str) -> list[dict]:
    """Rows of a table as dicts with ``id`` (``--id-col``, or ``FILE:ROW`` when absent) and ``text``;
    empty cells are None."""
    frame = read_table(path)
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict(orient="records")
    for number, record in enumerate(records, start=1):
        record["id"] = str(record[id_col]) if record.get(id_col) is not None else f"{path.name}:{number}"
        record["text"] = record.get(text_col)
    return records


def predictions(model_dir: Path, texts: list) -> list[dict]:
    from collectguard.inference.classifier import PROB_COLUMNS, Classifier

    predicted = Classifier.from_pretrained(model_dir).predict(pd.Series(texts).fillna(""))
    return [{"model_version": model_dir.name, "labels": labels or [], "score": round(float(max(probs)), 4)}
            for labels, probs in zip(predicted["pred_labels"], predicted[PROB_COLUMNS].fillna(0).to_numpy(),
                                     strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard export-tasks", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, help="tables of rows to label")
    parser.add_argument("--out", required=True, type=Path, help="folder for label_config.xml and tasks.json")
    parser.add_argument("--codebook-url", required=True,
                        help="where annotators open data/CODEBOOK.md (your Git host or intranet)")
    parser.add_argument("--pre-annotate", type=Path, metavar="MODEL_DIR", help="add this model's predictions")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--id-col", default="id", help="row id column (default: id; FILE:ROW when absent)")
    args = parser.parse_args(argv)
    records = [r for path in args.inputs for r in read_records(path, args.text_col, args.id_col)]
    origin = ", ".join(map(str, args.inputs))
    predicted = predictions(args.pre_annotate, [r["text"] for r in records]) if args.pre_annotate else None
    tasks = make_tasks(records, origin, predicted)
    config, tasks_file = write_tasks(args.out, tasks, args.codebook_url)
    print(f"wrote {config} and {tasks_file}: {len(tasks)} tasks"
          + (f" with pre-annotations from {args.pre_annotate}" if predicted else ""))
    return 0
