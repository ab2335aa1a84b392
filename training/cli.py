"""The ``collectguard`` command: ``collectguard SUBCOMMAND [options]``.

Each subcommand is a module with ``main(argv) -> int``, imported only when it runs, so that
``collectguard validate`` does not pay for importing torch.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = {
    "validate": ("training.validate", "check labelled data files and print their distributions"),
    "split": ("training.splits", "build data/splits from the authored batches"),
    "agreement": ("training.agreement", "draw a sample for a second annotator and compute Cohen's kappa"),
    "apply-review": ("training.review", "apply adjudicated label/text changes to the authored batches"),
    "train": ("training.train", "train a model directory from a YAML config"),
    "score": ("inference.score_cli", "score utterance tables (CSV/TSV/JSONL/Parquet); per-call summary"),
    "evaluate": ("training.evaluate", "evaluate a model directory: metrics with CIs, slices, robustness, report"),
    "prevalence": ("training.prevalence_cli", "share of utterances and calls with each violation, error-corrected, with CIs"),
    "prevalence-sim": ("training.prevalence_sim", "simulate corpora of known prevalence: bias and CI coverage of each method"),
    "export": ("inference.export", "export a model directory to ONNX (optionally int8) for fast CPU scoring"),
    "make-shaped-model": ("training.make_shaped_model",
                          "build an UNTRAINED bert-base/rbt3-shaped model, for speed measurement only"),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        width = max(map(len, SUBCOMMANDS))
        lines = [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in SUBCOMMANDS.items()]
        print("usage: collectguard SUBCOMMAND [options]\n\nsubcommands:\n" + "\n".join(lines))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\ncollectguard: unknown subcommand {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
