"""``collectguard compare --candidate NEW --reference OLD --data FILE... [--false-alarm-data FILE...] [--gate]``:
the release gate of a retrained model.

Both models score the same labelled rows (``--data``) and the same texts that must not be flagged
(``--false-alarm-data``: the compliant rows of labelled files, or the safe rows, ``label`` 0, of a
COLD-style CSV). The table puts each metric side by side with the difference (candidate - reference),
its paired-bootstrap interval (both models on the same resampled rows) and p-value.

With ``--gate`` the exit status is 1 when the candidate is worse beyond noise on any gated metric:
macro-F1 or a label's recall lower (the whole interval below 0), or a false-alarm rate higher (the
whole interval above 0). The intervals of the gated metrics are Bonferroni-corrected, each at level
``1 - (1 - LEVEL) / m`` for m gated metrics, so that a candidate exactly as good as the reference
fails the gate with a chance of at most ``1 - LEVEL`` (5 %). The other metrics are shown at ``LEVEL``
and never fail the gate. ``--out`` writes ``comparison.json``, ``comparison.md`` and ``comparison.png``
for a CI job's artefacts.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from collectguard.inference.bootstrap import LEVEL, metric_samples, paired_bootstrap, paired_rate_difference
from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import METRICS_FILE, model_fingerprint, read_json
from collectguard.inference.records import load_labelled
from collectguard.inference.reporting import markdown_table, new_figure
from collectguard.inference.tables import INPUT_FORMATS, read_columns

from .data import label_matrix
from .evaluate import jsonable
from .false_alarms import read_texts

GATED = ("macro_f1", *(f"{label}.recall" for label in VIOLATIONS))
SHOWN = ("any_violation.f1", "any_violation.precision", "any_violation.recall",
         *(f"{label}.{m}" for label in VIOLATIONS for m in ("precision", "f1")), "exact_match")


@dataclass
class Check:
    metric: str
    reference: float
    candidate: float
    difference: float
    ci: list[float]
    p_value: float
    gated: bool
    worse: bool  # beyond noise, in the direction that fails the gate

    def row(self) -> dict:
        verdict = ("FAIL: worse" if self.worse else "pass") if self.gated else ""
        return {"metric": self.metric, "reference": round(self.reference, 4), "candidate": round(self.candidate, 4),
                "difference": f"{self.difference:+.4f}", "interval": f"[{self.ci[0]:+.4f}, {self.ci[1]:+.4f}]",
                "p": round(self.p_value, 4), "gate": verdict}


def false_alarm_texts(path: Path) -> list[str]:
    """Texts that must not be flagged: the compliant rows of a labelled file, or what ``evaluate``
    reads from ``--false-alarm-data`` (plain text, a table column, COLD's safe rows)."""
    if path.suffix.lower() in INPUT_FORMATS and "labels" in read_columns(path):
        return [r.text for r in load_labelled(path) if not r.labels]
    path, _, texts, cold = read_texts(str(path))
    return texts if cold is None else cold.loc[cold["label"].astype(int) == 0, "TEXT"].tolist()


def compare(candidate_dir, reference_dir, data: Sequence, false_alarm_data: Sequence = (), n_bootstrap: int = 2000,
            seed: int = 13, level: float = LEVEL) -> dict:
    """The comparison as a dict: models, rows, and one check per metric (see the module docstring)."""
    candidate, reference = Classifier.from_pretrained(candidate_dir), Classifier.from_pretrained(reference_dir)
    rows = load_labelled(*data)
    if not rows:
        raise ValueError(f"--data {', '.join(map(str, data))}: no rows")
    texts, truth = [r.text for r in rows], label_matrix([r.labels for r in rows])
    decisions = {name: model.decide(model.predict_proba(texts)) for name, model in
                 (("candidate", candidate), ("reference", reference))}
    alarms = {str(path): false_alarm_texts(Path(path)) for path in false_alarm_data}
    gated_level = 1 - (1 - level) / (len(GATED) + len(alarms))
    checks = []
    for names, at, gated in ((GATED, gated_level, True), (SHOWN, level, False)):
        paired = paired_bootstrap(truth, decisions["candidate"], decisions["reference"], n_bootstrap, seed, at,
                                  metrics=names)
        for metric in names:
            result = paired[metric]
            reference_value = _point(truth, decisions["reference"], metric)
            checks.append(Check(metric, reference_value, reference_value + result["difference"], result["difference"],
                                result["ci"], result["p_value"], gated, gated and result["ci"][1] < 0))
    for path, alarm_texts in alarms.items():
        flags = {name: model.decide(model.predict_proba(alarm_texts)).any(axis=1)
                 for name, model in (("candidate", candidate), ("reference", reference))}
        result = paired_rate_difference(flags["candidate"], flags["reference"], n_bootstrap, seed, gated_level)
        checks.append(Check(f"false-alarm rate: {path} (n={len(alarm_texts)})", result["rate_b"], result["rate_a"],
                            result["difference"], result["ci"], result["p_value"], True, result["ci"][0] > 0))
    return {"candidate": _model_facts(candidate_dir), "reference": _model_facts(reference_dir),
            "data": [str(p) for p in data], "n": len(rows), "bootstrap": n_bootstrap, "seed": seed,
            "level": level, "gated_level": gated_level, "checks": [asdict(c) for c in checks],
            "failed": [c.metric for c in checks if c.worse]}


def _point(truth, decisions, metric: str) -> float:
    """A metric of ``decisions`` on all rows, computed as the bootstrap computes it."""
    return float(metric_samples(truth, decisions, np.ones((1, len(truth)), dtype=np.int64))[metric][0])


def _model_facts(model_dir) -> dict:
    """Path, fingerprint, name and parent of a model directory (from its metrics.json, when it has one)."""
    model_dir = Path(model_dir)
    training = read_json(model_dir, METRICS_FILE).get("training", {}) if (model_dir / METRICS_FILE).is_file() else {}
    parent = training.get("parent") or {}
    return {"path": str(model_dir), "fingerprint": model_fingerprint(model_dir),
            "code_version": training.get("code_version", ""), "parent": parent.get("path"),
            "parent_fingerprint": parent.get("fingerprint")}


def report_markdown(result: dict) -> str:
    """The side-by-side table and the verdict."""
    candidate, reference = result["candidate"], result["reference"]
    if candidate["parent_fingerprint"] == reference["fingerprint"]:
        lineage = "the reference is the candidate's parent"
    else:
        lineage = (f"the candidate's parent is {candidate['parent']}, not the reference" if candidate["parent"]
                   else "the candidate records no parent")
    table = pd.DataFrame([Check(**c).row() for c in result["checks"]]).set_index("metric")
    verdict = (f"**FAIL**: worse beyond noise on {', '.join(result['failed'])}" if result["failed"]
               else "**PASS**: not worse beyond noise on any gated metric")
    return (f"# Candidate `{candidate['path']}` vs reference `{reference['path']}`\n\n"
            f"{result['n']} labelled rows ({', '.join(result['data'])}); {lineage}. Paired bootstrap, "
            f"{result['bootstrap']} resamples; intervals of gated metrics at {result['gated_level']:.4f} "
            f"(Bonferroni over {sum(c['gated'] for c in result['checks'])}), others at {result['level']}.\n\n"
            f"{markdown_table(table)}\n\n{verdict}\n")


def plot_differences(result: dict, path: Path) -> Path:
    """The difference (candidate - reference) of each gated metric with its interval, red where the gate
    fails; for a false-alarm rate a positive difference is the worse direction."""
    checks = [c for c in result["checks"] if c["gated"]]
    fig = new_figure(figsize=(7, 0.45 * len(checks) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    for y, check in enumerate(reversed(checks)):
        low, high = check["ci"]
        color = "tab:red" if check["worse"] else "tab:blue"
        ax.errorbar(check["difference"], y, xerr=[[check["difference"] - low], [high - check["difference"]]],
                    fmt="o", color=color, capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(checks)), [c["metric"].split(" (n=")[0][-40:] for c in reversed(checks)])
    ax.set(xlabel="candidate - reference (paired bootstrap interval)", title="Release gate: red fails")
    fig.savefig(path, dpi=110)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard compare", description=__doc__.split("\n\n")[0],
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidate", required=True, type=Path, help="the new model directory")
    parser.add_argument("--reference", required=True, type=Path, help="the model in use")
    parser.add_argument("--data", required=True, nargs="+", type=Path, help="labelled files both are measured on")
    parser.add_argument("--false-alarm-data", nargs="*", type=Path, default=[],
                        help="labelled files (compliant rows used) or COLD-style CSVs (label 0 rows used)")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the candidate is worse beyond noise")
    parser.add_argument("--out", type=Path, help="folder for comparison.json and comparison.md")
    parser.add_argument("--bootstrap", type=int, default=2000, help="paired bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    if args.bootstrap < 100:
        parser.error("--bootstrap must be at least 100")
    result = compare(args.candidate, args.reference, args.data, args.false_alarm_data, args.bootstrap, args.seed)
    text = report_markdown(result)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "comparison.json").write_text(json.dumps(jsonable(result), ensure_ascii=False, indent=2) + "\n",
                                                  encoding="utf-8")
        (args.out / "comparison.md").write_text(text, encoding="utf-8")
        plot_differences(result, args.out / "comparison.png")
    return 1 if args.gate and result["failed"] else 0
