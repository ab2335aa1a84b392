"""The ``collectguard`` command: ``collectguard SUBCOMMAND [options]``.

Each subcommand is a module with ``main(argv) -> int``, imported only when it runs (so that
``collectguard validate`` does not pay for importing torch). The exit status means the same for all:
0 done; 1 done, and what the command checks failed (``validate`` found errors, ``compare --gate``
refused the candidate); 2 the input or options are wrong (one line on stderr says which file, line
or key); 130 interrupted.
"""
from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

SUBCOMMANDS = {
    "validate": ("collectguard.training.validate", "check labelled data files and print their distributions"),
    "split": ("collectguard.training.splits", "build data/splits from the authored batches"),
    "agreement": ("collectguard.training.agreement", "draw a sample for a second annotator and compute Cohen's kappa"),
    "apply-review": ("collectguard.training.review", "apply adjudicated label/text changes to the authored batches"),
    "background": ("collectguard.training.background",
                   "sample real Chinese text as compliant training rows (background negatives)"),
    "train": ("collectguard.training.train", "train a model directory from a YAML config"),
    "pretrain": ("collectguard.training.pretrain",
                 "masked-language-model pretraining: domain adaptation of a model, or from scratch"),
    "evaluate": ("collectguard.training.evaluate",
                 "evaluate a model directory: metrics with CIs, slices, robustness, false alarms, report"),
    "pii-eval": ("collectguard.training.pii_eval", "measure PII masking on the PII test set: recall, over-masking"),
    "select": ("collectguard.training.select", "choose the next rows to label from scored utterances"),
    "export-tasks": ("collectguard.training.export_tasks", "write a Label Studio labelling config and tasks"),
    "import-annotations": ("collectguard.training.import_annotations",
                           "read a Label Studio export into labelled rows; merge annotators, report agreement"),
    "find-label-errors": ("collectguard.training.label_errors",
                          "rank rows whose label is probably wrong (cross-validated baseline + cleanlab)"),
    "select-sim": ("collectguard.training.select_sim", "simulate selection strategies against random on labelled data"),
    "compare": ("collectguard.training.compare",
                "release gate: a candidate model against the reference, paired bootstrap, exit 1 if worse"),
    "score": ("collectguard.inference.score_cli", "score utterance tables (CSV/TSV/JSONL/Parquet); per-call summary"),
    "prevalence": ("collectguard.inference.prevalence.cli",
                   "share of utterances and calls with each violation (PPI from an audit; model-corrected), with CIs"),
    "audit-sample": ("collectguard.inference.prevalence.sample_cli",
                     "draw a probability sample of a scored corpus for people to label (prevalence --audit)"),
    "audit-plan": ("collectguard.inference.prevalence.plan_cli",
                   "how many rows to label for a target interval half-width, per label"),
    "prevalence-sim": ("collectguard.inference.prevalence.sim",
                       "simulate corpora of known prevalence: bias and CI coverage of each method"),
    "export": ("collectguard.inference.export",
               "export a model directory to ONNX (optionally int8) for fast CPU scoring"),
    "make-shaped-model": ("collectguard.training.make_shaped_model",
                          "build an UNTRAINED bert-base/rbt3-shaped model, for speed measurement only"),
}
EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """Input or options that a command cannot work with; the message names the file, line or key."""


def usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in SUBCOMMANDS.items()]
    return ("usage: collectguard [--version] SUBCOMMAND [options]\n\nsubcommands:\n" + "\n".join(lines)
            + "\n\nexit status: 0 done, 1 a check failed, 2 bad input or options, 130 interrupted")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        from collectguard import __version__

        print(f"collectguard {__version__}")
        return EXIT_OK
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return EXIT_OK
    if argv[0] not in SUBCOMMANDS:
        print(usage() + f"\n\ncollectguard: unknown subcommand {argv[0]!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    name = argv[0]
    try:
        return importlib.import_module(SUBCOMMANDS[name][0]).main(argv[1:])
    except KeyboardInterrupt:
        print(f"\ncollectguard {name}: interrupted; {resume_hint(name)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as exc:  # every input error of the project is a ValueError subclass
        print(f"collectguard {name}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def resume_hint(name: str) -> str:
    if name == "score":
        return "run the same command with --resume to continue where it stopped"
    if name == "pretrain":
        return "run the same command with --resume to continue from the last checkpoint"
    return "nothing was written"


if __name__ == "__main__":
    sys.exit(main())
