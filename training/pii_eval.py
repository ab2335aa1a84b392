"""``collectguard pii-eval [--data data/pii/pii_testset.jsonl] [--version 2] [--misses]``: how well a
PII masker masks the authored PII test set (data/pii/README.md), per type, style and script.

Definitions (the masker is a black box from text to text, so any version can be measured):

- **masked regions**: the output is the input with some substrings replaced by placeholders; the
  regions are found by aligning the text between placeholders with the input. An output that changes
  the input anywhere else is an error.
- **recall** of a type: the share of its spans that are masked. A span is masked when every one of
  its letters and digits (Unicode categories L* and N*: Latin letters, Chinese characters, Arabic
  and full-width digits) lies inside a masked region; spaces, punctuation and symbols (``-``,
  ``·``, ``@``, ``(``, ``*``) may survive. ``typed`` is the share of masked spans whose region has
  the placeholder of the span's type.
- **over-masking**: the share of no-PII rows with a masked region that is not an already-masked
  number. An already-masked number (138****6721, 6222 **** **** 8842, 3101**********2345) is a
  region of digits, separators and at least one ``*``: the policy masks those as well (they still
  show up to 7 digits), and the set marks them as not PII, so replacing one is counted apart, as
  ``strict`` over-masking (any change of a no-PII row at all). ``extra characters`` counts the letters
  and digits masked outside every span in the PII rows.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from collectguard.inference.normalize import NORMALIZATION_VERSIONS, PII_MASKERS
from collectguard.inference.pii import PLACEHOLDERS

from .paths import DATA_DIR

DEFAULT_DATA = DATA_DIR / "pii" / "pii_testset.jsonl"
TARGETS = {"phone": 0.98, "id_number": 0.98, "card": 0.98, "email": 0.98, "address": 0.90, "account_id": 0.90}
MAX_OVER_MASKING = 0.02
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in dict.fromkeys(PLACEHOLDERS.values())))
_ALREADY_MASKED = re.compile(r"[\s\-()+0-9０-９*＊]*[*＊][\s\-()+0-9０-９*＊]*")


class PiiTestSetError(ValueError):
    """A PII test-set file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    style: str
    script: str
    spans: tuple[Span, ...]


def load_testset(path: str | Path = DEFAULT_DATA) -> list[Row]:
    """The rows of a PII test-set JSONL file, every span checked against its text."""
    path = Path(path)
    if not path.is_file():
        raise PiiTestSetError(f"{path}: no such file")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                spans = tuple(Span(s["start"], s["end"], s["type"]) for s in record["spans"])
                row = Row(record["id"], record["text"], record["style"], record["script"], spans)
                values = [s["value"] for s in record["spans"]]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise PiiTestSetError(f"{where}: not a test-set row ({type(exc).__name__}: {exc})") from None
            for span, value in zip(spans, values, strict=True):
                if span.type not in PLACEHOLDERS:
                    raise PiiTestSetError(f"{where}: unknown span type {span.type!r}; known: {', '.join(PLACEHOLDERS)}")
                if row.text[span.start:span.end] != value:
                    raise PiiTestSetError(f"{where}: span {span.start}-{span.end} is not its value")
            rows.append(row)
    if not rows:
        raise PiiTestSetError(f"{path}: no rows")
    return rows


def masked_regions(text: str, masked: str) -> list[tuple[int, int, str]]:
    """``(start, end, placeholder)`` of every region of ``text`` that ``masked`` replaced; a
    ``ValueError`` when ``masked`` is not ``text`` with some regions replaced by placeholders."""
    placeholders = _PLACEHOLDER_RE.findall(masked)
    literals = _PLACEHOLDER_RE.split(masked)
    pattern = "(.+?)".join(re.escape(piece) for piece in literals)
    match = re.fullmatch(pattern, text, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"the masker changed text outside its placeholders: {masked!r}")
    return [(match.start(k + 1), match.end(k + 1), p) for k, p in enumerate(placeholders)]


def _significant(text: str, start: int, end: int) -> list[int]:
    return [k for k in range(start, end) if unicodedata.category(text[k])[0] in "LN"]


def measure(rows: Sequence[Row], mask: Callable[[str], str]) -> dict:
    """Recall per type (overall, by style and by script), typed share, over-masking; the misses."""
    spans: dict[str, list] = {t: [] for t in PLACEHOLDERS}
    negatives = over = strict = extra = 0
    misses = []
    for row in rows:
        masked = mask(row.text)
        regions = masked_regions(row.text, masked)
        inside = {k: placeholder for s, e, placeholder in regions for k in range(s, e)}
        if not row.spans:
            negatives += 1
            strict += masked != row.text
            over += any(not _ALREADY_MASKED.fullmatch(row.text[s:e]) for s, e, _ in regions)
            if regions:
                misses.append({"id": row.id, "kind": "over-masked", "text": row.text, "masked": masked})
            continue
        in_spans = {k for span in row.spans for k in range(span.start, span.end)}
        extra += sum(1 for k in inside if k not in in_spans and unicodedata.category(row.text[k])[0] in "LN")
        for span in row.spans:
            significant = _significant(row.text, span.start, span.end)
            hit = all(k in inside for k in significant)
            typed = hit and inside[significant[0]] == PLACEHOLDERS[span.type]
            spans[span.type].append((row.style, row.script, hit, typed))
            if not hit:
                misses.append({"id": row.id, "kind": span.type, "value": row.text[span.start:span.end],
                               "text": row.text, "masked": masked})
    recall = {}
    for kind, found in spans.items():
        def share(items):
            return sum(h for *_, h, _ in items) / len(items) if items else float("nan")

        hits = [f for f in found if f[2]]
        recall[kind] = {"spans": len(found), "recall": share(found),
                        "typed": sum(f[3] for f in hits) / len(hits) if hits else float("nan"),
                        **{value: share([f for f in found if value in f[:2]])
                           for value in ("asr", "chat", "clean", "simplified", "traditional")}}
    return {"rows": len(rows), "recall": recall, "no_pii_rows": negatives,
            "over_masking": over / negatives if negatives else float("nan"),
            "over_masking_strict": strict / negatives if negatives else float("nan"),
            "extra_characters": extra, "misses": misses}


def failed_targets(result: dict) -> list[str]:
    """The targets a measurement misses (recall per type, over-masking), as readable lines."""
    failed = [f"{kind} recall {result['recall'][kind]['recall']:.3f} < {target}" for kind, target in TARGETS.items()
              if not result["recall"][kind]["recall"] >= target]
    if not result["over_masking"] <= MAX_OVER_MASKING:
        failed.append(f"over-masking {result['over_masking']:.3f} > {MAX_OVER_MASKING}")
    return failed


def format_result(result: dict, version: int, data: Path) -> str:
    columns = ("asr", "chat", "clean", "simplified", "traditional")
    lines = [f"PII masking, normalisation version {version}, on {data} ({result['rows']} rows)", "",
             f"| type | spans | recall | target | typed | {' | '.join(columns)} |", "|---" * (5 + len(columns)) + "|"]
    for kind, r in result["recall"].items():
        cells = " | ".join(f"{r[c]:.3f}" if r[c] == r[c] else "–" for c in columns)
        target = f">= {TARGETS[kind]:.2f}" if kind in TARGETS else "–"
        typed = f"{r['typed']:.3f}" if r["typed"] == r["typed"] else "–"
        lines.append(f"| {kind} | {r['spans']} | {r['recall']:.3f} | {target} | {typed} | {cells} |")
    lines += ["", f"over-masking: {result['over_masking']:.3f} of {result['no_pii_rows']} no-PII rows "
              f"(target <= {MAX_OVER_MASKING}); strict, already-masked numbers included: "
              f"{result['over_masking_strict']:.3f}; letters and digits masked outside spans in PII rows: "
              f"{result['extra_characters']}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard pii-eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"PII test set (default {DEFAULT_DATA})")
    parser.add_argument("--version", type=int, default=NORMALIZATION_VERSIONS[-1], choices=NORMALIZATION_VERSIONS,
                        help="normalisation version whose masker to measure (default: the current one)")
    parser.add_argument("--misses", action="store_true", help="also list every missed span and over-masked row")
    args = parser.parse_args(argv)
    result = measure(load_testset(args.data), PII_MASKERS[args.version])
    print(format_result(result, args.version, args.data))
    if args.misses:
        for miss in result["misses"]:
            print(json.dumps(miss, ensure_ascii=False))
    failed = failed_targets(result)
    if failed:
        print("targets missed: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0
