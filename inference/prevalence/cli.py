"""``collectguard prevalence --scores SCORED... --out REPORT_DIR [--audit LABELLED...] [--model DIR]
[--labelled FILE] [--by COL ...] [--call-col call_id] [--bootstrap 1000] [--seed 13] [--min-group-size 30]``:
how common is each violation in a scored corpus.

With ``--audit`` (a sample of this corpus drawn by ``collectguard audit-sample`` and labelled by
people) the headline is prediction-powered inference, valid whatever the model's errors on this
corpus, with the audit-only (classical) estimate beside it. With ``--model``, the model-based
corrections too, which assume the error rates measured on held-out rows (or ``--labelled``) hold
on this corpus. REPORT_DIR gets ``prevalence.csv`` (tidy: group, label, method, estimate, ci_low,
ci_high, n, clipped, flag; the whole corpus is group ``all``), ``calls.csv`` (share of calls with
each violation), ``audit.csv`` (with an audit: lam, audited rows, gain), ``report.md`` and PNG plots.
Methods and assumptions: docs/prevalence.md.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import DEFAULT_CALL_COL, estimate_prevalence
from .ppi import TUNING
from .report import write_outputs


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard prevalence", description=__doc__.split("\n\n")[1])
    parser.add_argument("--scores", required=True, nargs="+", type=Path,
                        help="scored .parquet/.csv/.jsonl file(s) written by collectguard score")
    parser.add_argument("--out", required=True, type=Path, help="report directory to write")
    parser.add_argument("--audit", nargs="+", type=Path, default=[], metavar="LABELLED",
                        help="labelled audit sample(s) of these scored files (collectguard audit-sample)")
    parser.add_argument("--model", type=Path,
                        help="the model directory that scored them, for the model-based corrections "
                             "(required without --audit)")
    parser.add_argument("--labelled", type=Path,
                        help="labelled .jsonl/.csv rows to measure error rates on (default: the model's held-out rows)")
    parser.add_argument("--by", action="append", default=[], metavar="COL",
                        help="group by this column (repeat for several, e.g. --by agency --by month)")
    parser.add_argument("--call-col", help=f"call id column (default {DEFAULT_CALL_COL!r} when the files have it)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the resampling (default 13)")
    parser.add_argument("--min-group-size", type=int, default=30,
                        help="groups with fewer scored utterances are kept and flagged too_small (default 30)")
    parser.add_argument("--tuning", choices=TUNING, default="shrunk",
                        help="PPI power tuning: shrunk toward plain PPI with few labelled positives (default), "
                             "ppi++ as published, or plain (lam = 1)")
    args = parser.parse_args(argv)
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    if args.model is None and not args.audit:
        parser.error("give --audit (a labelled sample of this corpus), --model, or both")
    if args.labelled is not None and args.model is None:
        parser.error("--labelled measures the model's error rates: it needs --model")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = estimate_prevalence(args.scores, args.model, audit=args.audit, labelled=args.labelled, by=args.by,
                                 call_col=args.call_col, n_bootstrap=args.bootstrap, seed=args.seed,
                                 min_group_size=args.min_group_size, tuning=args.tuning)
    write_outputs(args.out, result)
    print(f"wrote {args.out}: {result.headline_method} " + ", ".join(
        f"{label} {r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for label, r in result.headline().iterrows()))
    return 0
