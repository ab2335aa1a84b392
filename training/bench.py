"""``python -m collectguard.training.bench --model DIR [--n 2000] [--batch-size 32]``: CPU speed, memory and quality
of every scoring path on one list of utterances.

Paths: the ``transformers`` text-classification pipeline at batch 1 and 32 (the baseline), then the
``Classifier`` (normalisation, windows, length-sorted batches) on torch fp32, bf16 and int8 and on
ONNX fp32 and int8 (skipped when the directory has no ``collectguard export``). Each path runs in a
fresh spawned process, so its peak RSS is its own. Utterances of 8-80 characters are cut from
concatenated test-split texts (seeded). Quality: any-violation F1 and macro-F1 on the test split with
the model's thresholds; a path more than 0.5 F1 points below torch fp32 is marked "not a default".
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from collectguard.inference.labels import to_multi_hot
from collectguard.inference.modeldir import METADATA_FILE, read_json
from collectguard.inference.onnx_scorer import ONNX_FILES
from collectguard.inference.records import load_labelled

PIPELINE_PATHS = {"pipeline b1": 1, "pipeline b32": 32}
CLASSIFIER_PATHS = {"torch fp32": ("torch", "fp32"), "torch bf16": ("torch", "bf16"),
                    "torch int8": ("torch", "int8"), "onnx fp32": ("onnx", "fp32"), "onnx int8": ("onnx", "int8")}
REFERENCE, BASELINE = "torch fp32", "pipeline b32"
MAX_F1_LOSS = 0.005  # 0.5 F1 points
WARMUP = 32


def benchmark_texts(texts: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """``n`` utterances of 8-80 characters: random texts joined with "，" and cut to a random length."""
    rng = np.random.default_rng(seed)
    result = []
    for length in rng.integers(8, 81, size=n):
        text = ""
        while len(text) < length:
            text += ("，" if text else "") + texts[rng.integers(len(texts))]
        result.append(text[:length])
    return result


def _run_pipeline(model_dir: str, batch_size: int, texts: list[str]) -> float:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=model_dir, top_k=None, function_to_apply="sigmoid",
                    device="cpu")
    pipe(texts[:WARMUP], batch_size=batch_size)
    start = time.perf_counter()
    pipe(texts, batch_size=batch_size)
    return time.perf_counter() - start


def measure(name: str, model_dir: str, texts: list[str], batch_size: int, test_texts: list[str],
            cores: int | None = None) -> dict:
    """Runs in a fresh process: seconds for ``texts``, peak RSS (MiB), and test-split decisions.

    ``cores`` pins the process to that many cores first; torch and onnxruntime size their thread
    pools from the cores they may use.
    """
    if cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    if name in PIPELINE_PATHS:
        seconds = _run_pipeline(model_dir, PIPELINE_PATHS[name], texts)
        return {"seconds": seconds, "peak_mib": _peak_mib(), "decisions": None}
    from collectguard.inference.classifier import Classifier

    backend, precision = CLASSIFIER_PATHS[name]
    classifier = Classifier.from_pretrained(model_dir, batch_size=batch_size, precision=precision, backend=backend)
    classifier.predict_proba(texts[:WARMUP])
    start = time.perf_counter()
    classifier.predict_proba(texts)
    seconds = time.perf_counter() - start
    peak_mib = _peak_mib()  # before the test split is scored, so that it is the timed run's
    decisions = classifier.decide(classifier.predict_proba(test_texts)).tolist() if test_texts else None
    return {"seconds": seconds, "peak_mib": peak_mib, "decisions": decisions}


def _peak_mib() -> float:
    """Peak resident memory of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_in_fresh_process(*args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, *args).result()


def f1_scores(truth: np.ndarray, decisions: np.ndarray) -> tuple[float, float]:
    """``(any-violation F1, macro-F1 over the four labels)``."""
    from sklearn.metrics import f1_score

    any_f1 = f1_score(truth.any(axis=1), decisions.any(axis=1), zero_division=0)
    return float(any_f1), float(f1_score(truth, decisions, average="macro", zero_division=0))


def _ratio(result: dict, other: dict | None) -> str:
    """Speed of ``result`` over speed of ``other`` (same number of texts)."""
    return f"{other['seconds'] / result['seconds']:.2f}" if other else "-"


def table(results: dict[str, dict], n: int) -> str:
    """Markdown table: speed, memory, ratios, quality and the default verdict."""
    base, ref = results.get(BASELINE), results.get(REFERENCE)
    ref_f1 = ref.get("f1") if ref else None
    lines = ["| path | utt/s | peak RSS MiB | x pipeline b32 | x torch fp32 | any-F1 | macro-F1 | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, result in results.items():
        speed = n / result["seconds"]
        f1 = result.get("f1")
        any_f1, macro = (f"{f1[0]:.3f}", f"{f1[1]:.3f}") if f1 else ("-", "-")
        note = ""
        if f1 and ref_f1 and name != REFERENCE and max(ref_f1[0] - f1[0], ref_f1[1] - f1[1]) > MAX_F1_LOSS:
            note = "not a default (F1 loss > 0.5 points)"
        lines.append(f"| {name} | {speed:.1f} | {result['peak_mib']:.0f} | {_ratio(result, base)} "
                     f"| {_ratio(result, ref)} | {any_f1} | {macro} | {note} |")
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, or the architecture where there is none."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def header(model_dir: Path, n: int, batch_size: int, cores: int | None, metadata: dict) -> str:
    versions = []
    for package in ("torch", "transformers", "onnxruntime"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} not installed")
    lines = [f"# collectguard CPU benchmark, {date.today().isoformat()}",
             f"model: {model_dir} ({metadata.get('shape', 'trained')}); {n} utterances of 8-80 characters; "
             f"Classifier batch size {batch_size}",
             f"machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores available, "
             f"{cores or 'all'} used per path; {', '.join(versions)}"]
    if metadata.get("untrained"):
        lines.append("NOTE: this model is UNTRAINED (random weights, collectguard.json \"untrained\": true): "
                     "its F1 is meaningless and only speed and memory count.")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m collectguard.training.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="transformer model directory")
    parser.add_argument("--n", type=int, default=2000, help="utterances to score per path (default 2000)")
    parser.add_argument("--batch-size", type=int, default=32, help="Classifier batch size (default 32)")
    parser.add_argument("--test", type=Path, default=Path("data/splits/test.jsonl"),
                        help="labelled file: source of the utterances and of the F1 (default: test split)")
    parser.add_argument("--paths", nargs="+", choices=[*PIPELINE_PATHS, *CLASSIFIER_PATHS],
                        default=[*PIPELINE_PATHS, *CLASSIFIER_PATHS], help="paths to measure (default: all)")
    parser.add_argument("--cores", type=int, help="pin each measured process to this many cores (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    metadata = read_json(args.model, METADATA_FILE)
    rows = load_labelled(args.test)
    truth = np.array([to_multi_hot(row.labels) for row in rows], dtype=bool)
    test_texts = [row.text for row in rows]
    texts = benchmark_texts(test_texts, args.n, args.seed)
    print(header(args.model, args.n, args.batch_size, args.cores, metadata) + "\n", flush=True)
    results = {}
    for name in args.paths:
        backend, precision = CLASSIFIER_PATHS.get(name, ("pipeline", ""))
        if backend == "onnx" and not (args.model / ONNX_FILES[precision]).is_file():
            print(f"{name}: skipped, {args.model} has no {ONNX_FILES[precision]} "
                  f"(run `collectguard export --model {args.model} --onnx --int8`)", flush=True)
            continue
        result = measure_in_fresh_process(name, str(args.model), texts, args.batch_size, test_texts, args.cores)
        if result["decisions"] is not None:
            result["f1"] = f1_scores(truth, np.array(result["decisions"], dtype=bool))
        results[name] = result
        print(f"{name}: {args.n / result['seconds']:.1f} utt/s, peak RSS {result['peak_mib']:.0f} MiB",
              flush=True)
    print("\n" + table(results, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
