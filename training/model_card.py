"""The model card (``README.md`` of a model directory), written from what training measured."""
from __future__ import annotations

from collectguard.inference.labels import VIOLATIONS

NORMALISATION_WHY = (
    "NFKC, control-character removal and whitespace collapsing are always on. PII masking is on by "
    "default: numbers carry no signal about misconduct, masking keeps phone, ID and card numbers out of "
    "logs and evidence, and it lets masked (138****6721) and unmasked numbers look alike. "
    "Traditional-to-simplified conversion (OpenCC t2s) is on in every shipped config: on the dev split "
    "it raised the baseline's macro-F1 by about one point (docs/normalisation.md has the measurement)."
)


def _metric_rows(metrics: dict) -> list[str]:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label in VIOLATIONS:
        m = metrics["per_label"][label]
        rows.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    a = metrics["any_violation"]
    rows.append(f"| any violation | {a['precision']:.3f} | {a['recall']:.3f} | {a['f1']:.3f} | {a['support']} |")
    return rows


def _lineage(parent: dict | None, data_files: dict) -> list[str]:
    if not parent:
        return ["", "## Lineage", "Trained from scratch on the data below (no parent model)."]
    ours = {f["sha256"]: f["path"] for files in data_files.values() for f in files}
    added = [path for digest, path in ours.items() if digest not in set(parent["data_sha256"])]
    return ["", "## Lineage",
            f"Retrained from `{parent['path']}` ({parent['name'] or 'unnamed'}, code version "
            f"{parent['code_version'] or 'unknown'}, fingerprint `{parent['fingerprint'][:16]}`).",
            "Data files that the parent was not trained or measured on: "
            + (", ".join(f"`{path}`" for path in added) if added else "none (same files; see their hashes)") + "."]


def model_card(config: dict, metrics: dict, thresholds: dict, data_files: dict, facts: dict) -> str:
    """The card; ``data_files`` is ``{split: [{"path", "sha256", "rows"}, ...]}`` and ``facts["parent"]``
    what ``train.parent_facts`` found of the parent model (or None)."""
    base = config["model"]["base_model"] if config["model"]["kind"] == "transformer" else "none"
    warning = ""
    if config["model"]["kind"] == "transformer" and base == "tiny":
        warning = ("\n> **Not pretrained.** This model was built from a tiny randomly initialised BERT for tests "
                   "and smoke runs. Do not use it to judge real calls.\n")
    test = metrics["test"]
    lines = [
        "---", f"library_name: {'transformers' if config['model']['kind'] == 'transformer' else 'scikit-learn'}",
        "language: zh", "pipeline_tag: text-classification", "tags: [collectguard, debt-collection, multi-label]",
        "---", f"# collectguard model: {config['name']}", warning,
        "Multi-label classifier of debt-collection utterances: "
        + ", ".join(f"`{v}`" for v in VIOLATIONS) + "; an utterance with none of them is compliant.",
        "", "## Intended use",
        "Screening recorded collection calls, chats and SMS (Chinese, simplified and traditional) for likely "
        "misconduct, to be reviewed by people, and measuring its prevalence with error correction "
        "(`collectguard prevalence`). Not for automated decisions about individual agents or debtors "
        "without human review; not a legal judgement.",
        "", "## Model", f"- kind: `{config['model']['kind']}`; base model: `{base}`",
        f"- max length {config['model']['max_length']} tokens; longer texts are scored in overlapping windows "
        f"(stride {config['model']['window_stride']}) and the window probabilities combined by max",
        f"- training precision: {facts.get('precision', 'fp32')}; training time {facts['train_seconds']:.0f} s; "
        f"code version {facts['code_version']}",
        "", "## Normalisation", f"Settings: `{config['normalization']}`.", NORMALISATION_WHY,
        "", "## Data", "Trained on the collectguard dataset (authored for this project, not real calls; see "
        "`data/README.md`) and any rows added to it. Files, SHA-256 and rows:",
        *[f"- {split}: `{f['path']}`: `{f['sha256']}` ({f['rows']} rows)"
          for split, files in data_files.items() for f in files],
        "", "Training rows by source (`authored`: written for the project; any other: real text used as "
        f"compliant background negatives, sample weight {config['data']['background_weight']}): "
        + ", ".join(f"{source} {count}" for source, count in facts.get("train_rows_by_source", {}).items()) + ".",
        *_lineage(facts.get("parent"), data_files),
        "", "## Thresholds (tuned for F1 on dev)",
        "| label | threshold |", "|---|---|", *[f"| {k} | {v:.3f} |" for k, v in thresholds.items()],
        "", f"## Test-split metrics (n = {test['n']})", *_metric_rows(test),
        f"\nmacro-F1 {test['macro_f1']:.3f}, micro-F1 {test['micro_f1']:.3f}, exact match {test['exact_match']:.3f}.",
        "`collectguard evaluate` gives confidence intervals, slices, calibration and robustness.",
        "", "## Limits",
        "- The training data is written by annotators, not drawn from real calls: real ASR errors, dialects, "
        "and new collection tactics will differ; measure on a labelled sample of your own data before relying "
        "on the numbers above.",
        "- The model sees one utterance at a time: threats built over several turns are missed.",
        "- Probabilities are not guaranteed calibrated; use the thresholds, and `collectguard prevalence` for rates.",
    ]
    return "\n".join(lines) + "\n"
