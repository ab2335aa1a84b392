"""``collectguard audit-sample --scores SCORED... --n N --out FILE [--by COL] [--design simple|stratified]
[--unit utterance|call] [--seed 13]``: draw a probability sample of a scored corpus for people to label.

FILE (.csv, or .jsonl) lists the sampled rows with an empty ``labels`` column to fill (``threat|privacy``,
or ``compliant``), and the design (stratum, inclusion probability, unit) that ``collectguard
prevalence --audit FILE`` needs to weight them. ``--unit call`` samples whole calls (N calls) for
the share of calls with a violation. How the sample is drawn: ``inference/prevalence/audit.py``;
when to use which design and how large: docs/prevalence.md.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import DEFAULT_CALL_COL
from .audit import DESIGNS, UNITS, AuditError, audit_frame, draw_audit, load_corpus, write_audit


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard audit-sample", description=__doc__.split("\n\n")[1])
    parser.add_argument("--scores", required=True, nargs="+", type=Path,
                        help="scored .parquet/.csv/.jsonl file(s) written by collectguard score")
    parser.add_argument("--n", required=True, type=int, help="units to sample (utterances, or calls with --unit call)")
    parser.add_argument("--out", required=True, type=Path, help="the file to label: .csv (default choice) or .jsonl")
    parser.add_argument("--by", action="append", default=[], metavar="COL",
                        help="sample within each group of this column (repeat for several), so that each has rows")
    parser.add_argument("--design", choices=DESIGNS, default="simple",
                        help="simple random (default), or stratified by the model's flag and score bins")
    parser.add_argument("--unit", choices=UNITS, default="utterance", help="sample utterances (default) or calls")
    parser.add_argument("--bins", type=int, default=4,
                        help="strata per group for --design stratified: flagged, and BINS-1 score bins (default 4)")
    parser.add_argument("--call-col", default=DEFAULT_CALL_COL, help="call id column (default call_id)")
    parser.add_argument("--text-col", default="text", help="text column (default text)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the draw (default 13)")
    parser.add_argument("--show-predictions", action="store_true",
                        help="add the model's pred_labels and probabilities (labellers who see them anchor on them)")
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists (it may hold labels)")
    args = parser.parse_args(argv)
    if args.bins < 2:
        parser.error("--bins must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.out.exists() and not args.overwrite:
        raise AuditError(f"{args.out}: exists (it may hold labels); pass --overwrite to replace it")
    corpus = load_corpus(args.scores, args.by)
    sample, strata = draw_audit(corpus, args.n, design=args.design, unit=args.unit, by=args.by,
                                call_col=args.call_col, bins=args.bins, seed=args.seed)
    frame = audit_frame(corpus, sample, args.unit, text_col=args.text_col, call_col=args.call_col, by=args.by,
                        show_predictions=args.show_predictions, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_audit(frame, args.out)
    print(strata.to_string(float_format=lambda v: f"{v:.4f}"))
    to_label = int((frame["labels"] == "").sum())
    print(f"wrote {args.out}: {len(sample)} {args.unit}s, {to_label} rows to label ({args.design} design, "
          f"seed {args.seed}); fill the labels column with threat|insult|deception|privacy or compliant")
    return 0
