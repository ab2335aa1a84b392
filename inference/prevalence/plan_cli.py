"""``collectguard audit-plan --scores SCORED... --halfwidth 0.01 [--pilot LABELLED...] [--unit utterance|call]``:
how many units to label for a 95 % interval of a given half-width, per label.

Without a pilot the plan is the classical (audit-only) size at the share the model flags, the
planning guess; what PPI saves depends on how well the model does on *this* corpus, which only
labels show. With ``--pilot`` (a labelled audit of the corpus, e.g. 100-200 rows from
``collectguard audit-sample``), both sizes come from the pilot's own variances, scaled to the size
that reaches the half-width under the same design (PPI's at the pilot's best ``lam``, which is never
worse than the audit alone): a label with fewer than ``MIN_POSITIVES`` positives (or negatives) in the
pilot is planned from the upper end of its classical interval instead, for both.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import DEFAULT_CALL_COL
from .audit import UNITS, Corpus, load_corpus, match_audit, read_audit
from .estimators import LABELS
from .inputs import label_list
from .measure import ALL
from .ppi import LEVEL, measure_audit, plan_size

MIN_POSITIVES = 5
PLAN_COLUMNS = ["level", "label", "planning_share", "classical_n", "ppi_n", "basis"]


def plan_without_pilot(corpus: Corpus, halfwidth: float, unit: str, call_col: str) -> pd.DataFrame:
    """Classical sizes at the flagged share (per unit), PPI left to a pilot."""
    rows = corpus.frame[corpus.ok]
    flagged = np.array([[label in label_list(v) for label in LABELS[:-1]] for v in rows["pred_labels"]], dtype=float)
    flagged = np.column_stack([flagged, flagged.max(axis=1, initial=0)])
    if unit == "call":
        flagged = pd.DataFrame(flagged).groupby(rows[call_col].astype(str).to_numpy()).max().to_numpy()
    population = len(flagged)
    plan = []
    for k, label in enumerate(LABELS):
        share = float(np.clip(flagged[:, k].mean(), 0.01, 0.5))
        plan.append(dict(level=unit, label=label, planning_share=share,
                         classical_n=plan_size(share * (1 - share), halfwidth, population), ppi_n=math.nan,
                         basis="no pilot: classical size at the flagged share (at least 1 %); PPI needs --pilot"))
    return pd.DataFrame(plan, columns=PLAN_COLUMNS)


def plan_from_pilot(corpus: Corpus, pilot: Sequence[Path], halfwidth: float, call_col: str | None) -> pd.DataFrame:
    """Sizes from the pilot's variances: ``v = se^2 * n / (1 - n/N)`` per unit, then :func:`plan_size`."""
    matched = match_audit(read_audit(pilot), corpus, call_col, ", ".join(map(str, pilot)))
    # the variance at the pilot's best lam (PPI++): at the planned, larger size the shrinkage toward
    # lam = 1 that protects small audits has little weight left
    _, _, details = measure_audit(corpus.frame, corpus.ok, matched, [], call_col, tuning="ppi++")
    n, population = matched.n_units, int(matched.strata["size"].sum())
    scale = n / (1 - n / population) if n < population else math.nan
    plan = []
    for _, r in details[details["group"] == ALL].iterrows():
        if r["positives"] >= MIN_POSITIVES and r["n_audit"] - r["positives"] >= MIN_POSITIVES:
            share = r["estimate"]
            classical = plan_size(r["classical_se"] ** 2 * scale, halfwidth, population)
            ppi = plan_size(r["se"] ** 2 * scale, halfwidth, population)
            basis = f"pilot of {n} {matched.unit}s: its variances (lam {r['lam']:.2f})"
        else:
            share = max(r["classical_high"], 0.01)
            classical = ppi = plan_size(share * (1 - share) * n / r["n_audit"], halfwidth, population)
            basis = (f"pilot of {n} {matched.unit}s has {int(r['positives'])} positive(s): classical size at the "
                     f"upper end of its {LEVEL:.0%} interval, for both")
        plan.append(dict(level=r["level"], label=r["label"], planning_share=share, classical_n=classical,
                         ppi_n=ppi, basis=basis))
    return pd.DataFrame(plan, columns=PLAN_COLUMNS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard audit-plan", description=__doc__.split("\n\n")[1])
    parser.add_argument("--scores", required=True, nargs="+", type=Path, help="scored file(s) of the corpus")
    parser.add_argument("--halfwidth", required=True, type=float, help="target half-width of the 95 %% interval")
    parser.add_argument("--pilot", nargs="+", type=Path, default=[], metavar="LABELLED",
                        help="a labelled audit sample of the corpus (collectguard audit-sample)")
    parser.add_argument("--unit", choices=UNITS, default="utterance",
                        help="without a pilot: plan utterances (default) or calls; a pilot brings its own unit")
    parser.add_argument("--call-col", default=DEFAULT_CALL_COL, help="call id column (default call_id)")
    parser.add_argument("--out", type=Path, help="also write the plan as CSV")
    args = parser.parse_args(argv)
    if not 0 < args.halfwidth < 0.5:
        parser.error("--halfwidth must be in (0, 0.5), e.g. 0.01 for +-1 percentage point")
    corpus = load_corpus(args.scores, call_col=args.call_col, call_col_required=args.unit == "call")
    plan = (plan_from_pilot(corpus, args.pilot, args.halfwidth, args.call_col) if args.pilot
            else plan_without_pilot(corpus, args.halfwidth, args.unit, args.call_col))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        plan.to_csv(args.out, index=False)
    print(plan.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not args.pilot:
        print("label a pilot (e.g. collectguard audit-sample --n 200) and rerun with --pilot for PPI's size")
    return 0
