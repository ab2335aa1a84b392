"""``collectguard agreement``: inter-annotator agreement between two label files over the same ids.

Draw a sample for the second annotator (texts only, no labels) with ``--draw N``; compare their labels
with the first annotation with ``--second FILE``. Cohen's kappa per label and for the any-violation
decision, from scikit-learn.
"""
from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from collectguard.inference.labels import VIOLATIONS, to_multi_hot
from collectguard.inference.records import load_labelled


def draw_sample(rows, n: int, seed: int) -> list[dict]:
    chosen = random.Random(seed).sample(list(rows), n)
    return [{"id": r.id, "text": r.text} for r in chosen]


def read_second_annotation(path: Path) -> dict[str, list[str]]:
    """``{"id": ..., "labels": [...]}`` per line -> id -> labels."""
    labels = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            unknown = [x for x in record["labels"] if x not in VIOLATIONS]
            if unknown:
                raise ValueError(f"{path}:{number}: labels: unknown label(s) {unknown}")
            labels[record["id"]] = record["labels"]
    return labels


def kappas(first: dict[str, Sequence[str]], second: dict[str, Sequence[str]]) -> dict:
    """Per-label and any-violation kappa, raw agreement and counts over the shared ids."""
    ids = sorted(set(first) & set(second))
    a = np.array([to_multi_hot(first[i]) for i in ids])
    b = np.array([to_multi_hot(second[i]) for i in ids])
    result = {"n": len(ids), "per_label": {}}
    for k, label in enumerate(VIOLATIONS):
        result["per_label"][label] = {
            "kappa": float(cohen_kappa_score(a[:, k], b[:, k])), "agreement": float((a[:, k] == b[:, k]).mean()),
            "positives_first": int(a[:, k].sum()), "positives_second": int(b[:, k].sum())}
    any_a, any_b = a.any(axis=1), b.any(axis=1)
    result["any_violation"] = {"kappa": float(cohen_kappa_score(any_a, any_b)),
                               "agreement": float((any_a == any_b).mean())}
    result["exact_match"] = float((a == b).all(axis=1).mean())
    result["disagreements"] = [{"id": i, "first": list(first[i]), "second": list(second[i])}
                               for i, x, y in zip(ids, a, b) if (x != y).any()]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard agreement", description=__doc__)
    parser.add_argument("paths", nargs="+", help="the first annotation: labelled .jsonl/.csv files")
    parser.add_argument("--draw", type=int, help="write a random sample of N rows (id, text) to --out")
    parser.add_argument("--second", type=Path, help="the second annotator's labels (id, labels per line)")
    parser.add_argument("--out", type=Path, required=True, help="sample file (--draw) or results JSON (--second)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rows = load_labelled(*args.paths)
    if args.draw:
        sample = draw_sample(rows, args.draw, args.seed)
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample), encoding="utf-8")
        print(f"wrote {len(sample)} rows to {args.out}")
        return 0
    if not args.second:
        parser.error("give --draw N or --second FILE")
    result = kappas({r.id: r.labels for r in rows}, read_second_annotation(args.second))
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for label, values in result["per_label"].items():
        print(f"{label:<10} kappa {values['kappa']:.3f}  agreement {values['agreement']:.3f}")
    print(f"{'any':<10} kappa {result['any_violation']['kappa']:.3f}  n {result['n']}, "
          f"{len(result['disagreements'])} rows disagree")
    return 0
