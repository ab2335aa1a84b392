"""``collectguard validate PATH...``: check labelled files and print their distributions."""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from collectguard.inference.labels import COMPLIANT, SCRIPTS, SPEAKERS, STYLES, VIOLATIONS, combination_key
from collectguard.inference.pii import mask_pii
from collectguard.inference.records import LENGTH_BUCKETS, LabelledRow, length_bucket, read_labelled
from collectguard.inference.textio import EncodingError

from .neardup import NEAR_DUPLICATE_JACCARD, exact_duplicate_groups, near_duplicate_pairs


@dataclass
class ValidationReport:
    rows: list[LabelledRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate_files(paths: Sequence[str], encoding: str | None = None,
                   threshold: float = NEAR_DUPLICATE_JACCARD) -> ValidationReport:
    """Schema, duplicate ids, exact duplicates anywhere, near-duplicates across files (errors) and
    within a file (warnings: near-duplicates belong together in one split, which is allowed)."""
    report = ValidationReport()
    for path in paths:
        try:
            rows, errors = read_labelled(path, encoding)
        except (OSError, EncodingError, UnicodeDecodeError) as exc:
            report.errors.append(f"{path}: cannot read: {exc}")
            continue
        report.rows.extend(rows)
        report.errors.extend(str(e) for e in errors)
    rows = report.rows
    seen_ids: dict[str, str] = {}
    for row in rows:
        if row.id in seen_ids:
            report.errors.append(f"{row.origin}: id: duplicate id {row.id!r} (first at {seen_ids[row.id]})")
        else:
            seen_ids[row.id] = row.origin
    for group in exact_duplicate_groups([r.text for r in rows]):
        first = rows[group[0]]
        for index in group[1:]:
            report.errors.append(f"{rows[index].origin}: text: duplicate of {first.origin} "
                                 f"(same text up to width, script, punctuation): {mask_pii(rows[index].text)[:40]!r}")
    files = [r.origin.rsplit(":", 1)[0] for r in rows]
    for i, j, jaccard in near_duplicate_pairs([r.text for r in rows], threshold=threshold):
        message = (f"{rows[j].origin}: text: near-duplicate (trigram Jaccard {jaccard:.2f}) of "
                   f"{rows[i].origin}: {mask_pii(rows[j].text)[:30]!r} ~ {mask_pii(rows[i].text)[:30]!r}")
        if files[i] != files[j]:
            report.errors.append(message + " (across files: leakage)")
        else:
            report.warnings.append(message)
    return report


def _table(title: str, counts: Counter, total: int, order: Sequence[str] | None = None) -> str:
    keys = list(order) if order else [k for k, _ in counts.most_common()]
    lines = [f"{title}:"]
    lines += [f"  {k:<28}{counts[k]:>6}  {100 * counts[k] / max(total, 1):5.1f}%" for k in keys]
    return "\n".join(lines)


def distribution_text(rows: Sequence[LabelledRow]) -> str:
    """Label, combination, style, script, speaker and length distributions as aligned text."""
    total = len(rows)
    labels = Counter(label for r in rows for label in r.labels)
    labels[COMPLIANT] = sum(1 for r in rows if not r.labels)
    labels["two or more labels"] = sum(1 for r in rows if len(r.labels) >= 2)
    notes = Counter()
    for r in rows:
        if not r.labels and "hard_negative" in r.note:
            notes["hard negatives"] += 1
        for v in VIOLATIONS:
            if not r.labels and f"contrast:{v}" in r.note:
                notes[f"contrast:{v}"] += 1
    lengths = Counter(length_bucket(len(r.text)) for r in rows)
    combos = Counter(combination_key(r.labels) for r in rows)
    parts = [
        f"rows: {total}",
        _table("labels", labels, total, [*VIOLATIONS, COMPLIANT, "two or more labels"]),
        _table("compliant rows marked in note", notes, total,
               ["hard negatives", *(f"contrast:{v}" for v in VIOLATIONS)]),
        _table("label combinations", combos, total),
        _table("style", Counter(r.style for r in rows), total, STYLES),
        _table("script", Counter(r.script for r in rows), total, SCRIPTS),
        _table("speaker", Counter(r.speaker for r in rows), total, SPEAKERS),
        _table("length (characters)", lengths, total, [name for _, name in LENGTH_BUCKETS]),
    ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard validate", description=__doc__)
    parser.add_argument("paths", nargs="+", help="labelled .jsonl or .csv files")
    parser.add_argument("--encoding", help="file encoding (default: detected: UTF-8, UTF-8 BOM, GB18030)")
    parser.add_argument("--near-duplicate-jaccard", type=float, default=NEAR_DUPLICATE_JACCARD,
                        help="character-trigram Jaccard from which two texts count as near-duplicates")
    parser.add_argument("--show-warnings", action="store_true", help="list within-file near-duplicates")
    args = parser.parse_args(argv)
    report = validate_files(args.paths, args.encoding, args.near_duplicate_jaccard)
    print(distribution_text(report.rows))
    print(f"warnings: {len(report.warnings)} near-duplicate pair(s) within a file"
          + ("" if args.show_warnings else " (--show-warnings lists them)"))
    if args.show_warnings:
        print("\n".join(report.warnings))
    if report.errors:
        print(f"\n{len(report.errors)} error(s):", file=sys.stderr)
        print("\n".join(report.errors), file=sys.stderr)
        return 1
    print("OK: no errors")
    return 0
