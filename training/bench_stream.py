"""Peak memory of ``collectguard score`` as the input grows: ``python -m collectguard.training.bench_stream``.

Writes CSV inputs of each size (utterances drawn from the test split, 10 per call), scores each in a
fresh process and prints rows/s and the child's peak RSS; streaming means the RSS stays flat.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_input(path: Path, rows: int, texts: list[str], seed: int = 13) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["call_id", "turn", "speaker", "text"])
        for i in range(rows):
            writer.writerow([f"C{i // 10:07d}", i % 10 + 1, "坐席" if i % 3 else "客户", rng.choice(texts)])


def measure(model: str, source: Path, output: Path, extra: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one scoring run in a child process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "collectguard", "score", "--model", model, str(source),
                              "--out", str(output), "--quiet", *extra], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS, in KiB on Linux
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"scoring failed with exit code {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collectguard.training.bench_stream", description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated input sizes, ascending")
    parser.add_argument("--texts", default="data/splits/test.jsonl")
    parser.add_argument("--calls-out", action="store_true", help="also write the per-call summary")
    args = parser.parse_args(argv)
    texts = [json.loads(line)["text"] for line in open(args.texts, encoding="utf-8")]
    print(f"{'rows':>10} {'seconds':>9} {'rows/s':>9} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (int(r) for r in args.rows.split(",")):
            source, output = Path(tmp) / f"in-{rows}.csv", Path(tmp) / f"out-{rows}.parquet"
            write_input(source, rows, texts)
            extra = ["--calls-out", str(Path(tmp) / f"calls-{rows}.csv")] if args.calls_out else []
            seconds, rss = measure(args.model, source, output, extra)
            print(f"{rows:>10} {seconds:>9.1f} {rows / seconds:>9.0f} {rss:>13.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
