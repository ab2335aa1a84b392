"""Audit samples: a probability sample of a scored corpus for people to label, and reading it back.

**Drawing** (:func:`draw_audit`). The units are utterances (scored rows with ``status == ok``) or
whole calls (every call with at least one). ``simple``: a simple random sample of units without
replacement (within each ``--by`` group, allocated in proportion to its size, when groups are
given). ``stratified``: the units the model flags (any violation) form one stratum and the others
are cut at quantiles of their highest probability into ``bins - 1`` more (per group with ``--by``);
rows are allocated by Neyman's rule with each stratum's standard deviation guessed from its mean
probability (clipped to [0.05, 0.95], so that no stratum is starved: the model's misses hide in the
low bins), at least 2 per stratum. Either way each unit's inclusion probability ``n_h / N_h`` is
recorded; estimates weight by its inverse, so any allocation gives valid intervals, a good one
narrower ones.

**The file to label** is a CSV (or JSONL, by the extension of ``--out``): ``id`` (``<scored file
name>:<row number>``), ``text``, ``labels`` (empty: to fill with ``threat|privacy`` or ``compliant``),
``note``, then what is known of the row (call id, turn, speaker, the ``--by`` columns, style,
script) and the design columns ``stratum``, ``inclusion_prob``, ``unit``. A call sample holds every
row of each sampled call in order, for context; rows that were not scored have ``labels`` ``-`` and
are not measured. The model's prediction is not written unless asked for (``--show-predictions``):
labellers who see it tend to agree with it (anchoring), which the estimate cannot detect.

**Reading** (:func:`read_audit`, :func:`match_audit`): every problem is an :class:`AuditError`
naming file and line (and column): a row not labelled, an unknown label, an id that is not a row of
the scored files or whose text differs, a design that does not add up to the corpus (rows deleted
from the file, another corpus).
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..classifier import PROB_COLUMNS
from ..labels import VIOLATIONS, labels_from_text, unknown_labels
from ..tables import jsonl_records, write_table
from ..textio import resolve_encoding
from .inputs import ScoredFileError, label_list, load_scored

log = logging.getLogger(__name__)

DESIGNS = ("simple", "stratified")
UNITS = ("utterance", "call")
CONTEXT = "-"  # the labels cell of a row shown for context only (not scored)
DESIGN_COLUMNS = ("stratum", "inclusion_prob", "unit")
KNOWN_COLUMNS = ("turn", "speaker", "style", "script")
MIN_PER_STRATUM = 2  # a stratum's variance needs two units


class AuditError(ValueError):
    """An audit file or design that cannot be used; the message names the file and line."""


# --- the corpus -------------------------------------------------------------------------------

@dataclass
class Corpus:
    """Scored rows of one or more files: ``frame`` (with ``_id`` = ``<file name>:<row>``) and ``ok``."""
    frame: pd.DataFrame
    ok: np.ndarray
    paths: list[Path]


def load_corpus(paths: Sequence[str | Path], by: Sequence[str] = (), call_col: str | None = None,
                call_col_required: bool = False) -> Corpus:
    """Scored files concatenated (:func:`inputs.load_scored`), each row with its audit id ``_id``."""
    frame, ok, _ = load_scored(list(paths), None, None, list(by), call_col, call_col_required)
    return Corpus(frame, ok, [Path(p) for p in paths])


def any_score(frame: pd.DataFrame) -> np.ndarray:
    """The highest violation probability of each row (NaN where not scored)."""
    return frame[PROB_COLUMNS].to_numpy(dtype=float).max(axis=1)


def flagged(frame: pd.DataFrame) -> np.ndarray:
    """Whether the model flagged any violation on each row (from ``pred_labels``)."""
    return np.array([bool(label_list(v)) for v in frame["pred_labels"]], dtype=bool)


# --- drawing ----------------------------------------------------------------------------------

def allocate(total: int, priority: np.ndarray, sizes: np.ndarray, floor: int = MIN_PER_STRATUM) -> np.ndarray:
    """Units per stratum: at least ``min(floor, size)``, the rest in proportion to ``priority``, at most
    ``size``; rounded by largest remainder."""
    sizes = np.asarray(sizes, dtype=int)
    base = np.minimum(floor, sizes)
    if total > sizes.sum():
        raise AuditError(f"--n {total} is more than the {sizes.sum()} units there are to sample")
    if total < base.sum():
        raise AuditError(f"--n {total} is too small for {len(sizes)} strata: each needs {floor} units "
                         f"(at least {base.sum()}); use fewer bins or groups, or a larger --n")
    counts = base.copy()
    priority = np.asarray(priority, dtype=float)
    while counts.sum() < total:
        room = sizes - counts
        open_ = room > 0
        share = np.where(open_, priority, 0.0)
        share = share / share.sum() if share.sum() > 0 else open_ / open_.sum()
        wanted = (total - counts.sum()) * share
        add = np.minimum(np.floor(wanted).astype(int), room)
        if add.sum() == 0:  # hand out the last units by largest remainder
            order = np.argsort(-(wanted - np.floor(wanted)) - open_ * 1e-9)
            add = np.zeros_like(counts)
            for h in order[: total - counts.sum()]:
                add[h] = 1 if room[h] > 0 else 0
        counts += add
    return counts


def _units(corpus: Corpus, unit: str, call_col: str | None, by: list[str]) -> pd.DataFrame:
    """One row per eligible unit: ``_unit`` id, ``_score``, ``_flagged`` and the ``by`` columns (of its first row)."""
    frame = corpus.frame
    if "_score" not in frame:  # computed once per corpus
        frame["_score"], frame["_flagged"] = any_score(frame), flagged(frame)
    columns = list(dict.fromkeys(["_id", "_score", "_flagged", *by, *([call_col] if unit == "call" else [])]))
    rows = frame.loc[corpus.ok, columns]
    if unit == "utterance":
        return rows.assign(_unit=rows["_id"])
    if rows[call_col].isna().any():
        missing = int(rows[call_col].isna().sum())
        raise ScoredFileError(f"column {call_col!r}: {missing} scored row(s) without a call id")
    rows["_unit"] = rows[call_col].astype(str)
    grouped = rows.groupby("_unit", sort=False)
    first = grouped.head(1).set_index("_unit")
    first["_score"], first["_flagged"] = grouped["_score"].max(), grouped["_flagged"].any()
    return first.reset_index()


def score_bins(score: np.ndarray, is_flagged: np.ndarray, bins: int) -> np.ndarray:
    """Stratum code of each unit: 0 for the flagged ones, 1..bins-1 for the others by quantile of
    their highest probability (fewer codes where scores tie)."""
    codes = np.zeros(len(score), dtype=int)
    unflagged = ~np.asarray(is_flagged, dtype=bool)
    if unflagged.any() and bins > 1:
        scores = np.asarray(score)[unflagged]
        edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins)[1:-1]))
        codes[unflagged] = 1 + np.searchsorted(edges, scores, side="right")
    return codes


def neyman_priority(sizes: np.ndarray, mean_scores: np.ndarray) -> np.ndarray:
    """Neyman's allocation weights ``N_h * S_h``, ``S_h`` guessed from the stratum's mean probability
    clipped to [0.05, 0.95] (so that no stratum is starved)."""
    guess = np.clip(mean_scores, 0.05, 0.95)
    return np.asarray(sizes) * np.sqrt(guess * (1 - guess))


def _strata(units: pd.DataFrame, design: str, by: list[str], bins: int, rng) -> pd.Series:
    """Stratum name of each unit: the ``--by`` group, and for ``stratified`` a score bin (neutral,
    shuffled names, so that the file does not tell the labeller which stratum the model flagged)."""
    from .measure import group_name

    group = (units[by].apply(lambda r: group_name(by, tuple(r)), axis=1) if by
             else pd.Series("all", index=units.index))
    if design == "simple":
        return group
    codes = score_bins(units["_score"].to_numpy(), units["_flagged"].to_numpy(), bins)
    names = [f"s{i + 1}" for i in rng.permutation(bins)]
    return group + "|" + pd.Series([names[c] for c in codes], index=units.index)


def draw_audit(corpus: Corpus, n: int, *, design: str = "simple", unit: str = "utterance", by: Sequence[str] = (),
               call_col: str = "call_id", bins: int = 4, seed: int = 13) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sampled units: ``_unit``, ``stratum``, ``inclusion_prob``; the strata: size, sample, probability)."""
    if design not in DESIGNS or unit not in UNITS:
        raise AuditError(f"design must be one of {DESIGNS} and unit one of {UNITS}")
    if n < 1:
        raise AuditError("--n must be at least 1")
    if unit == "call" and call_col not in corpus.frame:
        raise ScoredFileError(f"no call id column {call_col!r} for a sample of calls (--call-col)")
    rng = np.random.default_rng(seed)
    units = _units(corpus, unit, call_col, list(by))
    units["stratum"] = _strata(units, design, list(by), bins, rng).to_numpy()
    table = units.groupby("stratum", sort=True).agg(size=("_unit", "size"), mean_score=("_score", "mean"))
    priority = (neyman_priority(table["size"].to_numpy(), table["mean_score"].to_numpy()) if design == "stratified"
                else table["size"].to_numpy())
    table["sample"] = allocate(n, priority, table["size"].to_numpy())
    table["inclusion_prob"] = table["sample"] / table["size"]
    chosen = []
    for stratum, members in units.groupby("stratum", sort=True):
        picked = rng.choice(len(members), size=int(table.at[stratum, "sample"]), replace=False)
        chosen.append(members.iloc[np.sort(picked)])
    sample = pd.concat(chosen)
    sample["inclusion_prob"] = sample["stratum"].map(table["inclusion_prob"])
    return sample[["_unit", "stratum", "inclusion_prob"]].reset_index(drop=True), table.drop(columns="mean_score")


def audit_frame(corpus: Corpus, sample: pd.DataFrame, unit: str, *, text_col: str = "text", call_col: str = "call_id",
                by: Sequence[str] = (), show_predictions: bool = False, seed: int = 13) -> pd.DataFrame:
    """The rows to label, in labelling order: utterances shuffled; calls shuffled, each in file order
    with its unscored rows for context (``labels`` ``-``)."""
    frame = corpus.frame
    if text_col not in frame:
        raise ScoredFileError(f"no text column {text_col!r} (--text-col); columns: "
                              f"{', '.join(map(str, frame.columns))}")
    design = sample.set_index("_unit")
    if unit == "utterance":
        rows = frame[frame["_id"].isin(design.index)].assign(_unit=lambda t: t["_id"])
        rows = rows.iloc[np.random.default_rng((seed, 1)).permutation(len(rows))]
    else:
        rows = frame[frame[call_col].notna()].assign(_unit=lambda t: t[call_col].astype(str))
        rows = rows[rows["_unit"].isin(design.index)]
        order = {u: i for i, u in enumerate(np.random.default_rng((seed, 1)).permutation(design.index.to_numpy()))}
        rows = rows.assign(_order=rows["_unit"].map(order), _pos=np.arange(len(rows)))
        rows = rows.sort_values(["_order", "_pos"], kind="stable")
    ok = pd.Series(corpus.ok, index=frame.index).loc[rows.index].to_numpy()
    out = pd.DataFrame({"id": rows["_id"].to_numpy(), "text": rows[text_col].to_numpy(),
                        "labels": np.where(ok, "", CONTEXT), "note": ""})
    extra = [c for c in (call_col, *KNOWN_COLUMNS, *by) if c in frame and c not in out and c != text_col]
    for column in dict.fromkeys(extra):
        out[column] = rows[column].to_numpy()
    out["stratum"] = rows["_unit"].map(design["stratum"]).to_numpy()
    out["inclusion_prob"] = rows["_unit"].map(design["inclusion_prob"]).map(repr).to_numpy()
    out["unit"] = rows["_unit"].to_numpy()
    if show_predictions:
        out["pred_labels"] = rows["pred_labels"].map(lambda v: "|".join(label_list(v))).to_numpy()
        for column in PROB_COLUMNS:
            out[column] = rows[column].round(4).to_numpy()
    return out


def write_audit(frame: pd.DataFrame, path: Path) -> None:
    """CSV (UTF-8 with BOM, which Excel needs to show Chinese) or JSONL (``labels`` null to fill)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records = frame.assign(labels=[None if v == "" else v for v in frame["labels"]])
        write_table(records, path, "jsonl")
    elif suffix == ".csv":
        path.write_text(frame.to_csv(index=False), encoding="utf-8-sig")
    else:
        raise AuditError(f"{path}: write the audit as .csv or .jsonl")


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditRow:
    id: str
    text: str
    labels: tuple[str, ...] | None  # None: a context row (not scored)
    stratum: str
    inclusion_prob: float
    unit: str
    origin: str  # "path:line"


def _records(path: Path):
    """``(line, record)`` of a CSV or JSONL audit file."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise AuditError(f"{path}: no such file")
    text = path.read_text(encoding=resolve_encoding(path, None))
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for record in reader:
            if None in record:
                raise AuditError(f"{path}:{reader.line_num}: more fields than the header has")
            yield reader.line_num, record
    elif suffix == ".jsonl":
        for line, record, problem in jsonl_records(io.StringIO(text)):
            if problem:
                raise AuditError(f"{path}:{line}: {problem[1]}")
            yield line, record
    else:
        raise AuditError(f"{path}: unsupported extension; an audit file is .csv or .jsonl")


def _labels(value, where: str) -> tuple[str, ...] | None:
    """The labels of a cell: None for a context row; an error for an empty (unlabelled) cell."""
    if isinstance(value, list):
        labels = [str(v) for v in value]
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise AuditError(f"{where}: labels: empty; write the violations (threat|privacy) or compliant")
    elif str(value).strip() == CONTEXT:
        return None
    else:
        labels = labels_from_text(str(value))
    if unknown := unknown_labels(labels):
        raise AuditError(f"{where}: labels: unknown label(s) {unknown}; use {', '.join(VIOLATIONS)} or compliant")
    return tuple(labels)


def read_audit(paths: Sequence[str | Path]) -> list[AuditRow]:
    """Every row of the audit files. Unlabelled rows are an error (all of them listed, up to 10)."""
    rows, unlabelled, seen = [], [], {}
    for path in map(Path, paths):
        count = 0
        for line, record in _records(path):
            count += 1
            where = f"{path}:{line}"
            missing = [c for c in ("id", "text", "labels", *DESIGN_COLUMNS) if c not in record]
            if missing:
                raise AuditError(f"{where}: missing column(s) {', '.join(missing)}; is this a file written by "
                                 "`collectguard audit-sample`?")
            try:
                labels = _labels(record["labels"], where)
            except AuditError as exc:
                if "empty" not in str(exc):
                    raise
                unlabelled.append(where)
                labels = ()
            try:
                probability = float(record["inclusion_prob"])
            except (TypeError, ValueError):
                probability = float("nan")
            if not 0 < probability <= 1:
                raise AuditError(f"{where}: inclusion_prob: {record['inclusion_prob']!r} is not a probability "
                                 "in (0, 1]")
            identifier = str(record["id"])
            if identifier in seen:
                raise AuditError(f"{where}: id: {identifier!r} repeats {seen[identifier]}")
            seen[identifier] = where
            rows.append(AuditRow(identifier, str(record["text"] or ""), labels, str(record["stratum"]), probability,
                                 str(record["unit"]), where))
        if count == 0:
            raise AuditError(f"{path}: no rows")
    if unlabelled:
        shown = ", ".join(unlabelled[:10]) + (f" and {len(unlabelled) - 10} more" if len(unlabelled) > 10 else "")
        raise AuditError(f"{len(unlabelled)} audit row(s) without labels: {shown}; write the violations "
                         "(threat|privacy) or compliant in each")
    return rows


@dataclass
class MatchedAudit:
    """An audit matched to the corpus rows: per corpus row its unit (-1 if not audited) and truth."""
    unit: str  # "utterance" or "call"
    row_unit: np.ndarray  # (rows,) audit unit code of each corpus row, -1 if not in the audit
    truth: np.ndarray  # (rows, 4) labels of audited ok rows (0 elsewhere)
    unit_stratum: np.ndarray  # (units,) stratum code
    unit_weight: np.ndarray  # (units,) 1 / inclusion probability
    strata: pd.DataFrame  # index stratum name: size, sample, inclusion_prob
    files: str

    @property
    def n_units(self) -> int:
        return len(self.unit_weight)


def match_audit(rows: list[AuditRow], corpus: Corpus, call_col: str | None, files: str = "") -> MatchedAudit:
    """Check the audit against the scored corpus and return its design."""
    frame = corpus.frame
    position = pd.Series(np.arange(len(frame)), index=frame["_id"].to_numpy())
    text_col = "text" if "text" in frame else None
    ok = corpus.ok
    for row in rows:
        if row.id not in position.index:
            raise AuditError(f"{row.origin}: id: {row.id!r} is not a row of the scored files "
                             f"({', '.join(p.name for p in corpus.paths)}); was the audit drawn from them?")
        at = position[row.id]
        if text_col and str(frame[text_col].iat[at]).strip() != row.text.strip():
            raise AuditError(f"{row.origin}: text: differs from row {row.id} of the scored files; was the text edited?")
        if ok[at] and row.labels is None:
            raise AuditError(f"{row.origin}: labels: '-' on a scored row; label it (or write compliant)")
    measured = [r for r in rows if ok[position[r.id]]]
    if not measured:
        raise AuditError(f"{files or 'the audit'}: no audited row is a scored row (status ok)")
    utterance_design = all(r.unit == r.id for r in rows)
    if not utterance_design:
        if call_col is None or call_col not in frame:
            raise AuditError(f"{rows[0].origin}: unit: the audit samples calls, but the scored files have no call "
                             f"column {call_col!r} (--call-col)")
        for row in rows:
            call = frame[call_col].iat[position[row.id]]
            if str(call) != row.unit:
                raise AuditError(f"{row.origin}: unit: {row.unit!r} is neither the row's id nor its call {call!r}")
    units: dict[str, tuple[str, float, str]] = {}
    for row in measured:
        known = units.setdefault(row.unit, (row.stratum, row.inclusion_prob, row.origin))
        if known[:2] != (row.stratum, row.inclusion_prob):
            raise AuditError(f"{row.origin}: stratum/inclusion_prob: unit {row.unit!r} has {known[:2]} at {known[2]}")
    strata = _check_strata(units, corpus, "utterance" if utterance_design else "call", call_col, files)
    names = list(units)
    code = {u: i for i, u in enumerate(names)}
    row_unit = np.full(len(frame), -1)
    truth = np.zeros((len(frame), len(VIOLATIONS)))
    for row in measured:
        at = position[row.id]
        row_unit[at] = code[row.unit]
        truth[at] = [label in row.labels for label in VIOLATIONS]
    if not utterance_design:
        calls = frame[call_col].astype(str).to_numpy()
        sampled = np.isin(calls, names) & ok
        missing = sampled & (row_unit < 0)
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            raise AuditError(f"{files}: call {calls[first]!r}: {int(missing.sum())} scored row(s) of sampled calls are "
                             f"not in the audit (first: {frame['_id'].iat[first]}); a sampled call is labelled whole")
    stratum_code = {s: i for i, s in enumerate(strata.index)}
    return MatchedAudit("utterance" if utterance_design else "call", row_unit, truth,
                        np.array([stratum_code[units[u][0]] for u in names]),
                        np.array([1 / units[u][1] for u in names]), strata, files)


def matched_from_draw(corpus: Corpus, sample: pd.DataFrame, strata: pd.DataFrame, truth: np.ndarray,
                      unit: str = "utterance", call_col: str | None = None) -> MatchedAudit:
    """The audit of a draw (:func:`draw_audit`) labelled with ``truth`` ((rows, 4) for every corpus row),
    as :func:`match_audit` would return it for a fully labelled file: for simulations and tests."""
    names = sample["_unit"].astype(str).to_numpy()
    code = pd.Series(np.arange(len(names)), index=names)
    keys = corpus.frame["_id"] if unit == "utterance" else corpus.frame[call_col].astype(str)
    row_unit = keys.map(code).fillna(-1).astype(int).to_numpy().copy()
    row_unit[~corpus.ok] = -1
    labelled = np.where((row_unit >= 0)[:, None], np.asarray(truth, dtype=float), 0.0)
    stratum_code = pd.Series(np.arange(len(strata)), index=strata.index)
    weights = 1 / sample["inclusion_prob"].to_numpy(dtype=float)
    return MatchedAudit(unit, row_unit, labelled, sample["stratum"].map(stratum_code).to_numpy(), weights,
                        strata[["size", "sample", "inclusion_prob"]], "simulated")


def _check_strata(units: dict, corpus: Corpus, unit: str, call_col: str | None, files: str) -> pd.DataFrame:
    """Stratum sizes from the design (``n_h / pi_h``), which must add up to the corpus's units."""
    table = pd.DataFrame([(s, p) for s, p, _ in units.values()], columns=["stratum", "inclusion_prob"])
    grouped = table.groupby("stratum", sort=True)
    if (grouped["inclusion_prob"].nunique() > 1).any():
        bad = grouped["inclusion_prob"].nunique().idxmax()
        raise AuditError(f"{files}: stratum {bad!r} has more than one inclusion probability")
    strata = grouped.agg(sample=("inclusion_prob", "size"), inclusion_prob=("inclusion_prob", "first"))
    raw = strata["sample"] / strata["inclusion_prob"]
    strata["size"] = raw.round().astype(int)
    eligible = (int(corpus.ok.sum()) if unit == "utterance"
                else corpus.frame.loc[corpus.ok, call_col].astype(str).nunique())
    if (np.abs(raw - strata["size"]) > 0.01).any() or strata["size"].sum() != eligible:
        raise AuditError(f"{files}: the audit's design stands for {raw.sum():.0f} {unit}s but the scored files have "
                         f"{eligible} to measure; rows were removed from the audit file, or it was drawn from other "
                         "scored files")
    return strata[["size", "sample", "inclusion_prob"]]


def describe_design(strata: pd.DataFrame) -> str:
    """One line: ``2 strata, 400 of 12000 utterances (...)``."""
    return f"{len(strata)} strata; " + ", ".join(
        f"{name}: {int(r['sample'])} of {int(r['size'])}" for name, r in strata.iterrows())
