"""``collectguard import-annotations EXPORT.json --out LABELLED.jsonl``: a Label Studio JSON export back into
the project's labelled format.

Rows every annotator of a task agrees on are written to ``--out`` (``id``, ``text``, ``labels``,
``speaker``, ``style``, ``script``, plus ``annotators`` and ``annotation``: the export and task). Tasks
whose annotators disagree go to ``--disagreements`` with every annotator's labels, for adjudication;
nothing is resolved here. ``--report`` gets the agreement (Cohen's kappa per label for each pair of
annotators with shared tasks). The written rows are then checked like ``collectguard validate``,
together with ``--against`` (the labelled data they will join): duplicate ids, exact and
near-duplicate texts. Exit status 1 when that check finds errors; 2 when the export itself is unusable
(another labelling config, unknown choices, tasks without text, skipped tasks, repeated task ids).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from collectguard.inference.labels import SCRIPTS, SPEAKERS, STYLES

from .evaluate import jsonable
from .labelstudio import read_export
from .validate import validate_files


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard import-annotations", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="Label Studio JSON export (Export > JSON)")
    parser.add_argument("--out", required=True, type=Path, help="labelled .jsonl to write")
    parser.add_argument("--disagreements", type=Path, help="default: OUT with .disagreements.jsonl")
    parser.add_argument("--report", type=Path, help="agreement report JSON (default: OUT with .agreement.json)")
    parser.add_argument("--against", nargs="*", type=Path, default=[],
                        help="labelled files the rows will join, checked for duplicates and leakage")
    parser.add_argument("--speaker", choices=SPEAKERS, help="speaker of tasks whose data has none")
    parser.add_argument("--style", choices=STYLES, help="style of tasks whose data has none")
    parser.add_argument("--script", choices=SCRIPTS, help="script of tasks whose data has none")
    parser.add_argument("--min-annotators", type=int, default=1, help="annotations a task needs to be imported")
    parser.add_argument("--ignore-skipped", action="store_true",
                        help="leave skipped annotations out instead of refusing the export")
    args = parser.parse_args(argv)
    defaults = {k: v for k, v in (("speaker", args.speaker), ("style", args.style), ("script", args.script)) if v}
    imported = read_export(args.export, defaults, args.min_annotators, args.ignore_skipped)
    stem = args.out.with_suffix("")
    disagreements = args.disagreements or stem.with_name(stem.name + ".disagreements.jsonl")
    report = args.report or stem.with_name(stem.name + ".agreement.json")
    write_jsonl(args.out, imported.rows)
    write_jsonl(disagreements, imported.disagreements)
    report.write_text(json.dumps(jsonable({"agreement": imported.agreement, "incomplete": imported.incomplete,
                                           "skipped": imported.skipped}), ensure_ascii=False, indent=2) + "\n",
                      encoding="utf-8")
    agreement = imported.agreement
    print(f"{agreement['tasks']} tasks: {len(imported.rows)} rows written to {args.out}; "
          f"{len(imported.disagreements)} disagreement(s) listed in {disagreements} (not resolved); "
          f"{len(imported.incomplete)} with fewer than {args.min_annotators} annotation(s); "
          f"{len(imported.skipped)} skipped annotation(s) left out")
    for pair in agreement["pairs"]:
        kappa = ", ".join(f"{label} {m['kappa']:.2f}" for label, m in pair["per_label"].items())
        print(f"annotators {' and '.join(pair['annotators'])}: {pair['n']} shared tasks, kappa {kappa}")
    if not imported.rows:
        return 0
    checked = validate_files([str(args.out), *map(str, args.against)])
    if checked.errors:
        print(f"\n{len(checked.errors)} error(s) in the imported rows:\n" + "\n".join(checked.errors), file=sys.stderr)
        return 1
    against = ", ".join(map(str, args.against)) or "other files"
    print(f"validated: no duplicate ids or texts, no near-duplicates of {against}")
    return 0
