"""``collectguard prevalence --scores SCORED... --model DIR --out REPORT_DIR [--labelled FILE]
[--by COL[,COL]] [--call-col call_id] [--bootstrap 1000] [--seed 13] [--min-group-size 30]``:
how common is each violation in a scored corpus, corrected for the model's errors.

REPORT_DIR gets ``prevalence.csv`` (tidy: group, label, method, estimate, ci_low, ci_high, n, clipped,
flag; the whole corpus is group ``all``), ``calls.csv`` (share of calls with each violation),
``report.md`` and PNG plots. Error rates come from the model directory's held-out predictions, or
from ``--labelled`` rows scored with the model. Methods and assumptions: docs/prevalence.md.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from inference.modeldir import ModelDirectoryError, read_thresholds
from inference.prevalence import HEADLINE
from inference.prevalence_input import ScoredFileError, heldout_arrays, load_scored
from inference.prevalence_measure import Scored, heldout_rates_all, measure
from inference.records import LabelledDataError
from inference.textio import EncodingError

from .prevalence_report import write_outputs

DEFAULT_CALL_COL = "call_id"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard prevalence", description=__doc__.split("\n\n")[1])
    parser.add_argument("--scores", required=True, nargs="+", type=Path,
                        help="scored .parquet/.csv/.jsonl file(s) written by collectguard score")
    parser.add_argument("--model", required=True, type=Path, help="the model directory that scored them")
    parser.add_argument("--out", required=True, type=Path, help="report directory to write")
    parser.add_argument("--labelled", type=Path,
                        help="labelled .jsonl/.csv rows to measure error rates on (default: the model's held-out rows)")
    parser.add_argument("--by", default="", help="group by these columns, comma-separated, e.g. agency,month")
    parser.add_argument("--call-col", help=f"call id column (default {DEFAULT_CALL_COL!r} when the files have it)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the resampling (default 13)")
    parser.add_argument("--min-group-size", type=int, default=30,
                        help="groups with fewer scored utterances are kept and flagged too_small (default 30)")
    args = parser.parse_args(argv)
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    args.by = [c.strip() for c in args.by.split(",") if c.strip()]
    return args


def run(args: argparse.Namespace):
    """(prevalence table, calls table, context for the report)."""
    thresholds = list(read_thresholds(args.model).values())
    truth, probs = heldout_arrays(args.model, args.labelled)
    frame, ok, call_col = load_scored(args.scores, thresholds, args.model, args.by,
                                      args.call_col or DEFAULT_CALL_COL, call_col_required=args.call_col is not None)
    rates = heldout_rates_all(Scored.from_probs(probs, thresholds, truth), args.bootstrap, args.seed)
    prevalence, calls = measure(frame, ok, thresholds, rates, args.by, call_col, args.bootstrap, args.seed,
                                args.min_group_size)
    return prevalence, calls, report_context(args, frame, ok, len(truth), call_col)


def report_context(args: argparse.Namespace, frame: pd.DataFrame, ok, n_heldout: int, call_col: str | None) -> dict:
    """What was measured, listed at the top of the report."""
    statuses = (frame["status"].astype(str).value_counts() if "status" in frame
                else pd.Series({"(no status)": len(frame)}))
    counts = ", ".join(f"{status}: {count}" for status, count in statuses.items())
    return {"model": str(args.model), "scored files": ", ".join(map(str, args.scores)),
            "rows": f"{len(frame)} ({counts}); {int(ok.sum())} measured",
            "error rates from": (f"{args.labelled} ({n_heldout} labelled rows)" if args.labelled else
                                 f"the model's held-out predictions ({n_heldout} rows)"),
            "call column": call_col or "none (no call level; utterances resampled)",
            "groups by": ", ".join(args.by) or "none", "bootstrap replicates": args.bootstrap,
            "seed": args.seed, "minimum group size": args.min_group_size}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        prevalence, calls, context = run(args)
        write_outputs(args.out, prevalence, calls, context)
    except (ScoredFileError, ModelDirectoryError, LabelledDataError, EncodingError) as exc:
        print(f"collectguard prevalence: {exc}", file=sys.stderr)
        return 2
    overall = prevalence[(prevalence["group"] == "all") & (prevalence["method"] == HEADLINE)]
    print(f"wrote {args.out}: {HEADLINE} " + ", ".join(
        f"{r.label} {r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for r in overall.itertuples()))
    return 0
