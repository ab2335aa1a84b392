"""Readable output of ``collectguard evaluate``: tables, ``report.md`` and PNG plots from the metrics dict.

The ``*_table`` functions turn one section of the metrics (the content of ``metrics.json``) into a
pandas DataFrame; ``report.md`` is made of them, and notebooks display them directly. Plots use
matplotlib's object-oriented API (no pyplot state, no display needed).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.reporting import markdown_table, new_figure

PLOTS = {"reliability": "reliability.png", "thresholds": "threshold_f1.png", "slices": "slices.png",
         "robustness": "robustness.png"}


def per_label_table(overall: dict) -> pd.DataFrame:
    """Per label precision, recall and F1 with their 95 % CIs, support, ROC-AUC and PR-AUC."""
    keys = ("precision", "precision_ci", "recall", "recall_ci", "f1", "f1_ci", "support", "roc_auc", "pr_auc")
    return pd.DataFrame.from_dict({label: {key: m.get(key) for key in keys} for label, m in overall["per_label"].items()},
                                  orient="index")


def summary_table(overall: dict) -> pd.DataFrame:
    """Macro and micro F1, the any-violation decision (violation vs compliant) and exact match."""
    anyv = overall["any_violation"]
    rows = [("macro F1", overall["macro_f1"], overall.get("macro_f1_ci")),
            ("micro F1", overall["micro_f1"], overall.get("micro_f1_ci")),
            ("any-violation precision", anyv["precision"], anyv.get("precision_ci")),
            ("any-violation recall", anyv["recall"], anyv.get("recall_ci")),
            ("any-violation F1", anyv["f1"], anyv.get("f1_ci")),
            ("any-violation ROC-AUC", anyv.get("roc_auc"), None), ("any-violation PR-AUC", anyv.get("pr_auc"), None),
            ("exact match", overall["exact_match"], overall.get("exact_match_ci"))]
    return pd.DataFrame(rows, columns=["metric", "value", "95% CI"]).set_index("metric")


def confusion_table(overall: dict) -> pd.DataFrame:
    return pd.DataFrame({label: {k: m[k] for k in ("tp", "fp", "fn", "tn")}
                         for label, m in overall["per_label"].items()}).T


def cooccurrence_table(metrics: dict) -> pd.DataFrame:
    """True label (rows) against predicted label (columns), compliant included."""
    table = pd.DataFrame.from_dict(metrics["confusion"]["cooccurrence"], orient="index")
    return table.rename_axis(index="true \\ predicted")


def calibration_table(metrics: dict) -> pd.DataFrame:
    return pd.DataFrame({label: {"ECE": c["ece"]} for label, c in metrics["calibration"].items()}).T


def threshold_table(metrics: dict) -> pd.DataFrame:
    """Per label: stored threshold, F1 there, and F1 at 0.1 ... 0.9."""
    return pd.DataFrame({label: {"stored": t["stored"], "F1 at stored": t["f1_at_stored"], **t["f1_by_threshold"]}
                         for label, t in metrics["thresholds"].items()}).T


def slices_table(metrics: dict) -> pd.DataFrame:
    """One row per slice value (style, script, speaker, length bucket)."""
    rows = [{"slice": column, "value": value, **summary}
            for column, values in metrics["slices"].items() for value, summary in values.items()]
    return pd.DataFrame(rows).set_index(["slice", "value"])


def worst_slices(metrics: dict, n: int = 5, by: str = "macro_f1") -> pd.DataFrame:
    """The ``n`` slices with the lowest ``by`` (slices where it is undefined last)."""
    return slices_table(metrics).sort_values(by, na_position="last").head(n)


def error_examples(errors: pd.DataFrame, label: str, kind: str, n: int = 5) -> pd.DataFrame:
    """From the errors table: the ``n`` most confident ``kind`` errors of ``label`` — false positives
    (``"fp"``) with the highest probability, false negatives (``"fn"``) with the lowest."""
    chosen = errors[errors[f"error_{label}"] == kind].sort_values(f"prob_{label}", ascending=kind == "fn")
    return chosen[["id", "text", "true_labels", "pred_labels", f"prob_{label}", "style", "speaker"]].head(n)


def robustness_table(metrics: dict) -> pd.DataFrame:
    overall = metrics["overall"]
    base = {"macro_f1": overall["macro_f1"], "any_violation_f1": overall["any_violation"]["f1"],
            "macro_f1_drop": 0.0, "any_violation_f1_drop": 0.0, "texts_changed": 0.0, "decisions_changed": 0.0}
    return pd.DataFrame({"(unperturbed)": base, **metrics["robustness"]}).T


def false_alarm_table(metrics: dict) -> pd.DataFrame:
    """Per false-alarm file: flagged share with CI, per label, and the precision at the assumed base
    rate; for COLD also its anti-bias rows and the insult rate of rows attacking an individual."""
    rows = {}
    for fa in metrics["false_alarm"]:
        name = Path(fa["path"]).name + (f" ({fa['kind']})" if fa["kind"] != "all texts" else "")
        rows[name] = {"n": fa["n"], "flagged": fa["any_violation_rate"], "95% CI": fa["any_violation_rate_ci"],
                      **{label: fa["per_label_rate"][label] for label in VIOLATIONS},
                      f"precision at {fa['assumed_prevalence']:g} prevalence": fa["precision_at_prevalence"]}
        if "anti_bias" in fa:
            rows[name + " anti-bias rows"] = {"n": fa["anti_bias"]["n"], "flagged": fa["anti_bias"]["any_violation_rate"],
                                              "95% CI": fa["anti_bias"]["any_violation_rate_ci"]}
            rows[name + " attacks on an individual (insult recall, indicative)"] = {
                "n": fa["individual_attack"]["n"], "insult": fa["individual_attack"]["insult_rate"]}
    return pd.DataFrame.from_dict(rows, orient="index")


def top_flagged_table(fa: dict) -> pd.DataFrame:
    """The most confidently flagged texts of one false-alarm file (personal data masked)."""
    return pd.DataFrame(fa["top_flagged"], columns=["max_prob", "labels", "text"]).rename_axis("rank")


def comparison_table(metrics: dict) -> pd.DataFrame:
    """Both models' metrics and the paired-bootstrap difference (model - compare)."""
    a, b = metrics["overall"], metrics["compare"]["metrics"]

    def value(m, name):
        group, _, key = name.rpartition(".")
        return m[key] if not group else (m["any_violation"][key] if group == "any_violation" else m["per_label"][group][key])

    return pd.DataFrame({name: {"model": value(a, name), "compare": value(b, name), "difference": d["difference"],
                                "95% CI": d["ci"], "p-value": d["p_value"]}
                         for name, d in metrics["compare"]["paired"].items()}).T


def markdown_report(metrics: dict) -> str:
    overall, b = metrics["overall"], metrics["bootstrap"]
    sections = [
        f"# Evaluation of `{metrics['model']}`\n\nData: {', '.join(f'`{p}`' for p in metrics['data'])} "
        f"({metrics['n']} rows). Intervals: {b['level']:.0%} percentile bootstrap over rows "
        f"({b['resamples']} resamples, seed {b['seed']}). Model input normalisation: "
        f"`{metrics.get('normalization')}`. Personal data in `errors.csv`: "
        f"{'not masked (--no-mask, internal use)' if metrics.get('pii_masking') == 'off' else 'masked'}.",
        "## Summary\n\nThe any-violation decision: a row is a violation if any label is predicted; its score "
        "is the highest label probability.\n\n" + markdown_table(summary_table(overall)),
        "## Per label\n\n" + markdown_table(per_label_table(overall)),
        "## Confusion\n\nPer label counts:\n\n" + markdown_table(confusion_table(overall)) +
        "\n\nTrue label (rows) against predicted label (columns), counting every pair of a row's true and "
        "predicted labels (`compliant` when none):\n\n" + markdown_table(cooccurrence_table(metrics)),
        "## Calibration\n\nExpected calibration error (10 equal-width bins): the row-weighted gap between "
        "mean probability and share of positives.\n\n" + markdown_table(calibration_table(metrics)) +
        f"\n\n![reliability diagrams]({PLOTS['reliability']})",
        "## Thresholds\n\nStored thresholds (tuned on dev) and F1 at fixed thresholds.\n\n"
        + markdown_table(threshold_table(metrics)) + f"\n\n![F1 by threshold]({PLOTS['thresholds']})",
        "## Slices\n\nMacro-F1 averages the labels that occur in the slice's truth; F1 is undefined (–) in "
        "a slice without violations. `false_alarm_rate`: share of the slice's compliant rows flagged.\n\n"
        + markdown_table(slices_table(metrics)) + f"\n\n![slices]({PLOTS['slices']})",
        "## Robustness\n\nThe same rows perturbed (labels unchanged); drop = unperturbed - perturbed.\n\n"
        + markdown_table(robustness_table(metrics)) + f"\n\n![robustness]({PLOTS['robustness']})",
    ]
    if "false_alarm" in metrics:
        sections.append("## Real text: false alarms\n\nEach file holds real text with no violation (for COLD: its "
                        "safe rows), so every flag there is a false alarm. `precision at p prevalence`: the share "
                        "of flags that would be violations if p of utterances violated, from this file's "
                        "flagged share and the any-violation recall above.\n\n"
                        + markdown_table(false_alarm_table(metrics)))
        sections += [f"### Most confident false alarms: `{Path(fa['path']).name}`\n\n"
                     + markdown_table(top_flagged_table(fa)) for fa in metrics["false_alarm"] if fa["top_flagged"]]
    if "compare" in metrics:
        sections.append(f"## Comparison with `{metrics['compare']['model']}`\n\nSame rows; difference = model - "
                        "compare, paired bootstrap (same resampled rows for both); p-value: twice the share of "
                        "resamples where the difference changes sign, capped at 1.\n\n"
                        + markdown_table(comparison_table(metrics)))
    return "\n\n".join(sections) + "\n"


def plot_reliability(metrics: dict, path: Path) -> None:
    fig = new_figure(figsize=(9, 8))
    for k, (label, c) in enumerate(metrics["calibration"].items()):
        ax = fig.add_subplot(2, 2, k + 1)
        bins = [b for b in c["bins"] if b["count"]]
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["positive_rate"] for b in bins], width=0.09,
               alpha=0.35, label="share positive")
        ax.plot([b["mean_prob"] for b in bins], [b["positive_rate"] for b in bins], "o-", label="mean prob vs share")
        for b in bins:
            ax.annotate(str(b["count"]), ((b["low"] + b["high"]) / 2, 0.02), ha="center", fontsize=7)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{label} (ECE {c['ece']:.3f})", xlabel="predicted probability",
               ylabel="share positive")
    fig.axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_thresholds(metrics: dict, path: Path) -> None:
    fig = new_figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for label, t in metrics["thresholds"].items():
        line, = ax.plot([float(x) for x in t["f1_by_threshold"]], list(t["f1_by_threshold"].values()), "o-", label=label)
        ax.plot([t["stored"]], [t["f1_at_stored"]], "*", ms=14, color=line.get_color())
    ax.set(xlabel="threshold", ylabel="F1", ylim=(0, 1.02), title="F1 by threshold (star: stored threshold)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _grouped_bars(ax, frame: pd.DataFrame, columns: list[str]) -> None:
    width = 0.8 / len(columns)
    for i, column in enumerate(columns):
        ax.bar([x + i * width for x in range(len(frame))], frame[column].astype(float).fillna(0), width, label=column)
    ax.set_xticks([x + width * (len(columns) - 1) / 2 for x in range(len(frame))], frame.index, rotation=20, fontsize=8)
    ax.set_ylim(0, 1.05)


def plot_slices(metrics: dict, path: Path) -> None:
    fig = new_figure(figsize=(12, 7))
    for k, (column, values) in enumerate(metrics["slices"].items()):
        ax = fig.add_subplot(2, 2, k + 1)
        frame = pd.DataFrame(values).T
        frame.index = [f"{v}\n(n={int(n)})" for v, n in zip(frame.index, frame["n"])]
        _grouped_bars(ax, frame, ["macro_f1", "any_violation_f1", "false_alarm_rate"])
        ax.set_title(column)
    fig.axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_robustness(metrics: dict, path: Path) -> None:
    fig = new_figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    _grouped_bars(ax, robustness_table(metrics), ["macro_f1", "any_violation_f1"])
    ax.set(title="F1 on perturbed copies of the data", ylabel="F1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(metrics: dict, out_dir: Path) -> None:
    """``report.md`` and the four plots in ``out_dir``."""
    out_dir = Path(out_dir)
    for name, plot in (("reliability", plot_reliability), ("thresholds", plot_thresholds), ("slices", plot_slices),
                       ("robustness", plot_robustness)):
        plot(metrics, out_dir / PLOTS[name])
    (out_dir / "report.md").write_text(markdown_report(metrics), encoding="utf-8")
