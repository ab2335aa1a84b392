"""Readable output of ``collectguard prevalence``: ``prevalence.csv``, ``calls.csv``, ``audit.csv``,
``report.md`` and plots.

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
from .ppi import CLASSICAL, PPI

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
    methods = [m for m in (PPI, CLASSICAL, *METHODS) if m in set(part["method"])] or sorted(set(part["method"]))
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


def clipping_notes(prevalence: pd.DataFrame, calls: pd.DataFrame, headline: str = HEADLINE) -> str:
    """How many rows of each method were clipped, and the clipped rows of the headline methods."""
    clipped = pd.concat([clipped_rows(prevalence).assign(level="utterance"), clipped_rows(calls).assign(level="call")])
    if not len(clipped):
        return "Nothing was clipped."
    counts = clipped.groupby(["level", "method"]).size().rename("rows").to_frame()
    call_headline = PPI if headline == PPI else CALL_HEADLINE
    is_headline = (((clipped["level"] == "utterance") & (clipped["method"] == headline))
                   | ((clipped["level"] == "call") & (clipped["method"] == call_headline)))
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
- **Error rates transfer (the model-based corrections).** `acc`, `pacc`, `emq` and the joint
  methods assume that a violation (and a compliant utterance) looks to the model in this corpus as
  it did in the held-out labelled rows: what may differ is how many there are, not how they are
  phrased. New phrasing, another channel (SMS instead of calls), other ASR, another region or script
  break this, and no interval shows it. `tpr`/`fpr` come from {source}; rows the model was tuned on
  (train, dev) would understate its errors. Only an audit of this corpus (`--audit`) checks it.
- **Label mix.** The single-label corrections (`acc`, `pacc`, `emq`) treat all rows without a label
  as alike, but a threat-free utterance that insults sets off the threat flag more often than a
  compliant one. The joint corrections (`acc_joint`, `pacc_joint`) model this cross-label effect
  (a linear model of each flag on all four true labels), which matters when violations are rarer
  in the corpus than in the held-out rows.
- **Call level (model-based).** P(no violation of a label in a call) = product over its utterances
  of (1 - p_i), with p_i the model's probability recalibrated on the held-out rows (Platt scaling)
  and moved to the corpus prevalence (`emq`). This assumes the model's errors are independent within
  a call given the texts. `cc` counts calls with at least one flagged utterance: every false alarm in
  a long call makes the call count, so it overstates most.
- **Independent units.** Bootstrap intervals resample whole calls (when call ids are given) or
  utterances. Identical texts repeated across calls (templates) share their errors; many of them
  make those intervals too narrow."""

AUDIT_ASSUMPTIONS = """\
- **The audit is the sample that was drawn.** `ppi` and `classical` weight each audited unit by its
  inverse inclusion probability; they are valid for this corpus whatever the model's errors on it,
  as long as every drawn unit is labelled (rows dropped because they were hard to label bias the
  estimate; the command refuses an audit with rows missing) and the labels are right: labellers
  should follow the codebook and not see the model's prediction.
- **The target is this corpus.** The intervals are for the share in the scored rows (a finite
  population), from the audit's sampling alone. Normal-approximation intervals: with very few
  audited positives (under about 5), read the classical (Wilson) interval as well."""
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
e.g. 4.6 % for n = 80, and the violation share is low but not shown to be 0. Audit estimates:
`no_audit`: no audited row in the group; `small_audit`: fewer than 30 audited rows (or calls) in it;
`few_positives`: fewer than 5 audited rows with the label, so the PPI interval rests on very little
(read the classical Wilson interval beside it, and audit more: `collectguard audit-plan`)."""


def audit_table(details: pd.DataFrame, level: str, group: str = ALL) -> pd.DataFrame:
    """One group's audit estimates per label: PPI and classical with intervals, ``lam``, audited items,
    positives, the effective sample-size gain and the mean prediction."""
    part = details[(details["group"] == group) & (details["level"] == level)].set_index("label")
    rows = {}
    for label, r in part.iterrows():
        rows[label] = {"ppi": interval(r), "classical (audit only)": interval(
            {"estimate": r["classical"], "ci_low": r["classical_low"], "ci_high": r["classical_high"]}),
            "lam": f"{r['lam']:.2f}", "audited": int(r["n_audit"]), "positives": int(r["positives"]),
            "gain": "–" if math.isnan(r["gain"]) else f"{r['gain']:.2f}", "mean prediction": f"{r['model_mean']:.3f}"}
    return pd.DataFrame.from_dict(rows, orient="index")


def _headline_section(prevalence: pd.DataFrame, details: pd.DataFrame, context: dict) -> str:
    if len(details):
        table = audit_table(details, "utterance")
        model_only = HEADLINE if HEADLINE in set(prevalence["method"]) else "cc"
        if model_only in set(prevalence["method"]):
            table.insert(2, f"model only ({model_only})", methods_table(prevalence)[model_only])
        return (f"## Headline: `{PPI}`, prediction-powered inference from the audit\n\n"
                f"Audit: {context['audit']}.\n\nShare of scored utterances with each violation (`any`: at least "
                "one). `ppi` combines the audit's human labels with the model's predictions on every row; it is "
                "valid whatever the model's errors on this corpus, and narrower than the audit alone when the "
                "predictions are informative. `classical` is the audit alone (Wilson interval); the model-only "
                "estimate assumes error rates that this corpus may not share. `lam` weights the predictions "
                "(0: ignored, 1: plain PPI); `gain` is the classical variance over PPI's: the audit counted as "
                "that many times its size.\n\n" + markdown_table(table))
    headline = methods_table(prevalence)[["cc", HEADLINE, SECOND]].rename(columns={"cc": "naive count (cc)"})
    return (f"**Warning: {context['warning']}.**\n\n"
            f"## Headline: `{HEADLINE}`\n\nShare of scored utterances with each violation (`any`: at least one), "
            f"corrected for the model's errors, with the naive count and `{SECOND}` beside it. In the simulation "
            f"(docs/prevalence.md) `{HEADLINE}` had the smallest bias across scenarios and labels, shifts of the "
            f"label mix included; `{SECOND}` varies less but is biased when the label mix shifts. When the two "
            "disagree by more than their intervals, suspect a shift the held-out rows do not represent.\n\n"
            + markdown_table(headline))


def markdown_report(prevalence: pd.DataFrame, calls: pd.DataFrame, context: dict,
                    details: pd.DataFrame | None = None) -> str:
    """``report.md``: headline, every method, groups, call level, reading, assumptions, clipping."""
    details = pd.DataFrame() if details is None else details
    headline = PPI if len(details) else HEADLINE
    call_headline = PPI if len(details) and PPI in set(calls.get("method", [])) else CALL_HEADLINE
    model_based = "bootstrap replicates" in context
    sections = ["# Prevalence of violations\n\n" + "\n".join(f"- {k}: {v}" for k, v in context.items()),
                _headline_section(prevalence, details, context)]
    if model_based:
        sections.append("## How to read the model-based intervals\n\n" + READING.format(
            unit="calls" if len(calls) else "utterances", n_boot=context["bootstrap replicates"],
            min_size=context["minimum group size"]))
    sections.append(f"## Every method, whole corpus\n\n![methods]({PLOTS['methods']})\n\n"
                    + markdown_table(methods_table(prevalence)))
    if set(prevalence["group"]) != {ALL}:
        sections.append(f"## By group (`{headline}`)\n\n![by group]({PLOTS['groups']})\n\n"
                        + _markdown(groups_table(prevalence, headline)))
    if len(calls) and call_headline in set(calls["method"]):
        text = f"## Calls with at least one violation (`{call_headline}`; other methods in calls.csv)\n\n"
        if call_headline == PPI:
            text += "From the audit's sample of calls:\n\n" + markdown_table(audit_table(details, "call")) + "\n\n"
        sections.append(text + f"![calls]({PLOTS['calls']})\n\n" + _markdown(groups_table(calls, call_headline)))
    elif len(details):
        sections.append("## Calls with at least one violation\n\nThe audit samples utterances, which cannot "
                        "tell whether a call's other utterances hold a violation: for the share of calls, audit a "
                        "sample of calls (`collectguard audit-sample --unit call`).")
    assumptions = AUDIT_ASSUMPTIONS if len(details) else ""
    if model_based:
        assumptions += ("\n" if assumptions else "") + ASSUMPTIONS.format(source=context["error rates from"])
    sections += ["## Assumptions\n\n" + assumptions, "## Flags\n\n" + FLAGS,
                 "## Clipping\n\n" + clipping_notes(prevalence, calls, headline)]
    return "\n\n".join(sections) + "\n"


def _errorbars(ax, part: pd.DataFrame, positions, **style) -> None:
    if not len(part):
        return
    low, high = part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]
    ax.errorbar(part["estimate"], positions, xerr=[low.fillna(0).clip(lower=0), high.fillna(0).clip(lower=0)],
                fmt="o", capsize=3, **style)


def plot_methods(prevalence: pd.DataFrame, path: Path, headline_method: str = HEADLINE) -> None:
    """Whole corpus: every method's estimate and interval (the headline in red), one panel per label."""
    part = prevalence[prevalence["group"] == ALL]
    fig = new_figure(figsize=(3 * len(LABELS), 3.2), layout="constrained")
    for ax, label in zip(fig.subplots(1, len(LABELS), sharey=True), LABELS, strict=True):
        rows = part[part["label"] == label].reset_index(drop=True)
        headline = (rows["method"] == headline_method).to_numpy()
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
    for ax, label in zip(fig.subplots(1, len(LABELS), sharey=True), LABELS, strict=True):
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


def write_outputs(out_dir: Path, result) -> None:
    """Every file of the report directory for a :class:`PrevalenceResult`. Group names are values of
    the input's columns (``--by``), so personal data in them is masked like every text that leaves
    the scorer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prevalence, calls, details = result.utterances, result.calls, result.audit
    prevalence = prevalence.assign(group=prevalence["group"].map(lambda g: mask_pii(str(g))))
    calls = calls.assign(group=calls["group"].map(lambda g: mask_pii(str(g)))) if len(calls) else calls
    headline = result.headline_method
    prevalence.to_csv(out_dir / "prevalence.csv", index=False)
    calls.to_csv(out_dir / "calls.csv", index=False)
    if len(details):
        details.to_csv(out_dir / "audit.csv", index=False)
    plot_methods(prevalence, out_dir / PLOTS["methods"], headline)
    if set(prevalence["group"]) != {ALL}:
        plot_groups(prevalence, headline, out_dir / PLOTS["groups"])
    call_headline = PPI if len(details) and PPI in set(calls.get("method", [])) else CALL_HEADLINE
    if len(calls) and call_headline in set(calls["method"]):
        plot_groups(calls, call_headline, out_dir / PLOTS["calls"])
    (out_dir / "report.md").write_text(markdown_report(prevalence, calls, result.context, details), encoding="utf-8")
