"""``collectguard score --engine ray``: the chunks of ``score_file`` scored by Ray Data actors.

``score_file`` plans the run, keeps the parts and assembles the output exactly as for the local
engine (so resume works the same); this module only produces the scored chunks:

- Reading: Ray tasks parse each input file with the local reader (``tables.iter_chunks``), so
  encodings, blank lines, malformed rows and the union of columns behave exactly as locally, and skip
  the chunks an interrupted run already finished. Each chunk travels as one Ray row holding the
  pickled chunk, so Ray's Arrow type inference never touches the input columns.
- Scoring: ``map_batches`` over an actor pool; each actor loads the model once and applies
  ``row_statuses`` and ``score_frame`` to each chunk.
- The driver receives the scored chunks in input order (``preserve_order``) and writes the parts.

Input files and the model directory must be at the same path on every node (a shared file system,
or copies).
"""
from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

from .classifier import Classifier
from .score import RunPlan, ScoreOptions, row_statuses, score_frame
from .tables import Chunk, count_rows, iter_chunks


def ray_scored_chunks(model_dir: str, plan: RunPlan, options: ScoreOptions, done: set, load_options: dict,
                      progress: bool, concurrency: int | None = None,
                      cpus_per_actor: float = 1.0) -> Iterator[tuple[int, int, Chunk]]:
    """``(file index, chunk index, scored chunk)`` for every chunk not ``done``, in input order, on the
    Ray cluster named by ``RAY_ADDRESS`` (or the one already joined with ``ray.init``; else a local
    one, shut down afterwards). ``concurrency`` scoring actors of ``cpus_per_actor`` CPUs each
    (default: the cluster's CPUs / ``cpus_per_actor``, at most one per chunk)."""
    if cpus_per_actor <= 0 or (concurrency is not None and concurrency < 1):
        raise ValueError("cpus_per_actor must be > 0 and concurrency >= 1")
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
    try:
        concurrency = concurrency or _default_concurrency(ray, plan.inputs, options.chunk_rows, cpus_per_actor)
        files = [{"file_index": i, "path": str(p.resolve()), "shown": str(p)} for i, p in enumerate(plan.inputs)]
        chunks = ray.data.from_items(files).map_batches(
            _read_chunks, batch_size=1, batch_format="pyarrow", num_cpus=0,
            fn_kwargs={"columns": plan.columns, "options": options, "done": sorted(done)})
        scored = chunks.map_batches(
            _ChunkScorer, batch_size=1, batch_format="pyarrow", num_cpus=cpus_per_actor,
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            fn_constructor_args=(model_dir, options, plan.has_speaker, load_options))
        for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
            for file_index, chunk_index, blob in zip(batch["file_index"].to_pylist(),
                                                     batch["chunk_index"].to_pylist(), batch["chunk"].to_pylist()):
                yield file_index, chunk_index, pickle.loads(blob)
    finally:
        (context.execution_options.preserve_order, context.enable_progress_bars,
         context.target_max_block_size) = saved
        if started:
            ray.shutdown()


def _default_concurrency(ray, inputs: list[Path], chunk_rows: int, cpus_per_actor: float) -> int:
    """One actor per ``cpus_per_actor`` CPUs of the cluster, but no more actors than chunks to score
    (each actor loads the model)."""
    chunks = sum(max(1, -(-count_rows(p) // chunk_rows)) for p in inputs)
    return max(1, min(chunks, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor)))


def _read_chunks(files, columns: list[str], options: ScoreOptions, done: list):
    """Ray task: a batch of files in, one row per chunk not yet done out (file, chunk, pickled chunk)."""
    import pyarrow as pa

    done = {tuple(d) for d in done}
    for file_index, path, shown in zip(*(files[c].to_pylist() for c in ("file_index", "path", "shown"))):
        chunks = iter_chunks(Path(path), columns, options.chunk_rows, options.encoding, options.encoding_errors,
                             required=options.text_col)
        for chunk_index, chunk in enumerate(chunks):
            if (file_index, chunk_index) in done:
                continue
            # messages name the file as the user did, like the local engine (workers open it by full path)
            chunk.problems = [(p[0], shown + p[1][len(path):]) if p else None for p in chunk.problems]
            yield pa.table({"file_index": [file_index], "chunk_index": [chunk_index],
                            "chunk": [pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)]})


class _ChunkScorer:
    """Ray actor: loads the model once, then scores pickled chunks as the local engine does."""

    def __init__(self, model_dir: str, options: ScoreOptions, has_speaker: bool, load_options: dict):
        self.classifier = Classifier.from_pretrained(model_dir, **load_options)
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
