"""``collectguard apply-review FILE...``: apply reviewed label and text changes to the authored batches.

Review files (``data/agreement/*.jsonl``) hold one decision per line: ``{"id", "final": [...]}`` from
adjudication, or ``{"id", "proposed_labels": [...], "proposed_text": "..."}`` from a review pass that
was accepted. Every change is printed and recorded in the row's ``note`` (``reviewed:<file>``), so
the batches stay the single source and each edit can be traced; rebuild the splits afterwards with
``collectguard split`` (rows keep their split).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from collectguard.inference.labels import VIOLATIONS, unknown_labels
from collectguard.inference.textio import write_atomic

from .paths import AUTHORING_DIR


def read_decisions(path: Path) -> dict[str, dict]:
    decisions = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        labels = record.get("final", record.get("proposed_labels"))
        if labels is None or unknown_labels(labels):
            raise ValueError(f"{path}:{number}: labels: expected 'final' or 'proposed_labels' with known labels")
        decisions[record["id"]] = {"labels": [v for v in VIOLATIONS if v in labels],
                                   "text": record.get("proposed_text"), "source": path.stem}
    return decisions


def apply_decisions(decisions: dict[str, dict], authoring_dir: Path) -> list[str]:
    """Rewrite the batch files with the decisions applied; return one line per change. Every id is
    checked before any file is written, and each file is replaced atomically."""
    batches = {batch: [json.loads(line) for line in batch.read_text(encoding="utf-8").splitlines() if line.strip()]
               for batch in sorted(authoring_dir.glob("batch_*.jsonl"))}
    missing = sorted(set(decisions) - {r["id"] for records in batches.values() for r in records})
    if missing:
        raise ValueError(f"ids not found in {authoring_dir}: {missing[:10]}; nothing was changed")
    changes = []
    for batch, records in batches.items():
        changed = [_apply(record, decisions[record["id"]]) for record in records if record["id"] in decisions]
        changes.extend(c for c in changed if c)
        if any(changed):
            write_atomic(batch, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return changes


def _apply(record: dict, decision: dict) -> str | None:
    """Apply one decision to ``record`` in place; the change as a line, or None when there is none."""
    old_labels = [v for v in VIOLATIONS if v in record["labels"]]
    new_text = decision["text"] or record["text"]
    if old_labels == decision["labels"] and new_text == record["text"]:
        return None
    change = (f"{record['id']}: {old_labels} -> {decision['labels']}"
              + (f"; text {record['text'][:30]!r} -> {new_text[:30]!r}" if new_text != record["text"] else ""))
    record["labels"], record["text"] = decision["labels"], new_text
    tag = f"reviewed:{decision['source']}"
    if tag not in record.get("note", ""):
        record["note"] = f"{record.get('note', '')} {tag}".strip()
    return change


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard apply-review", description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="review decision files, applied in order")
    parser.add_argument("--authoring-dir", type=Path, default=AUTHORING_DIR)
    args = parser.parse_args(argv)
    decisions: dict[str, dict] = {}
    for path in args.paths:
        decisions.update(read_decisions(path))
    changes = apply_decisions(decisions, args.authoring_dir)
    print("\n".join(changes))
    print(f"{len(changes)} row(s) changed by {len(decisions)} decision(s)")
    return 0
