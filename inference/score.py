"""Batch scoring of utterance tables: ``score_file`` behind ``collectguard score``.

Rows in = rows out, in input order: every input row is written with its columns unchanged plus
``prob_<label>``, ``pred_labels`` and ``status`` (``ok``, ``empty_text``, ``not_scored:speaker``,
``not_scored:malformed_row``, ``not_scored:undecodable``).

One orchestrator for both engines: everything that can be checked is checked before any file is
written; then scored chunks (from this process, or from Ray actors: ``ray_engine``) are written as
parts into ``OUTPUT.parts/`` with a manifest, and the final file appears by atomic rename only when
every part is done. ``resume=True`` continues a killed or interrupted run from its parts, without
duplicating or losing rows, provided the inputs, options and the model's content are unchanged.
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .calls import CallSummary, calls_frame, merge_summaries, summarise_chunk
from .classifier import OK, PROB_COLUMNS, Classifier, is_empty
from .modeldir import model_fingerprint
from .tables import (
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    Chunk,
    TableError,
    assemble,
    count_rows,
    iter_chunks,
    read_columns,
    table_format,
    write_table,
)
from .textio import ENCODING_ERRORS, write_atomic

logger = logging.getLogger(__name__)
RESULT_COLUMNS = [*PROB_COLUMNS, "pred_labels", "status"]
DEFAULT_AGENT_VALUES = ("agent", "坐席", "催收员")
NOT_SCORED_SPEAKER = "not_scored:speaker"


@dataclass
class ScoreOptions:
    """How to read the input tables.

    Args:
        text_col: column with the utterance text.
        call_col: column with the call id (needed for the per-call summary).
        turn_col: order within the call (a number or an h:m:s start time); default: input order.
        speaker_col: speaker column; when the input has it, only rows whose speaker is one of
            ``agent_values`` (compared ignoring case and surrounding spaces) are scored.
        agent_values: speaker values that mean the agent.
        encoding: text encoding of CSV/TSV/JSONL inputs; default: detected.
        encoding_errors: ``strict`` refuses a file with undecodable bytes; ``replace`` scores the
            other rows and gives the damaged ones the status ``not_scored:undecodable``.
        chunk_rows: rows read, scored and written at a time.
        mask_pii: mask personal data in the call summary's evidence (``False``: ``--no-mask``, for
            internal use; the summary's ``pii_masking`` column then says ``off``). The scored rows
            are the input rows, unchanged either way.
    """

    text_col: str = "text"
    call_col: str = "call_id"
    turn_col: str | None = None
    speaker_col: str | None = "speaker"
    agent_values: Sequence[str] = DEFAULT_AGENT_VALUES
    encoding: str | None = None
    encoding_errors: str = "strict"
    chunk_rows: int = 4096
    mask_pii: bool = True


@dataclass
class ScoreResult:
    rows: int = 0
    status_counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # "file:line: what" of each row not scored for a defect
    resumed_chunks: int = 0
    warnings: list = field(default_factory=list)


@dataclass
class RunPlan:
    """Everything ``score_file`` checked before writing: the inputs, their columns, the outputs."""

    inputs: list[Path]
    output: Path
    kind: str
    calls_out: Path | None
    columns: list[str]
    has_speaker: bool
    facts: dict  # what a resumed run must share with the interrupted one

    @property
    def parts_dir(self) -> Path:
        return self.output.with_name(self.output.name + ".parts")


def agent_key(value) -> str:
    return str(value).strip().casefold()


def row_statuses(chunk: Chunk, options: ScoreOptions, has_speaker: bool) -> list[str]:
    texts = chunk.frame[options.text_col].tolist()
    speakers = chunk.frame[options.speaker_col].tolist() if has_speaker else [None] * len(texts)
    agents = {agent_key(v) for v in options.agent_values}
    statuses = []
    for problem, text, speaker in zip(chunk.problems, texts, speakers):
        if problem:
            statuses.append(problem[0])
        elif has_speaker and (speaker is None or agent_key(speaker) not in agents):
            statuses.append(NOT_SCORED_SPEAKER)
        else:
            statuses.append("empty_text" if is_empty(text) else OK)
    return statuses


def score_frame(classifier: Classifier, frame: pd.DataFrame, statuses: list[str], text_col: str) -> pd.DataFrame:
    """``frame`` plus the result columns; only rows with status ``ok`` are scored."""
    ok = np.array([s == OK for s in statuses], dtype=bool)
    predicted = classifier.predict(frame.loc[ok, text_col].tolist())
    out = frame.copy()
    for column in PROB_COLUMNS:
        out[column] = np.nan
        out.loc[ok, column] = predicted[column].to_numpy(dtype=float)
    labels = np.full(len(frame), None, dtype=object)
    labels[np.flatnonzero(ok)] = predicted["pred_labels"].tolist()
    out["pred_labels"] = labels
    out["status"] = statuses
    return out


def _order_keys(chunk: Chunk, file_index: int, turn_col: str | None) -> tuple[list[float], list]:
    """A sortable number per row (the turn value when numeric or h:m:s, else the input position) and
    the turn to report."""
    position = [file_index * 1e12 + line for line in chunk.lines]
    if not turn_col:
        return position, list(chunk.lines)
    turns = chunk.frame[turn_col].tolist()
    return [_as_number(t, p) for t, p in zip(turns, position)], turns


def _as_number(value, fallback: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        parts = str(value).split(":")
        try:
            return float(sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts))))
        except ValueError:
            return fallback


def plan_run(model_dir: Path, inputs: Sequence[str | Path], output: str | Path, calls_out: str | Path | None,
             options: ScoreOptions, load_options: dict, overwrite: bool, resume: bool) -> RunPlan:
    """Check everything that can be checked before a file is written; a :class:`TableError` names
    what is wrong."""
    inputs, output = [Path(p) for p in inputs], Path(output)
    kind = table_format(output, OUTPUT_FORMATS)
    calls_out = Path(calls_out) if calls_out is not None else None
    if options.encoding_errors not in ENCODING_ERRORS:
        raise TableError(f"--encoding-errors {options.encoding_errors!r}: use one of {', '.join(ENCODING_ERRORS)}")
    if options.chunk_rows < 1:
        raise TableError("--chunk-rows must be at least 1")
    for path in inputs:
        table_format(path, INPUT_FORMATS)
    written = {output.resolve(): "--out"}
    if calls_out is not None:
        table_format(calls_out, OUTPUT_FORMATS)
        if calls_out.resolve() in written:
            raise TableError(f"--calls-out {calls_out} is the same file as --out; give the call summary its own file")
        written[calls_out.resolve()] = "--calls-out"
    for path in inputs:
        if path.resolve() in written:
            raise TableError(f"{written[path.resolve()]} {path} is an input file; write the output elsewhere")
    resuming = resume and output.with_name(output.name + ".parts").is_dir()
    for path, flag in ((output, "--out"), (calls_out, "--calls-out")):
        if path is not None and path.exists() and not (overwrite or resuming):
            raise TableError(f"{flag} {path} already exists; pass --overwrite to replace it")
    columns = _input_columns(inputs, options)
    if calls_out is not None and options.call_col not in columns:
        raise TableError(f"--calls-out needs a call column {options.call_col!r}; set it with --call-col")
    facts = {"inputs": [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in inputs],
             "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()},
             "model": model_fingerprint(model_dir), "load": load_options, "output": kind,
             "calls_out": str(calls_out) if calls_out else None}
    has_speaker = bool(options.speaker_col) and options.speaker_col in columns
    return RunPlan(inputs, output, kind, calls_out, columns, has_speaker, json.loads(json.dumps(facts, default=str)))


def _input_columns(inputs: list[Path], options: ScoreOptions) -> list[str]:
    columns: dict[str, None] = {}
    for path in inputs:
        found = read_columns(path, options.encoding, options.encoding_errors)
        if options.text_col not in found:
            raise TableError(f"{path}: no text column {options.text_col!r} (columns: {', '.join(found)}); "
                             "set it with --text-col")
        if options.turn_col and options.turn_col not in found:
            raise TableError(f"{path}: no turn column {options.turn_col!r}")
        columns.update(dict.fromkeys(found))
    clash = [c for c in RESULT_COLUMNS if c in columns]
    if clash:
        raise TableError(f"input already has result column(s) {clash}; rename them before scoring")
    return list(columns)


class PartStore:
    """``OUTPUT.parts/``: ``manifest.json`` (what run this is) and, per finished chunk, its part file
    and a ``.meta.json`` (row count, statuses, problems, call summaries) written after the part. A
    chunk counts as done only when its meta file exists, so a run killed at any point redoes at most
    the chunks in flight."""

    def __init__(self, plan: RunPlan, resume: bool, overwrite: bool):
        self.dir, self.kind = plan.parts_dir, plan.kind
        manifest = self.dir / "manifest.json"
        if self.dir.exists() and resume and manifest.exists():
            differs = _differences(json.loads(manifest.read_text(encoding="utf-8"))["facts"], plan.facts)
            if differs:
                raise TableError(f"{self.dir}: cannot resume: the {' and the '.join(differs)} differ from the "
                                 "interrupted run's; to start over, run without --resume and with --overwrite")
            return
        if self.dir.exists() and not overwrite:
            raise TableError(f"{self.dir} holds an unfinished run: pass --resume to continue it, or --overwrite "
                             "to start over")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        write_atomic(manifest, json.dumps({"facts": plan.facts}, ensure_ascii=False))

    def part(self, file_index: int, chunk_index: int) -> Path:
        return self.dir / f"part-{file_index:04d}-{chunk_index:06d}.{self.kind}"

    def done(self) -> set[tuple[int, int]]:
        names = (p.name.split(".")[0].split("-")[1:] for p in self.dir.glob("part-*.meta.json"))
        return {(int(f), int(c)) for f, c in names}

    def save(self, file_index: int, chunk_index: int, frame: pd.DataFrame, meta: dict) -> None:
        part = self.part(file_index, chunk_index)
        write_table(frame, part, self.kind, header=False)
        write_atomic(part.with_name(part.name + ".meta.json"), json.dumps(meta, ensure_ascii=False))

    def finished(self) -> list[tuple[Path, dict]]:
        """Every finished part with its meta, in input order."""
        metas = sorted(self.dir.glob("part-*.meta.json"))
        return [(m.with_name(m.name[: -len(".meta.json")]), json.loads(m.read_text(encoding="utf-8")))
                for m in metas]


def recorded_precision(output: str | Path) -> str | None:
    """The precision an interrupted run into ``output`` scored with, from its parts' manifest."""
    manifest = Path(output).with_name(Path(output).name + ".parts") / "manifest.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8"))["facts"].get("load", {}).get("precision")


def _differences(old: dict, new: dict) -> list[str]:
    names = {"inputs": "input files", "options": "options", "model": "model's content (weights, thresholds or "
             "normalisation)", "load": "backend or precision", "output": "output format", "calls_out": "--calls-out"}
    return [names.get(k, k) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def local_scored_chunks(classifier: Classifier, plan: RunPlan, options: ScoreOptions,
                        done: set) -> Iterator[tuple[int, int, Chunk]]:
    """``(file index, chunk index, chunk with the scored frame)`` for every chunk not ``done``."""
    for file_index, path in enumerate(plan.inputs):
        chunks = iter_chunks(path, plan.columns, options.chunk_rows, options.encoding, options.encoding_errors,
                             required=options.text_col)
        for chunk_index, chunk in enumerate(chunks):
            if (file_index, chunk_index) in done:
                continue
            statuses = row_statuses(chunk, options, plan.has_speaker)
            chunk.frame = score_frame(classifier, chunk.frame, statuses, options.text_col)
            yield file_index, chunk_index, chunk


def chunk_meta(chunk: Chunk, file_index: int, plan: RunPlan, options: ScoreOptions) -> dict:
    """What the final assembly needs of a scored chunk besides its rows."""
    calls = {}
    if plan.calls_out is not None:
        order, turns = _order_keys(chunk, file_index, options.turn_col)
        calls = summarise_chunk(chunk.frame.assign(__text__=chunk.frame[options.text_col]), options.call_col,
                                order, turns, mask=options.mask_pii)
    return {"rows": len(chunk.frame), "statuses": chunk.frame["status"].value_counts().to_dict(),
            "problems": [p[1] for p in chunk.problems if p], "calls": {c: s.to_dict() for c, s in calls.items()}}


def finish(store: PartStore, plan: RunPlan, options: ScoreOptions, result: ScoreResult) -> ScoreResult:
    """Assemble the parts into the output (and the call summary), then remove the parts."""
    finished, summaries, ok_by_file = store.finished(), {}, {}
    for part, meta in finished:
        result.rows += meta["rows"]
        for status, count in meta["statuses"].items():
            result.status_counts[status] = result.status_counts.get(status, 0) + count
        file_index = int(part.name.split("-")[1])
        ok_by_file[file_index] = ok_by_file.get(file_index, 0) + meta["statuses"].get(OK, 0)
        result.problems.extend(meta["problems"])
        merge_summaries(summaries, {c: CallSummary.from_dict(s) for c, s in meta["calls"].items()})
    for file_index, path in enumerate(plan.inputs):
        if ok_by_file.get(file_index, 0) == 0:
            hint = (f"; speaker values must be one of {list(options.agent_values)} (--agent-value)"
                    if plan.has_speaker else "")
            result.warnings.append(f"{path}: no row was scored{hint}")
    for warning in result.warnings:
        logger.warning("WARNING: %s", warning)
    plan.output.parent.mkdir(parents=True, exist_ok=True)
    assemble([p for p, _ in finished], [*plan.columns, *RESULT_COLUMNS], plan.output, plan.kind)
    if plan.calls_out is not None:
        plan.calls_out.parent.mkdir(parents=True, exist_ok=True)
        write_table(calls_frame(summaries, options.call_col, options.mask_pii), plan.calls_out,
                    table_format(plan.calls_out, OUTPUT_FORMATS))
    shutil.rmtree(store.dir)
    return result


def score_file(model: str | Path | Classifier, inputs: Sequence[str | Path], output: str | Path,
               calls_out: str | Path | None = None, options: ScoreOptions | None = None, *, resume: bool = False,
               overwrite: bool = False, engine: str = "local", progress: bool = True,
               ray_options: dict | None = None, **load_options) -> ScoreResult:
    """Score utterance tables into one output table, and optionally a per-call summary.

    Args:
        model: a model directory, or a loaded :class:`Classifier` (local engine).
        inputs: ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` files, one row per utterance.
        output: ``.parquet``, ``.csv`` or ``.jsonl``: the input rows with the result columns.
        calls_out: per-call summary (counts, maxima, first flagged turn, masked evidence).
        options: how to read the inputs (:class:`ScoreOptions`).
        resume: continue an interrupted run into the same ``output``.
        overwrite: replace an existing ``output``/``calls_out``, or an unfinished run's parts.
        engine: ``local``, or ``ray`` (Ray Data; ``ray_options``: ``concurrency``, ``cpus_per_actor``).
        progress: show a progress bar.
        **load_options: for :meth:`Classifier.from_pretrained` (``backend``, ``precision``,
            ``batch_size``, ``device``).

    Returns:
        A :class:`ScoreResult`: rows written, counts per status, problems with file and line, warnings.

    Example:
        >>> score_file("models/baseline", ["data/examples/calls.csv"], "reports/scored.parquet",
        ...            options=ScoreOptions(turn_col="turn"))  # doctest: +SKIP
    """
    options = options or ScoreOptions()
    if engine not in ("local", "ray"):
        raise ValueError(f"engine {engine!r} is not 'local' or 'ray'")
    classifier = model if isinstance(model, Classifier) else None
    if classifier is not None and (engine == "ray" or classifier.model_dir is None):
        raise ValueError("pass a model directory for the ray engine or for a classifier that was never saved")
    model_dir = Path(classifier.model_dir if classifier else model)
    if resume and load_options.get("precision") == "auto":  # resume with what the interrupted run measured
        load_options = {**load_options, "precision": recorded_precision(output) or "auto"}
    classifier = classifier or Classifier.from_pretrained(model_dir, **load_options)  # fails before any write
    # the precision in use (``auto`` is resolved by a measurement that can differ between runs)
    if hasattr(classifier.scorer, "precision"):  # transformers; the baseline has no precision to choose
        load_options = {**load_options, "precision": classifier.scorer.precision}
    plan = plan_run(model_dir, inputs, output, calls_out, options, load_options, overwrite, resume)
    store = PartStore(plan, resume, overwrite)
    done = store.done()
    result = ScoreResult(resumed_chunks=len(done))
    if engine == "ray":
        from .ray_engine import ray_scored_chunks

        stream = ray_scored_chunks(str(model_dir.resolve()), plan, options, done, load_options, progress,
                                   **(ray_options or {}))
    else:
        stream = local_scored_chunks(classifier, plan, options, done)
    bar = _progress_bar(sum(count_rows(p) for p in plan.inputs), progress and engine == "local")
    for file_index, chunk_index, chunk in stream:
        store.save(file_index, chunk_index, chunk.frame, chunk_meta(chunk, file_index, plan, options))
        bar.update(len(chunk.frame))
    bar.close()
    return finish(store, plan, options, result)


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="utt", disable=not enabled, file=sys.stderr, smoothing=0.1,
                desc="scoring", mininterval=1.0)
