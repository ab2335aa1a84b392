"""Prevalence: how common each violation is in a scored corpus, with intervals.

``estimate_prevalence`` is the one entry point; ``collectguard prevalence``, notebook 03 and the
simulation call it. Modules: ``estimators`` (the model-based corrections), ``measure`` (groups,
calls, bootstrap), ``inputs`` (scored files, held-out rows), ``audit`` (audit samples: drawing,
reading, matching), ``ppi`` (prediction-powered inference from an audit), ``report`` (tables and
plots), ``cli``, ``sample_cli``, ``plan_cli``, ``sim``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..modeldir import read_thresholds
from .audit import AuditError, Corpus, describe_design, match_audit, read_audit
from .estimators import CALL_HEADLINE, HEADLINE
from .inputs import ScoredFileError, heldout_arrays, label_list, load_scored
from .measure import ALL, COLUMNS, Scored, groups, heldout_rates_all, measure
from .ppi import PPI, measure_audit

log = logging.getLogger(__name__)

DEFAULT_CALL_COL = "call_id"
NO_AUDIT_WARNING = ("no audit of this corpus: the corrected estimates assume that the model's error rates on "
                    "the held-out labelled rows hold on this corpus, and nothing here checks that; label an audit "
                    "sample (collectguard audit-sample) and pass it with --audit")
__all__ = ["PrevalenceResult", "estimate_prevalence", "ScoredFileError", "AuditError", "HEADLINE", "CALL_HEADLINE",
           "ALL", "PPI"]


@dataclass
class PrevalenceResult:
    """Tidy tables of every estimate, and what was measured.

    ``utterances``: one row per group, label and method: ``estimate``, ``ci_low``, ``ci_high``, ``n``,
    ``clipped``, ``flag`` (the whole corpus is group ``all``). ``calls``: the same for the share of
    calls with each violation (empty without a call column). ``audit``: with an audit, per group,
    level and label the PPI and classical estimates with ``lam``, audited items, positives and the
    effective sample-size ``gain`` (empty without). ``context``: facts for the report.
    """

    utterances: pd.DataFrame
    calls: pd.DataFrame
    context: dict = field(default_factory=dict)
    audit: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def headline_method(self) -> str:
        """``ppi`` with an audit of the corpus, else the model-based ``acc_joint``."""
        return PPI if len(self.audit) else HEADLINE

    def headline(self, group: str = ALL) -> pd.DataFrame:
        """The headline method's rows for ``group``, one per label."""
        rows = self.utterances[(self.utterances["group"] == group)
                               & (self.utterances["method"] == self.headline_method)]
        return rows.set_index("label")[["estimate", "ci_low", "ci_high", "n", "flag"]]


def _flag_share(frame: pd.DataFrame, ok: np.ndarray, by: list[str], min_size: int) -> pd.DataFrame:
    """Without a model directory: the share of rows the scoring flagged (``cc``, from ``pred_labels``),
    no interval."""
    from .estimators import LABELS

    flagged = np.array([[label in label_list(v) for label in LABELS[:-1]] for v in frame["pred_labels"]], dtype=float)
    flagged = np.column_stack([flagged, flagged.max(axis=1, initial=0)])
    rows = []
    for name, index in groups(frame.assign(_ok=ok), by):
        keep = frame.index.isin(index) & ok
        share = flagged[keep].mean(axis=0) if keep.any() else np.full(len(LABELS), np.nan)
        for label, value in zip(LABELS, share, strict=True):
            rows.append(dict(group=name, label=label, method="cc", estimate=float(value), ci_low=np.nan,
                             ci_high=np.nan, n=int(keep.sum()), clipped=False,
                             flag="too_small" if keep.sum() < min_size else ""))
    return pd.DataFrame(rows, columns=COLUMNS)


def estimate_prevalence(scores: Sequence[str | Path], model_dir: str | Path | None = None, *,
                        audit: Sequence[str | Path] = (), labelled: str | Path | None = None,
                        by: Sequence[str] = (), call_col: str | None = None, n_bootstrap: int = 1000,
                        seed: int = 13, min_group_size: int = 30, tuning: str = "shrunk") -> PrevalenceResult:
    """Share of utterances (and calls) with each violation in files written by ``collectguard score``,
    for the whole corpus and each ``by`` group.

    With ``audit`` (files written by ``collectguard audit-sample`` and labelled), the headline is
    prediction-powered inference: valid whatever the model's errors on this corpus. With
    ``model_dir``, the model-based corrections are computed too (they assume the error rates measured
    on held-out rows hold here). At least one of the two is needed.

    Args:
        scores: scored ``.parquet``/``.csv``/``.jsonl`` files.
        model_dir: the model directory that scored them (thresholds, held-out predictions); optional
            with an audit.
        audit: labelled audit files of this corpus.
        labelled: labelled rows to measure error rates on instead of the model's held-out rows.
        by: columns to group by, e.g. ``["agency", "month"]``.
        call_col: call id column; default ``call_id`` when the files have it (call-level estimates
            and resampling of whole calls).
        n_bootstrap: bootstrap replicates for the model-based intervals.
        seed: seed of the resampling.
        min_group_size: groups with fewer measured utterances are kept and flagged ``too_small``.
        tuning: PPI's power tuning, ``shrunk`` (default), ``ppi++`` or ``plain`` (see ``ppi``).

    Returns:
        A :class:`PrevalenceResult`.

    Raises:
        ScoredFileError: a scored file without a needed column, or with nothing measured.
        AuditError: an audit file that is not labelled or does not match the scored files.

    Example:
        >>> result = estimate_prevalence(["reports/calls_scored.parquet"], "models/baseline", by=["agency"])
        >>> result.headline()  # doctest: +SKIP
    """
    if n_bootstrap < 1:
        raise ValueError("n_bootstrap must be at least 1")
    if model_dir is None and not audit:
        raise ValueError("give a model directory (--model), an audit of the corpus (--audit), or both")
    by = list(by)
    thresholds = list(read_thresholds(model_dir).values()) if model_dir is not None else None
    frame, ok, used_call_col = load_scored(scores, thresholds, model_dir, by, call_col or DEFAULT_CALL_COL,
                                           call_col_required=call_col is not None)
    statuses = (frame["status"].astype(str).value_counts() if "status" in frame
                else pd.Series({"(no status)": len(frame)}))
    context = {"model": str(model_dir) if model_dir is not None else "none (audit only)",
               "scored files": ", ".join(map(str, scores)),
               "rows": f"{len(frame)} ({', '.join(f'{s}: {c}' for s, c in statuses.items())}); "
                       f"{int(ok.sum())} measured",
               "call column": used_call_col or "none (no call level; utterances resampled)",
               "groups by": ", ".join(by) or "none", "minimum group size": min_group_size}
    utterances, calls = pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=COLUMNS)
    if model_dir is not None:
        truth, probs = heldout_arrays(model_dir, labelled)
        rates = heldout_rates_all(Scored.from_probs(probs, thresholds, truth), n_bootstrap, seed)
        utterances, calls = measure(frame, ok, thresholds, rates, by, used_call_col, n_bootstrap, seed,
                                    min_group_size)
        context.update({"error rates from": (f"{labelled} ({len(truth)} labelled rows)" if labelled else
                                             f"the model's held-out predictions ({len(truth)} rows)"),
                        "bootstrap replicates": n_bootstrap, "seed": seed})
    elif "pred_labels" in frame:
        utterances = _flag_share(frame, ok, by, min_group_size)
    details = pd.DataFrame()
    if audit:
        matched = match_audit(read_audit(audit), Corpus(frame, ok, [Path(p) for p in scores]),
                              used_call_col or call_col or DEFAULT_CALL_COL, ", ".join(map(str, audit)))
        audit_utterances, audit_calls, details = measure_audit(frame, ok, matched, by, used_call_col, tuning,
                                                               min_group_size)
        utterances = pd.concat([t for t in (audit_utterances, utterances) if len(t)], ignore_index=True)
        calls = pd.concat([t for t in (audit_calls, calls) if len(t)], ignore_index=True) if len(audit_calls) else calls
        context["audit"] = (f"{', '.join(map(str, audit))}: a sample of {matched.n_units} {matched.unit}s "
                            f"({describe_design(matched.strata)}); power tuning {tuning}")
    else:
        log.warning("collectguard prevalence: %s", NO_AUDIT_WARNING)
        context["warning"] = NO_AUDIT_WARNING
    return PrevalenceResult(utterances, calls, context, details)
