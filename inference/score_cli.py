"""``collectguard score --model DIR INPUT... --out OUTPUT [--calls-out CALLS] [options]``."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .score import DEFAULT_AGENT_VALUES, ScoreOptions, score_file
from .textio import ENCODING_ERRORS

SHOWN_PROBLEMS = 20


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard score", description=__doc__)
    parser.add_argument("inputs", nargs="+", type=Path, help="CSV, TSV, JSONL or Parquet files, one row per utterance")
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--out", required=True, type=Path, help="output .parquet, .csv or .jsonl")
    parser.add_argument("--calls-out", type=Path, help="per-call summary (.csv, .jsonl or .parquet)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs, or start an unfinished run over")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run into the same --out")
    parser.add_argument("--text-col", default="text", help="column with the utterance text (default: text)")
    parser.add_argument("--call-col", default="call_id", help="column with the call id (default: call_id)")
    parser.add_argument("--turn-col", help="order within the call: a turn number or start time")
    parser.add_argument("--speaker-col", default="speaker",
                        help="speaker column; when present only agent rows are scored ('' to score all rows)")
    parser.add_argument("--agent-value", action="append", dest="agent_values", metavar="VALUE",
                        help="a speaker value that means the agent, compared ignoring case and spaces "
                             f"(repeatable; default: {', '.join(DEFAULT_AGENT_VALUES)})")
    parser.add_argument("--encoding", help="input encoding (default: detected: UTF-8, UTF-8 BOM, GB18030, Big5, UTF-16)")
    parser.add_argument("--encoding-errors", default="strict", choices=ENCODING_ERRORS,
                        help="strict: refuse a file with undecodable bytes; replace: score the other rows and "
                             "give the damaged ones the status not_scored:undecodable")
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"],
                        help="auto (default): fp32 or bf16, whichever a short measurement at start finds faster "
                             "on this machine (fp32 for --backend onnx); int8 only when asked for")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk-rows", type=int, default=4096, help="rows read, scored and written at a time")
    parser.add_argument("--engine", default="local", choices=["local", "ray"],
                        help="local, or Ray Data (a running cluster, or a local one)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-mask", action="store_true",
                        help="INTERNAL USE: leave personal data unmasked in the call summary's evidence (its "
                             "pii_masking column then says off)")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> ScoreOptions:
    return ScoreOptions(text_col=args.text_col, call_col=args.call_col, turn_col=args.turn_col,
                        speaker_col=args.speaker_col or None,
                        agent_values=tuple(args.agent_values or DEFAULT_AGENT_VALUES),
                        encoding=args.encoding, encoding_errors=args.encoding_errors, chunk_rows=args.chunk_rows,
                        mask_pii=not args.no_mask)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = {"batch_size": args.batch_size, "precision": args.precision, "backend": args.backend,
            "device": args.device}
    result = score_file(args.model, args.inputs, args.out, args.calls_out, options_from(args), resume=args.resume,
                        overwrite=args.overwrite, engine=args.engine, progress=not args.quiet, **load)
    for problem in result.problems[:SHOWN_PROBLEMS]:
        print(f"row not scored: {problem}", file=sys.stderr)
    if len(result.problems) > SHOWN_PROBLEMS:
        print(f"... and {len(result.problems) - SHOWN_PROBLEMS} more rows not scored for a defect", file=sys.stderr)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.status_counts.items()))
    print(f"wrote {args.out}: {result.rows} rows ({counts})"
          + (f"; resumed {result.resumed_chunks} finished chunk(s)" if result.resumed_chunks else "")
          + (f"; call summary {args.calls_out}" if args.calls_out else ""))
    return 0
