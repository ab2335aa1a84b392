"""Label Studio round trip: tasks out (``collectguard export-tasks``), annotations in
(``collectguard import-annotations``).

The labelling config shows the utterance, a link to the codebook, and the four violations as one
multiple-choice control; submitting with no choice means compliant. Tasks carry ``row_id`` (the
project's row id), ``text`` and, when the input has them, ``speaker``, ``style``, ``script`` and
``source``; nothing of a model's scores, so that annotators are not steered (pre-annotations are a
separate, optional ``predictions`` entry).

Reading an export (Label Studio's JSON export: a list of tasks, each with its ``annotations``) is
strict: a result from another labelling config, an unknown choice, a task without text or row id, a
repeated task id, an annotator who skipped a task (``was_cancelled``) or annotated it twice is an
error naming the file and the task, and nothing is written. Several annotators' labels are merged
only where they agree; every disagreement is listed, never resolved here.
"""
from __future__ import annotations

import itertools
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from collectguard.inference.labels import SCRIPTS, SPEAKERS, STYLES, VIOLATIONS

from .agreement import kappas

logger = logging.getLogger(__name__)
FROM_NAME, TO_NAME, RESULT_TYPE = "violations", "text", "choices"
ROW_ID = "row_id"
META_FIELDS = {"speaker": SPEAKERS, "style": STYLES, "script": SCRIPTS}
SHOWN = 20


class LabelStudioError(ValueError):
    """Tasks or an export that cannot be used; the message names the file and every bad task."""

    def __init__(self, path, problems: list[str]):
        self.problems = problems
        more = f"\n... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        super().__init__(f"{path}: {len(problems)} problem(s):\n" + "\n".join(problems[:SHOWN]) + more)


def label_config(codebook_url: str) -> str:
    """The Label Studio labelling config: the text, a codebook link, the four violations as choices."""
    link = f'<a href="{escape(codebook_url)}" target="_blank">Codebook: label definitions, rules and examples</a>'
    choices = "\n".join(f'    <Choice value="{label}"/>' for label in VIOLATIONS)
    return f"""<View>
  <Header value="Choose every violation the utterance commits. Choose none when it is compliant."/>
  <HyperText name="codebook" value={quoteattr(link)} inline="true" clickableLinks="true"/>
  <Text name="{TO_NAME}" value="$text"/>
  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple" showInline="true">
{choices}
  </Choices>
</View>
"""


def choices_result(labels: Sequence[str]) -> list[dict]:
    """An annotation or prediction ``result`` choosing ``labels`` (empty: compliant)."""
    if not labels:
        return []
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": RESULT_TYPE,
             "value": {"choices": [v for v in VIOLATIONS if v in set(labels)]}}]


def make_tasks(records: Sequence[Mapping], origin: str, predictions: Sequence[dict] | None = None) -> list[dict]:
    """Label Studio tasks from rows with ``id`` and ``text`` (and optional speaker, style, script, source);
    ``predictions``, one per row (``{"model_version", "labels", "score"}``), become pre-annotations.
    Rows without text or with a repeated id are a :class:`LabelStudioError` naming each (``origin``
    names the input in the message)."""
    problems, seen, tasks = [], {}, []
    for number, record in enumerate(records, start=1):
        row_id, text = record.get("id"), record.get("text")
        where = f"row {number} (id {row_id!r})"
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: no text")
        if not isinstance(row_id, str) or not row_id.strip():
            problems.append(f"{where}: no id")
        elif row_id in seen:
            problems.append(f"{where}: id repeated (first in row {seen[row_id]})")
        else:
            seen[row_id] = number
        data = {ROW_ID: row_id, "text": text}
        data.update({k: record[k] for k in META_FIELDS if record.get(k) in META_FIELDS[k]})
        if isinstance(record.get("source"), str) and record["source"]:
            data["source"] = record["source"]
        task = {"data": data}
        if predictions is not None:
            p = predictions[number - 1]
            task["predictions"] = [{"model_version": p["model_version"], "score": p["score"],
                                    "result": choices_result(p["labels"])}]
        tasks.append(task)
    if problems:
        raise LabelStudioError(origin, problems)
    return tasks


def write_tasks(out_dir: Path, tasks: list[dict], codebook_url: str) -> tuple[Path, Path]:
    """``label_config.xml`` and ``tasks.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config, tasks_file = out_dir / "label_config.xml", out_dir / "tasks.json"
    config.write_text(label_config(codebook_url), encoding="utf-8")
    tasks_file.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return config, tasks_file


def simulated_export(tasks: Sequence[dict], votes: Mapping[str, Mapping[str, Sequence[str]]]) -> list[dict]:
    """The JSON export Label Studio gives for ``tasks`` when annotators chose ``votes``
    (``{row_id: {annotator: labels}}``): for simulations, demonstrations and tests."""
    export, annotation_id = [], itertools.count(1)
    for task_id, task in enumerate(tasks, start=1):
        cast = votes.get(task["data"][ROW_ID], {})
        export.append({"id": task_id, "data": task["data"], "annotations": [
            {"id": next(annotation_id), "completed_by": annotator, "was_cancelled": False,
             "result": choices_result(labels)} for annotator, labels in cast.items()]})
    return export


@dataclass
class Imported:
    """What an export holds: rows all annotators agree on, disagreements, tasks without enough
    annotations, skipped votes left out, and the agreement report."""

    rows: list[dict] = field(default_factory=list)
    disagreements: list[dict] = field(default_factory=list)
    incomplete: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    agreement: dict = field(default_factory=dict)


def _annotator(value) -> str | None:
    """Label Studio writes ``completed_by`` as a user id, or an object with ``email``/``id``."""
    if isinstance(value, dict):
        value = value.get("email") or value.get("id")
    return None if value is None or isinstance(value, bool) else str(value)


def _votes(task: dict, where: str, ignore_skipped: bool, imported: Imported, problems: list[str]) -> dict:
    votes: dict[str, list[str]] = {}
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        problems.append(f"{where}: 'annotations' is not a list")
        return votes
    for annotation in annotations:
        annotator = _annotator(annotation.get("completed_by")) if isinstance(annotation, dict) else None
        who = f"{where}, annotation {annotation.get('id') if isinstance(annotation, dict) else '?'}"
        if annotator is None:
            problems.append(f"{who}: no annotator (completed_by)")
            continue
        who += f" by annotator {annotator}"
        if annotation.get("was_cancelled"):
            if ignore_skipped:
                imported.skipped.append(who)
            else:
                problems.append(f"{who}: skipped (was_cancelled); have it labelled, or pass --ignore-skipped to "
                                "leave the skip out")
            continue
        labels = _labels(annotation.get("result"), who, problems)
        if annotator in votes:
            problems.append(f"{who}: a second annotation by the same annotator")
        elif labels is not None:
            votes[annotator] = labels
    return votes


def _labels(result, who: str, problems: list[str]) -> list[str] | None:
    if not isinstance(result, list):
        problems.append(f"{who}: 'result' is not a list")
        return None
    chosen: list[str] = []
    for item in result:
        if not isinstance(item, dict) or (item.get("from_name"), item.get("to_name"), item.get("type")) != (
                FROM_NAME, TO_NAME, RESULT_TYPE):
            name = (item.get("from_name"), item.get("to_name"), item.get("type")) if isinstance(item, dict) else item
            problems.append(f"{who}: result {name} is not from collectguard's labelling config (a 'choices' result "
                            f"from {FROM_NAME!r} to {TO_NAME!r}); export the project made with collectguard "
                            "export-tasks")
            return None
        values = item.get("value", {}).get("choices") if isinstance(item.get("value"), dict) else None
        if not isinstance(values, list):
            problems.append(f"{who}: result without a list of choices")
            return None
        unknown = [v for v in values if v not in VIOLATIONS]
        if unknown:
            problems.append(f"{who}: unknown choice(s) {unknown}; the config offers {', '.join(VIOLATIONS)}")
            return None
        chosen.extend(values)
    return [v for v in VIOLATIONS if v in set(chosen)]


def read_export(path: Path, defaults: Mapping[str, str] | None = None, min_annotators: int = 1,
                ignore_skipped: bool = False) -> Imported:
    """The labelled rows (project format plus ``annotators`` and ``annotation``), disagreements and
    agreement of a Label Studio JSON export. ``defaults`` fills ``speaker``/``style``/``script`` for tasks
    whose data lacks them. Raises :class:`LabelStudioError` listing every bad task."""
    defaults = dict(defaults or {})
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelStudioError(path, [f"not a readable JSON file ({exc})"]) from None
    if not isinstance(tasks, list):
        raise LabelStudioError(path, ["expected Label Studio's JSON export: a list of tasks"])
    imported, problems, task_of_id, row_of_id, all_votes = Imported(), [], {}, {}, {}
    for number, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            problems.append(f"task #{number}: not a task object with 'data'")
            continue
        data, task_id = task["data"], task.get("id")
        row_id = data.get(ROW_ID)
        where = f"task {task_id} (row {row_id})"
        if task_id in task_of_id:
            problems.append(f"{where}: task id {task_id} repeated (first as task #{task_of_id[task_id]})")
            continue
        task_of_id[task_id] = number
        if not isinstance(data.get("text"), str) or not data["text"].strip():
            problems.append(f"{where}: no text")
        if not isinstance(row_id, str) or not row_id.strip():
            problems.append(f"{where}: no {ROW_ID!r} in its data; was it written by collectguard export-tasks?")
        elif row_id in row_of_id:
            problems.append(f"{where}: row {row_id} is also task {row_of_id[row_id]}")
        else:
            row_of_id[row_id] = task_id
        meta = {k: data.get(k) or defaults.get(k) for k in META_FIELDS}
        for name, value in meta.items():
            if value not in META_FIELDS[name]:
                problems.append(f"{where}: {name} {value!r} is not one of {', '.join(META_FIELDS[name])}"
                                + ("" if data.get(name) else f"; pass --{name}"))
        votes = _votes(task, where, ignore_skipped, imported, problems)
        all_votes[row_id] = votes
        entry = {"id": row_id, "task": task_id, "text": data.get("text"), "votes": votes}
        if len(votes) < min_annotators:
            imported.incomplete.append(entry)
        elif len({tuple(v) for v in votes.values()}) > 1:
            imported.disagreements.append(entry)
        else:
            imported.rows.append({"id": row_id, "text": data.get("text"), "labels": next(iter(votes.values())),
                                  **meta, **({"source": data["source"]} if data.get("source") else {}),
                                  "annotators": sorted(votes), "annotation": f"{Path(path).name}#task{task_id}"})
    if problems:
        raise LabelStudioError(path, problems)
    logger.info("%s: %d tasks, %d annotations", path, len(tasks), sum(len(v) for v in all_votes.values()))
    imported.agreement = agreement_report(all_votes)
    return imported


def agreement_report(votes: Mapping[str, Mapping[str, Sequence[str]]]) -> dict:
    """Per pair of annotators with shared tasks: Cohen's kappa per label and for any violation, raw
    agreement and the rows they disagree on; and the share of multiply annotated tasks where all agree."""
    annotators = sorted({a for cast in votes.values() for a in cast})
    pairs = []
    for first, second in itertools.combinations(annotators, 2):
        shared = {row: cast for row, cast in votes.items() if first in cast and second in cast}
        if shared:
            with warnings.catch_warnings():  # a label nobody chose: kappa is undefined, reported as NaN
                warnings.simplefilter("ignore", UserWarning)
                result = kappas({r: c[first] for r, c in shared.items()}, {r: c[second] for r, c in shared.items()})
            pairs.append({"annotators": [first, second], **result})
    multiple = [cast for cast in votes.values() if len(cast) > 1]
    agreeing = sum(len({tuple(v) for v in cast.values()}) == 1 for cast in multiple)
    return {"annotators": annotators, "tasks": len(votes), "tasks_with_2_or_more": len(multiple),
            "all_agree": agreeing, "all_agree_share": agreeing / len(multiple) if multiple else None, "pairs": pairs}
