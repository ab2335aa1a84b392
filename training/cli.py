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
    "train": ("training.train", "train a model directory from a YAML config"),
    "evaluate": ("training.evaluate", "evaluate a model directory: metrics with CIs, slices, robustness, report"),
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
