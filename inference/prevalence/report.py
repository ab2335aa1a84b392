"""Readable output of ``collectguard prevalence``: ``prevalence.csv``, ``calls.csv``, ``report.md`` and plots.

The ``*_table`` functions turn the tidy tables into the pivoted views the report shows; notebooks can
display them directly. Plots use matplotlib's object-oriented API (no pyplot state, no display).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd

from ..pii import mask_pii
from ..reporting import markdown_table, new_figure
from .estimators import CALL_HEADLINE, HEADLINE, LABELS, METHODS
from .measure import ALL

SECOND = "emq"  # the second opinion shown beside the headline
PLOTS = {"methods": "methods_all.png", "groups": "by_group.png", "calls": "calls_by_group.png"}


def interval(row) -> str:
    """``0.034 [0.021, 0.050]``, ``–`` when undefined."""
    if row is None or math.isnan(row["estimate"]):
        return "–"
    low, high = row["ci_low"], row["ci_high"]
    bounds = "" if math.isnan(low) else f" [{low:.3f}, {high:.3f}]"
    return f"{row['estimate']:.3f}{bounds}"


def _markdown(frame: pd.DataFrame) -> str:
    """``markdown_table`` with ``|`` in group names escaped (``agency=X|month=Y``)."""
    frame = frame.rename(index=lambda v: str(v).replace("|", "\\|") if isinstance(v, str) else v)
    return markdown_table(frame)


def methods_table(table: pd.DataFrame, group: str = ALL) -> pd.DataFrame:
    """One group: labels (rows) by methods (columns), ``estimate [ci_low, ci_high]``."""
    part = table[table["group"] == group]
    cells = {(r["label"], r["method"]): interval(r) for _, r in part.iterrows()}
    methods = [m for m in METHODS if m in set(part["method"])] or sorted(set(part["method"]))
    return pd.DataFrame({m: [cells.get((lb, m), "–") for lb in LABELS] for m in methods}, index=list(LABELS))


def groups_table(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Groups (rows) by labels (columns) for one method, with n and the group's flags."""
    part = table[table["method"] == method]
    rows = []
    for group, rows_of_group in part.groupby("group", sort=False):
        by_label = {r["label"]: r for _, r in rows_of_group.iterrows()}
        flags = sorted({f for r in by_label.values() for f in str(r["flag"]).split(";") if f and f != "nan"})
        rows.append({"group": group, "n": int(rows_of_group["n"].iat[0]),
                     **{lb: interval(by_label.get(lb)) for lb in LABELS}, "flags": ", ".join(flags)})
    return pd.DataFrame(rows).set_index("group")


def clipped_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows whose estimate was clipped to [0, 1] or whose interval sits on a bound by clipping."""
    mask = table["clipped"].astype(bool) | table["flag"].fillna("").str.contains("ci_clipped")
    return table.loc[mask, ["group", "label", "method", "estimate", "ci_low", "ci_high", "clipped", "flag"]]


def clipping_notes(prevalence: pd.DataFrame, calls: pd.DataFrame) -> str:
    """How many rows of each method were clipped, and the clipped rows of the headline methods."""
    clipped = pd.concat([clipped_rows(prevalence).assign(level="utterance"), clipped_rows(calls).assign(level="call")])
    if not len(clipped):
        return "Nothing was clipped."
    counts = clipped.groupby(["level", "method"]).size().rename("rows").to_frame()
    is_headline = (((clipped["level"] == "utterance") & (clipped["method"] == HEADLINE))
                   | ((clipped["level"] == "call") & (clipped["method"] == CALL_HEADLINE)))
    headline = clipped[is_headline & (clipped["group"] == ALL)]
    text = (f"{len(clipped)} row(s) have a clipped estimate or an interval clipped at a bound. A raw "
            "corrected estimate below 0 means the group has fewer flags than the model's false alarms "
            "alone would produce: the true share is low, and the model's error rates may not fit the "
            "group. Rows per method:\n\n" + _markdown(counts))
    if len(headline):
        text += ("\n\nHeadline rows of the whole corpus (groups: prevalence.csv, calls.csv):\n\n"
                 + _markdown(headline.set_index("group")))
    return text


ASSUMPTIONS = """\
- **Prior shift only.** The corrected methods assume that a violation (and a compliant utterance)
  looks to the model in this corpus as it did in the held-out labelled rows: what may differ is how
  many there are, not how they are phrased. New phrasing, another channel (SMS instead of calls),
  other ASR or another region break this, and no interval shows it; re-measure error rates on a
  labelled sample of the new corpus (`--labelled`).
- **Representative error rates.** `tpr`/`fpr` come from {source}. Rows the model was tuned on
  (train, dev) would understate its errors.
- **Label mix.** The single-label corrections (`acc`, `pacc`, `emq`) treat all rows without a label
  as alike, but a threat-free utterance that insults sets off the threat flag more often than a
  compliant one. The joint corrections (`acc_joint`, `pacc_joint`) model this cross-label effect
  (a linear model of each flag on all four true labels), which matters when violations are rarer
  in the corpus than in the held-out rows.
- **Call level.** P(no violation of a label in a call) = product over its utterances of (1 - p_i),
  with p_i the model's probability recalibrated on the held-out rows (Platt scaling) and moved to
  the corpus prevalence (`emq`). This assumes the model's errors are independent within a call
  given the texts. `cc` counts calls with at least one flagged utterance: every false alarm in a
  long call makes the call count, so it overstates most.
- **Independent units.** Intervals resample whole calls (when call ids are given) or utterances.
  Identical texts repeated across calls (templates) share their errors; many of them make the
  intervals too narrow."""

READING = """\
Each interval is a 95 % percentile bootstrap interval: {n_boot} replicates, each resampling the
scored {unit} and, independently, the held-out labelled rows, so it carries both the sampling
noise of the corpus and the uncertainty of the model's error rates. Read it as the range of
prevalences compatible with this corpus under the assumptions below. Two groups whose intervals
overlap may still differ, and a group flagged `too_small` (fewer than {min_size} scored utterances,
or calls in the call table) has an interval that is itself unreliable. Estimates are clipped to
[0, 1]: a corrected estimate of 0 means "fewer than the model's false-alarm rate explains",
not "none"."""

FLAGS = """\
`too_small`: fewer than the minimum group size; `empty`: no scored (`status == ok`) rows;
`undefined`: the correction divides by `tpr - fpr <= 0` (or a label without held-out positives);
`unstable_rates`: some replicates had undefined rates; `ci_clipped`: more than 2.5 % of replicates
were clipped, so an interval end lies on 0 or 1 by clipping; `ci_degenerate`: every replicate gave
the same value, typically a group without a single flagged utterance. The bootstrap cannot bound such
a group: with no flag among n utterances the flagged share is below 3.7/n (95 %, Clopper-Pearson),
e.g. 4.6 % for n = 80, and the violation share is low but not shown to be 0."""


def markdown_report(prevalence: pd.DataFrame, calls: pd.DataFrame, context: dict) -> str:
    """``report.md``: headline, every method, groups, call level, reading, assumptions, clipping."""
    headline = methods_table(prevalence)[["cc", HEADLINE, SECOND]].rename(columns={"cc": "naive count (cc)"})
    sections = [
        "# Prevalence of violations\n\n" + "\n".join(f"- {k}: {v}" for k, v in context.items()),
        f"## Headline: `{HEADLINE}`\n\nShare of scored utterances with each violation (`any`: at least one), "
        f"corrected for the model's errors, with the naive count and `{SECOND}` beside it. In the simulation "
        f"(docs/prevalence.md) `{HEADLINE}` had the smallest bias across scenarios and labels, shifts of the "
        f"label mix included; `{SECOND}` varies less but is biased when the label mix shifts. When the two "
        "disagree by more than their intervals, suspect a shift the held-out rows do not represent.\n\n"
        + markdown_table(headline),
        "## How to read the intervals\n\n" + READING.format(unit="calls" if len(calls) else "utterances",
                                                            n_boot=context["bootstrap replicates"],
                                                            min_size=context["minimum group size"]),
        f"## Every method, whole corpus\n\n![methods]({PLOTS['methods']})\n\n"
        + markdown_table(methods_table(prevalence)),
    ]
    if set(prevalence["group"]) != {ALL}:
        sections.append(f"## By group (`{HEADLINE}`)\n\n![by group]({PLOTS['groups']})\n\n"
                        + _markdown(groups_table(prevalence, HEADLINE)))
    if len(calls):
        sections.append(f"## Calls with at least one violation (`{CALL_HEADLINE}`; `cc` in calls.csv)\n\n"
                        f"![calls]({PLOTS['calls']})\n\n" + _markdown(groups_table(calls, CALL_HEADLINE)))
    sections += ["## Assumptions\n\n" + ASSUMPTIONS.format(source=context["error rates from"]), "## Flags\n\n" + FLAGS,
                 "## Clipping\n\n" + clipping_notes(prevalence, calls)]
    return "\n\n".join(sections) + "\n"


def _errorbars(ax, part: pd.DataFrame, positions, **style) -> None:
    if not len(part):
        return
    low, high = part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]
    ax.errorbar(part["estimate"], positions, xerr=[low.fillna(0).clip(lower=0), high.fillna(0).clip(lower=0)],
                fmt="o", capsize=3, **style)


def plot_methods(prevalence: pd.DataFrame, path: Path) -> None:
    """Whole corpus: every method's estimate and interval (the headline in red), one panel per label."""
    part = prevalence[prevalence["group"] == ALL]
    fig = new_figure(figsize=(3 * len(LABELS), 3.2), layout="constrained")
    for ax, label in zip(fig.subplots(1, len(LABELS), sharey=True), LABELS):
        rows = part[part["label"] == label].reset_index(drop=True)
        headline = (rows["method"] == HEADLINE).to_numpy()
        _errorbars(ax, rows[~headline], [i for i in range(len(rows)) if not headline[i]])
        _errorbars(ax, rows[headline], [i for i in range(len(rows)) if headline[i]], color="tab:red")
        ax.set_yticks(range(len(rows)), rows["method"])
        ax.invert_yaxis()
        ax.set_title(label)
        ax.set_xlim(left=0)
    fig.savefig(path, dpi=110)


def plot_groups(table: pd.DataFrame, method: str, path: Path) -> None:
    """One method by group (``all`` first), one panel per label; ``too_small`` groups hollow."""
    part = table[table["method"] == method]
    groups = list(dict.fromkeys(part["group"]))
    fig = new_figure(figsize=(3 * len(LABELS), 1 + 0.35 * len(groups)), layout="constrained")
    for ax, label in zip(fig.subplots(1, len(LABELS), sharey=True), LABELS):
        rows = part[part["label"] == label].set_index("group").reindex(groups).reset_index()
        small = rows["flag"].fillna("").str.contains("too_small").to_numpy()
        _errorbars(ax, rows[~small], [i for i in range(len(groups)) if not small[i]])
        _errorbars(ax, rows[small], [i for i in range(len(groups)) if small[i]], mfc="white", alpha=0.6)
        ax.set_yticks(range(len(groups)), groups, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(label)
        ax.set_xlim(left=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(path, dpi=110)


def write_outputs(out_dir: Path, prevalence: pd.DataFrame, calls: pd.DataFrame, context: dict) -> None:
    """Every file of the report directory. Group names are values of the input's columns (``--by``),
    so personal data in them is masked like every text that leaves the scorer."""
    prevalence = prevalence.assign(group=prevalence["group"].map(lambda g: mask_pii(str(g))))
    calls = calls.assign(group=calls["group"].map(lambda g: mask_pii(str(g)))) if len(calls) else calls
    out_dir.mkdir(parents=True, exist_ok=True)
    prevalence.to_csv(out_dir / "prevalence.csv", index=False)
    calls.to_csv(out_dir / "calls.csv", index=False)
    plot_methods(prevalence, out_dir / PLOTS["methods"])
    if set(prevalence["group"]) != {ALL}:
        plot_groups(prevalence, HEADLINE, out_dir / PLOTS["groups"])
    if len(calls):
        plot_groups(calls, CALL_HEADLINE, out_dir / PLOTS["calls"])
    (out_dir / "report.md").write_text(markdown_report(prevalence, calls, context), encoding="utf-8")
