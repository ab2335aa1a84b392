"""``collectguard score --engine ray``: the local scorer (``inference.score``) run on Ray Data.

Same rows, order, statuses and probabilities as ``score_file``; only where the work runs differs:

- Reading: Ray tasks parse each input file whole with the local reader (``tables.iter_chunks``), so
  encodings, blank lines, malformed rows and the union of columns behave exactly as locally. Each chunk
  of ``options.chunk_rows`` rows travels as one Ray row holding the pickled chunk, so Ray's Arrow type
  inference never touches the input columns (a JSONL number stays a number, a missing value ``None``).
- Scoring: ``map_batches`` over an actor pool; each actor loads the model once and applies
  ``row_statuses`` and ``score_frame`` to each chunk. The chunks of one file are spread over the actors.
- Writing: execution preserves order; the driver receives the scored chunks in input order and writes
  ONE output file (.parquet, .csv or .jsonl, like the local engine) through parts in a temporary folder
  and an atomic rename. The per-call summary (``calls_out``) is built there too, with the local code.

Not supported: resume. A failed run leaves no output (only its temporary folder is removed): run it
again, or use the local engine's ``--resume``. Input files and the model directory must be at the same
path on every node (a shared file system, or copies).
"""
from __future__ import annotations

import inspect
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .calls import merge_summaries, summarise_chunk
from .classifier import Classifier, check_backend
from .modeldir import ModelDirectoryError, read_metadata
from .score import (RESULT_COLUMNS, ScoreOptions, ScoreResult, _input_columns, _order_keys, row_statuses,
                    score_frame, write_calls)
from .tables import OUTPUT_FORMATS, TableError, assemble, count_rows, iter_chunks, table_format, write_part


def score_with_ray(model_dir: str | Path, inputs: Sequence[str | Path], output: str | Path,
                   options: ScoreOptions = ScoreOptions(), *, calls_out: str | Path | None = None,
                   concurrency: int | None = None, cpus_per_actor: float = 1.0, resume: bool = False,
                   progress: bool = True, **load_options) -> ScoreResult:
    """Score ``inputs`` into the single file ``output`` on the Ray cluster named by ``RAY_ADDRESS``
    (or the one already joined with ``ray.init``; else a local one, shut down afterwards).

    ``concurrency``: number of scoring actors, each with ``cpus_per_actor`` CPUs (default: the
    cluster's CPUs / ``cpus_per_actor``, at most one per chunk).
    ``load_options`` go to ``Classifier.load`` in every actor.
    """
    if cpus_per_actor <= 0 or (concurrency is not None and concurrency < 1):
        raise ValueError("cpus_per_actor must be > 0 and concurrency >= 1")
    if resume:
        raise ValueError("--resume is not supported with --engine ray: run it again from the start, "
                         "or use the local engine (--engine local --resume)")
    inputs, output = [Path(p) for p in inputs], Path(output)
    kind = table_format(output, OUTPUT_FORMATS)
    columns = _input_columns(inputs, options)
    has_speaker = bool(options.speaker_col) and options.speaker_col in columns
    if calls_out is not None and options.call_col not in columns:
        raise TableError(f"--calls-out needs a call column {options.call_col!r}; set it with --call-col")
    model_dir = str(Path(model_dir).resolve())
    _check_model(model_dir, load_options)

    import ray

    started = not ray.is_initialized()
    if started:
        ray.init()  # RAY_ADDRESS, else the latest cluster started on this machine, else a new local one
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars, context.target_max_block_size)
    # in input order; one block per chunk (a pickled chunk is one row), so that the chunks of one file
    # are dealt out to all the actors instead of travelling together in one block to one actor
    context.execution_options.preserve_order, context.enable_progress_bars = True, progress
    context.target_max_block_size = 1
    output.parent.mkdir(parents=True, exist_ok=True)
    parts_dir = Path(tempfile.mkdtemp(prefix=f".{output.name}.ray-", dir=output.parent))
    try:
        concurrency = concurrency or _default_concurrency(ray, inputs, options.chunk_rows, cpus_per_actor)
        dataset = _dataset(ray, inputs, columns, options, has_speaker, model_dir, load_options,
                           concurrency, cpus_per_actor)
        result = _write(dataset, parts_dir, output, kind, columns, options, calls_out)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
        (context.execution_options.preserve_order, context.enable_progress_bars,
         context.target_max_block_size) = saved
        if started:
            ray.shutdown()
    return result


def _default_concurrency(ray, inputs: list[Path], chunk_rows: int, cpus_per_actor: float) -> int:
    """One actor per ``cpus_per_actor`` CPUs of the cluster, but no more actors than chunks to score
    (each actor loads the model)."""
    chunks = sum(max(1, -(-count_rows(p) // chunk_rows)) for p in inputs)
    return max(1, min(chunks, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor)))


def _check_model(model_dir: str, load_options: dict) -> None:
    """Fail on the driver, before any actor starts, for a bad model directory or load option."""
    if not Path(model_dir).is_dir():
        raise ModelDirectoryError(f"{model_dir}: no such model directory")
    read_metadata(Path(model_dir))
    try:
        inspect.signature(Classifier.load).bind(model_dir, **load_options)
    except TypeError as exc:
        raise ValueError(f"unknown model load option: {exc}") from None
    check_backend(load_options.get("backend", "torch"), load_options.get("precision", "fp32"))


def _dataset(ray, inputs, columns, options, has_speaker, model_dir, load_options, concurrency, cpus_per_actor):
    """files -> chunks (one row each) -> scored chunks. Reading asks for no CPU: it is light next to
    scoring, cannot then starve for CPUs that the actors hold, and is not fused into the actors."""
    files = [{"file_index": i, "path": str(p.resolve()), "shown": str(p)} for i, p in enumerate(inputs)]
    chunks = ray.data.from_items(files).map_batches(
        _read_chunks, batch_size=1, batch_format="pyarrow", num_cpus=0,
        fn_kwargs={"columns": columns, "chunk_rows": options.chunk_rows, "encoding": options.encoding})
    return chunks.map_batches(
        _ChunkScorer, batch_size=1, batch_format="pyarrow", num_cpus=cpus_per_actor,
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        fn_constructor_args=(model_dir, options, has_speaker, load_options))


def _read_chunks(files, columns: list[str], chunk_rows: int, encoding: str | None):
    """Ray task: a batch of files in, one row per chunk out (file index, chunk index, pickled chunk)."""
    import pyarrow as pa

    for file_index, path, shown in zip(*(files[c].to_pylist() for c in ("file_index", "path", "shown"))):
        for chunk_index, chunk in enumerate(iter_chunks(Path(path), columns, chunk_rows, encoding)):
            # messages name the file as the user did, like the local engine (workers open it by full path)
            chunk.malformed = [shown + m[len(path):] if m else None for m in chunk.malformed]
            yield pa.table({"file_index": [file_index], "chunk_index": [chunk_index],
                            "chunk": [pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)]})


class _ChunkScorer:
    """Ray actor: loads the model once, then scores pickled chunks as ``score_file`` does."""

    def __init__(self, model_dir: str, options: ScoreOptions, has_speaker: bool, load_options: dict):
        self.classifier = Classifier.load(model_dir, **load_options)
        self.options, self.has_speaker = options, has_speaker

    def __call__(self, batch):
        import pyarrow as pa

        scored = []
        for blob in batch["chunk"].to_pylist():
            chunk = pickle.loads(blob)
            statuses = row_statuses(chunk, self.options, self.has_speaker)
            chunk.frame = score_frame(self.classifier, chunk.frame, statuses, self.options.text_col)
            scored.append(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        return pa.table({"file_index": batch["file_index"], "chunk_index": batch["chunk_index"],
                         "chunk": pa.array(scored, type=pa.binary())})


def _write(dataset, parts_dir: Path, output: Path, kind: str, columns: list[str], options: ScoreOptions,
           calls_out) -> ScoreResult:
    """Driver: scored chunks in input order -> parts -> ``output``; totals and call summaries."""
    result, parts, summaries, last = ScoreResult(), [], {}, (-1, -1)
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        for file_index, chunk_index, blob in zip(batch["file_index"].to_pylist(),
                                                 batch["chunk_index"].to_pylist(), batch["chunk"].to_pylist()):
            if (file_index, chunk_index) <= last:
                raise RuntimeError(f"Ray returned chunk {(file_index, chunk_index)} after {last}: order lost")
            last, chunk = (file_index, chunk_index), pickle.loads(blob)
            part = parts_dir / f"part-{len(parts):06d}.{kind}"
            write_part(chunk.frame, part, kind)
            parts.append(part)
            result.rows += len(chunk.frame)
            for status, count in chunk.frame["status"].value_counts().items():
                result.status_counts[status] = result.status_counts.get(status, 0) + int(count)
            result.malformed.extend(m for m in chunk.malformed if m)
            if calls_out is not None:
                order, turns = _order_keys(chunk, file_index, options.turn_col)
                merge_summaries(summaries, summarise_chunk(
                    chunk.frame.assign(__text__=chunk.frame[options.text_col]), options.call_col, order, turns))
    assemble(parts, [*columns, *RESULT_COLUMNS], output, kind)
    if calls_out is not None:
        write_calls(summaries, Path(calls_out), options.call_col)
    return result
