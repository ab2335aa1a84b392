"""Batch scoring of utterance tables: ``score_file`` behind ``collectguard score``.

Rows in = rows out, in input order: every input row is written with its columns unchanged plus
``prob_<label>``, ``pred_labels`` and ``status`` (``ok``, ``empty_text``, ``not_scored:speaker``,
``not_scored:malformed_row``). Output is built from parts in ``OUTPUT.parts/`` with a manifest; the
final file appears by atomic rename only when every part is done, and ``resume=True`` continues a
killed run from its manifest without duplicating or losing rows.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .calls import CallSummary, calls_frame, merge_summaries, summarise_chunk
from .classifier import PROB_COLUMNS, Classifier
from .labels import VIOLATIONS
from .tables import (OUTPUT_FORMATS, Chunk, TableError, assemble, count_rows, iter_chunks, read_columns,
                     table_format, write_part)

RESULT_COLUMNS = [*PROB_COLUMNS, "pred_labels", "status"]
DEFAULT_AGENT_VALUES = ("agent", "坐席", "催收员")


@dataclass
class ScoreOptions:
    text_col: str = "text"
    call_col: str = "call_id"
    turn_col: str | None = None  # order within the call (number or h:m:s start time)
    speaker_col: str | None = "speaker"  # used only when the input has it
    agent_values: Sequence[str] = DEFAULT_AGENT_VALUES
    encoding: str | None = None
    chunk_rows: int = 4096


@dataclass
class ScoreResult:
    rows: int = 0
    status_counts: dict = field(default_factory=dict)
    malformed: list = field(default_factory=list)  # "file:line: problem"
    resumed_chunks: int = 0


def row_statuses(chunk: Chunk, options: ScoreOptions, has_speaker: bool) -> list[str]:
    texts = chunk.frame[options.text_col].tolist()
    speakers = chunk.frame[options.speaker_col].tolist() if has_speaker else [None] * len(texts)
    agents = {str(v) for v in options.agent_values}
    statuses = []
    for problem, text, speaker in zip(chunk.malformed, texts, speakers):
        if problem:
            statuses.append("not_scored:malformed_row")
        elif has_speaker and str(speaker) not in agents:
            statuses.append("not_scored:speaker")
        elif text is None or not str(text).strip():
            statuses.append("empty_text")
        else:
            statuses.append("ok")
    return statuses


def score_frame(classifier: Classifier, frame: pd.DataFrame, statuses: list[str], text_col: str) -> pd.DataFrame:
    """``frame`` plus the result columns; only rows with status ``ok`` are scored."""
    out = frame.copy()
    ok = np.array([s == "ok" for s in statuses], dtype=bool)
    probs = np.full((len(frame), len(VIOLATIONS)), np.nan, dtype=np.float64)
    if ok.any():
        probs[ok] = classifier.predict_proba([str(t) for t in frame.loc[ok, text_col]])
    decisions = classifier.decide(np.nan_to_num(probs, nan=-1.0))
    for k, column in enumerate(PROB_COLUMNS):
        out[column] = probs[:, k]
    out["pred_labels"] = [[v for v, on in zip(VIOLATIONS, row) if on] if is_ok else None
                          for row, is_ok in zip(decisions, ok)]
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


def _run_fingerprint(inputs: list[Path], options: ScoreOptions, model_dir: str, output_kind: str) -> str:
    facts = {"inputs": [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in inputs],
             "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()},
             "model": str(Path(model_dir).resolve()), "output": output_kind}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


class _PartStore:
    """``OUTPUT.parts/``: ``manifest.json`` (what run this is) and, per finished chunk, its part file
    and a ``.meta.json`` (row count, statuses, call summaries) written after the part. A chunk counts
    as done only when its meta file exists, so a run killed at any point redoes at most one chunk."""

    def __init__(self, parts_dir: Path, fingerprint: str, resume: bool):
        self.dir = parts_dir
        manifest = parts_dir / "manifest.json"
        if parts_dir.exists() and not resume:
            raise TableError(f"{parts_dir} holds an unfinished run: pass --resume to continue it, or delete it")
        if resume and manifest.exists():
            if json.loads(manifest.read_text(encoding="utf-8"))["fingerprint"] != fingerprint:
                raise TableError(f"{parts_dir}: cannot resume: the inputs, model or options differ from the "
                                 "interrupted run; delete the folder to start again")
        else:
            parts_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(manifest, json.dumps({"fingerprint": fingerprint}))

    def meta(self, part: Path) -> dict | None:
        path = part.with_name(part.name + ".meta.json")
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def finish(self, part: Path, meta: dict) -> None:
        _write_atomic(part.with_name(part.name + ".meta.json"), json.dumps(meta, ensure_ascii=False))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def score_file(model: str | Path | Classifier, inputs: Sequence[str | Path], output: str | Path,
               calls_out: str | Path | None = None, options: ScoreOptions = ScoreOptions(),
               resume: bool = False, progress: bool = True, **load_options) -> ScoreResult:
    """Score ``inputs`` (CSV, TSV, JSONL, Parquet) into ``output`` (CSV, JSONL, Parquet by extension),
    and optionally a per-call summary into ``calls_out``. ``load_options`` go to ``Classifier.load``."""
    inputs, output = [Path(p) for p in inputs], Path(output)
    kind = table_format(output, OUTPUT_FORMATS)
    columns = _input_columns(inputs, options)
    has_speaker = bool(options.speaker_col) and options.speaker_col in columns
    model_dir = model.model_dir if isinstance(model, Classifier) else model
    classifier = model if isinstance(model, Classifier) else None
    parts_dir = output.with_name(output.name + ".parts")
    store = _PartStore(parts_dir, _run_fingerprint(inputs, options, str(model_dir), kind), resume)
    with_calls = calls_out is not None and options.call_col in columns
    if calls_out is not None and not with_calls:
        raise TableError(f"--calls-out needs a call column {options.call_col!r}; set it with --call-col")
    result, parts, summaries = ScoreResult(), [], {}
    bar = _progress_bar(sum(count_rows(p) for p in inputs), progress)
    for file_index, path in enumerate(inputs):
        for chunk_index, chunk in enumerate(iter_chunks(path, columns, options.chunk_rows, options.encoding)):
            part = parts_dir / f"part-{file_index:04d}-{chunk_index:06d}.{kind}"
            entry = store.meta(part)
            if entry is None:
                classifier = classifier or Classifier.load(model_dir, **load_options)
                statuses = row_statuses(chunk, options, has_speaker)
                scored = score_frame(classifier, chunk.frame, statuses, options.text_col)
                write_part(scored, part, kind)
                order, turns = _order_keys(chunk, file_index, options.turn_col)
                calls = summarise_chunk(scored.assign(__text__=chunk.frame[options.text_col]), options.call_col,
                                        order, turns) if with_calls else {}
                entry = {"rows": len(scored), "statuses": pd.Series(statuses).value_counts().to_dict(),
                         "malformed": [m for m in chunk.malformed if m],
                         "calls": {c: s.to_dict() for c, s in calls.items()}}
                store.finish(part, entry)
            else:
                result.resumed_chunks += 1
            parts.append(part)
            result.rows += entry["rows"]
            for status, count in entry["statuses"].items():
                result.status_counts[status] = result.status_counts.get(status, 0) + count
            result.malformed.extend(entry["malformed"])
            merge_summaries(summaries, {c: CallSummary.from_dict(s) for c, s in entry["calls"].items()})
            bar.update(entry["rows"])
    bar.close()
    assemble(parts, [*columns, *RESULT_COLUMNS], output, kind)
    if calls_out is not None:
        write_calls(summaries, Path(calls_out), options.call_col)
    shutil.rmtree(parts_dir)
    return result


def _input_columns(inputs: list[Path], options: ScoreOptions) -> list[str]:
    columns: dict[str, None] = {}
    for path in inputs:
        found = read_columns(path, options.encoding)
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


def write_calls(summaries: dict[str, CallSummary], path: Path, call_col: str) -> None:
    frame = calls_frame(summaries, call_col)
    kind = table_format(path, OUTPUT_FORMATS)
    tmp = path.with_name(path.name + ".tmp")
    if kind == "parquet":
        frame.to_parquet(tmp, index=False)
    elif kind == "csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
    tmp.replace(path)


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="utt", disable=not enabled, file=sys.stderr, smoothing=0.1,
                desc="scoring", mininterval=1.0)
