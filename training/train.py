"""``collectguard train --config training/configs/NAME.yaml [--set key=value ...] --output DIR``."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from inference.classifier import Classifier
from inference.labels import to_multi_hot
from inference.modeldir import (METADATA_FILE, METRICS_FILE, THRESHOLDS_FILE, TFIDF_LOGREG, TRANSFORMER,
                                ModelMetadata, write_heldout, write_json)
from inference.records import load_labelled

from .base_model import BaseModelNotFound
from .config import Config, ConfigError, load_config
from .metrics import multilabel_metrics, tune_thresholds
from .model_card import model_card
from .splits import sha256_of


def code_version() -> str:
    """``git describe`` of the checkout, or the package version outside a checkout."""
    from importlib.metadata import version

    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                                   cwd=Path(__file__).parent, timeout=10)
        if described.returncode == 0:
            return f"{version('collectguard')}+{described.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return version("collectguard")


def evaluate_rows(classifier: Classifier, rows) -> tuple[np.ndarray, np.ndarray]:
    """Truth and probabilities of ``rows`` through the shipping prediction path."""
    truth = np.array([to_multi_hot(r.labels) for r in rows], dtype=int)
    return truth, classifier.predict_proba([r.text for r in rows])


def train_model(config: Config, output_dir: Path, quiet: bool = False) -> dict:
    """Train the configured model into ``output_dir`` and return its ``metrics.json`` content."""
    splits = {name: load_labelled(getattr(config.data, name)) for name in ("train", "dev", "test")}
    train_rows = splits["train"]
    if config.training.augment:  # only the train split; dev and test are never augmented
        from .perturb import augment_rows

        train_rows = augment_rows(train_rows, config.training.seed)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if config.model.kind == TRANSFORMER:
        from .fit_transformer import fit_transformer

        facts = fit_transformer(config, train_rows, splits["dev"], output_dir, quiet)
    else:
        from .fit_baseline import fit_baseline

        fit_baseline(config, train_rows).save(output_dir)
        facts = {"precision": "fp64"}
    facts.update(train_seconds=time.perf_counter() - started, code_version=code_version(),
                 rows={name: len(rows) for name, rows in splits.items()}, train_rows=len(train_rows))
    metadata = ModelMetadata(kind=config.model.kind if config.model.kind == TRANSFORMER else TFIDF_LOGREG,
                             normalization=config.normalization, max_length=config.model.max_length,
                             window_stride=config.model.window_stride, code_version=facts["code_version"])
    write_json(output_dir / METADATA_FILE, metadata.to_dict())
    write_json(output_dir / THRESHOLDS_FILE, {label: 0.5 for label in metadata.labels})
    classifier = Classifier.load(output_dir)
    dev_truth, dev_probs = evaluate_rows(classifier, splits["dev"])
    thresholds = tune_thresholds(dev_truth, dev_probs)
    write_json(output_dir / THRESHOLDS_FILE, thresholds)
    classifier = Classifier.load(output_dir)
    test_truth, test_probs = evaluate_rows(classifier, splits["test"])
    metrics = {
        "dev": multilabel_metrics(dev_truth, classifier.decide(dev_probs), dev_probs),
        "test": multilabel_metrics(test_truth, classifier.decide(test_probs), test_probs),
        "thresholds": thresholds, "training": facts,
    }
    write_json(output_dir / METRICS_FILE, metrics)
    write_heldout(output_dir, [r.id for r in splits["test"]], test_truth, test_probs)
    resolved = config.to_dict()
    (output_dir / "training_config.yaml").write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False),
                                                     encoding="utf-8")
    hashes = {name: (getattr(config.data, name), sha256_of(Path(getattr(config.data, name))))
              for name in ("train", "dev", "test")}
    write_json(output_dir / "data_hashes.json", {name: {"path": p, "sha256": h} for name, (p, h) in hashes.items()})
    (output_dir / "README.md").write_text(model_card(resolved, metrics, thresholds, hashes, facts), encoding="utf-8")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collectguard train", description=__doc__)
    parser.add_argument("--config", required=True, help="YAML file, e.g. training/configs/baseline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.epochs=3 (repeatable)")
    parser.add_argument("--output", required=True, type=Path, help="model directory to write")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.set)
        metrics = train_model(config, args.output, args.quiet)
    except (ConfigError, BaseModelNotFound) as exc:
        print(f"collectguard train: {exc}", file=sys.stderr)
        return 2
    test = metrics["test"]
    print(f"wrote {args.output}: test macro-F1 {test['macro_f1']:.3f}, any-violation F1 "
          f"{test['any_violation']['f1']:.3f}, " + ", ".join(
              f"{k} F1 {v['f1']:.3f}" for k, v in test["per_label"].items())
          + f"; trained in {metrics['training']['train_seconds']:.1f} s")
    return 0
