"""``collectguard split``: build ``data/splits/{train,dev,test}.jsonl`` from the authored batches.

Near-duplicates (trigram Jaccard >= 0.6 on the comparison key) are grouped and each group goes to a
single split; groups are assigned with scikit-learn's ``StratifiedGroupKFold`` stratified on the label
combination, 20 folds taken 14/3/3 (70/15/15). Rows already in a split keep it, so the frozen test
split never changes by rebuilding; exact duplicates are reported and only the first is kept.
"""
from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold

from collectguard.inference.labels import VIOLATIONS, combination_key
from collectguard.inference.pii import mask_pii
from collectguard.inference.records import LabelledRow, load_labelled
from collectguard.inference.textio import sha256_of

from .neardup import exact_duplicate_groups, near_duplicate_pairs
from .paths import AUTHORING_DIR, SPLITS_DIR

SPLIT_NAMES = ("train", "dev", "test")
FOLDS = 20
FOLDS_PER_SPLIT = {"train": 14, "dev": 3, "test": 3}


def near_duplicate_groups(texts: Sequence[str]) -> np.ndarray:
    """A group number per text; near-duplicates (transitively) share one."""
    pairs = near_duplicate_pairs(texts)
    n = len(texts)
    rows = [i for i, _, _ in pairs]
    cols = [j for _, j, _ in pairs]
    graph = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def drop_exact_duplicates(rows: list[LabelledRow]) -> tuple[list[LabelledRow], list[LabelledRow]]:
    dropped = {i for group in exact_duplicate_groups([r.text for r in rows]) for i in group[1:]}
    return [r for i, r in enumerate(rows) if i not in dropped], [rows[i] for i in sorted(dropped)]


def assign_splits(rows: Sequence[LabelledRow], fixed: dict[str, str], seed: int = 13) -> list[str]:
    """Split name per row. Rows in ``fixed`` (id -> split) keep theirs and pull their near-duplicate
    group along; the other groups are assigned by stratified group folds."""
    groups = near_duplicate_groups([r.text for r in rows])
    group_split = {groups[i]: fixed[r.id] for i, r in enumerate(rows) if r.id in fixed}
    strata = [combination_key(r.labels) for r in rows]
    folder = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    fold_of = np.empty(len(rows), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare label combinations have < 20 members
        for fold, (_, test_index) in enumerate(folder.split(np.zeros(len(rows)), strata, groups)):
            fold_of[test_index] = fold
    bounds = np.cumsum([FOLDS_PER_SPLIT[s] for s in SPLIT_NAMES])
    by_fold = [SPLIT_NAMES[int(np.searchsorted(bounds, fold, side="right"))] for fold in fold_of]
    return [group_split.get(groups[i], by_fold[i]) for i in range(len(rows))]


def row_to_json(row: LabelledRow) -> str:
    labels = [v for v in VIOLATIONS if v in row.labels]  # canonical order
    record = {"id": row.id, "text": row.text, "labels": labels, "speaker": row.speaker,
              "style": row.style, "script": row.script}
    if row.note:
        record["note"] = row.note
    return json.dumps(record, ensure_ascii=False)


def write_splits(rows: Sequence[LabelledRow], names: Sequence[str], out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in SPLIT_NAMES:
        chosen = sorted((r for r, n in zip(rows, names) if n == split), key=lambda r: r.id)
        (out_dir / f"{split}.jsonl").write_text("".join(row_to_json(r) + "\n" for r in chosen), encoding="utf-8")
        counts[split] = len(chosen)
    sums = "".join(f"{sha256_of(out_dir / f'{s}.jsonl')}  {s}.jsonl\n" for s in SPLIT_NAMES)
    (out_dir / "SHA256SUMS").write_text(sums, encoding="utf-8")
    return counts


def existing_assignment(out_dir: Path) -> dict[str, str]:
    fixed = {}
    for split in SPLIT_NAMES:
        path = out_dir / f"{split}.jsonl"
        if path.exists():
            fixed.update({r.id: split for r in load_labelled(path)})
    return fixed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard split", description=__doc__)
    parser.add_argument("--authoring-dir", type=Path, default=AUTHORING_DIR, help="folder of batch_*.jsonl")
    parser.add_argument("--out", type=Path, default=SPLITS_DIR, help="folder for train/dev/test.jsonl")
    parser.add_argument("--seed", type=int, default=13, help="seed of the fold assignment")
    args = parser.parse_args(argv)
    rows = load_labelled(*sorted(args.authoring_dir.glob("batch_*.jsonl")))
    rows, dropped = drop_exact_duplicates(rows)
    for row in dropped:
        print(f"dropped exact duplicate {row.origin}: {mask_pii(row.text)[:40]!r}")
    names = assign_splits(rows, existing_assignment(args.out), args.seed)
    counts = write_splits(rows, names, args.out)
    print(f"{len(rows)} rows ({len(dropped)} exact duplicates dropped): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
