"""Prevalence: how common each violation is in a scored corpus, with intervals.

``estimate_prevalence`` is the one entry point; ``collectguard prevalence``, notebook 03 and the
simulation call it. Modules: ``estimators`` (the methods), ``measure`` (groups, calls, bootstrap),
``inputs`` (scored files, held-out rows), ``report`` (tables and plots), ``cli``, ``sim``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..modeldir import read_thresholds
from .estimators import CALL_HEADLINE, HEADLINE
from .inputs import ScoredFileError, heldout_arrays, load_scored
from .measure import ALL, Scored, heldout_rates_all, measure

DEFAULT_CALL_COL = "call_id"
__all__ = ["PrevalenceResult", "estimate_prevalence", "ScoredFileError", "HEADLINE", "CALL_HEADLINE", "ALL"]


@dataclass
class PrevalenceResult:
    """Tidy tables of every estimate, and what was measured.

    ``utterances``: one row per group, label and method: ``estimate``, ``ci_low``, ``ci_high``, ``n``,
    ``clipped``, ``flag`` (the whole corpus is group ``all``). ``calls``: the same for the share of
    calls with each violation (empty without a call column). ``context``: facts for the report.
    """

    utterances: pd.DataFrame
    calls: pd.DataFrame
    context: dict = field(default_factory=dict)

    def headline(self, group: str = ALL) -> pd.DataFrame:
        """The headline method's rows for ``group``, one per label."""
        rows = self.utterances[(self.utterances["group"] == group) & (self.utterances["method"] == HEADLINE)]
        return rows.set_index("label")[["estimate", "ci_low", "ci_high", "n", "flag"]]


def estimate_prevalence(scores: Sequence[str | Path], model_dir: str | Path, *, labelled: str | Path | None = None,
                        by: Sequence[str] = (), call_col: str | None = None, n_bootstrap: int = 1000,
                        seed: int = 13, min_group_size: int = 30) -> PrevalenceResult:
    """Share of utterances (and calls) with each violation in files written by ``collectguard score``,
    corrected for the model's errors, for the whole corpus and each ``by`` group.

    Args:
        scores: scored ``.parquet``/``.csv``/``.jsonl`` files.
        model_dir: the model directory that scored them (thresholds, held-out predictions).
        labelled: labelled rows to measure error rates on instead of the model's held-out rows.
        by: columns to group by, e.g. ``["agency", "month"]``.
        call_col: call id column; default ``call_id`` when the files have it (call-level estimates
            and resampling of whole calls).
        n_bootstrap: bootstrap replicates for the intervals.
        seed: seed of the resampling.
        min_group_size: groups with fewer measured utterances are kept and flagged ``too_small``.

    Returns:
        A :class:`PrevalenceResult`.

    Raises:
        ScoredFileError: a scored file without a needed column, or with nothing measured.

    Example:
        >>> result = estimate_prevalence(["reports/calls_scored.parquet"], "models/baseline", by=["agency"])
        >>> result.headline()  # doctest: +SKIP
    """
    if n_bootstrap < 1:
        raise ValueError("n_bootstrap must be at least 1")
    by = list(by)
    thresholds = list(read_thresholds(model_dir).values())
    truth, probs = heldout_arrays(model_dir, labelled)
    frame, ok, used_call_col = load_scored(scores, thresholds, model_dir, by, call_col or DEFAULT_CALL_COL,
                                           call_col_required=call_col is not None)
    rates = heldout_rates_all(Scored.from_probs(probs, thresholds, truth), n_bootstrap, seed)
    utterances, calls = measure(frame, ok, thresholds, rates, by, used_call_col, n_bootstrap, seed, min_group_size)
    statuses = (frame["status"].astype(str).value_counts() if "status" in frame
                else pd.Series({"(no status)": len(frame)}))
    context = {"model": str(model_dir), "scored files": ", ".join(map(str, scores)),
               "rows": f"{len(frame)} ({', '.join(f'{s}: {c}' for s, c in statuses.items())}); "
                       f"{int(ok.sum())} measured",
               "error rates from": (f"{labelled} ({len(truth)} labelled rows)" if labelled else
                                    f"the model's held-out predictions ({len(truth)} rows)"),
               "call column": used_call_col or "none (no call level; utterances resampled)",
               "groups by": ", ".join(by) or "none", "bootstrap replicates": n_bootstrap, "seed": seed,
               "minimum group size": min_group_size}
    return PrevalenceResult(utterances, calls, context)
