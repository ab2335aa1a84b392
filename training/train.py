"""``collectguard train --config training/configs/NAME.yaml [--set key=value ...] --out DIR [--overwrite]``.

The model is trained, its thresholds tuned on dev and its test split measured in memory; the model
directory is written once, into a fresh folder beside ``DIR`` that replaces ``DIR`` only when
everything succeeded. A failed run leaves nothing behind, and no file of an earlier model survives
in ``DIR`` (a stale ``model.onnx`` or another kind's weights).
"""
from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS, to_multi_hot
from collectguard.inference.modeldir import (
    METRICS_FILE,
    TFIDF_LOGREG,
    TRANSFORMER,
    ModelMetadata,
    write_heldout,
    write_json,
)
from collectguard.inference.textio import sha256_of

from .config import Config, ConfigError, config_help, load_config
from .data import expand, split_rows, to_dataset
from .metrics import multilabel_metrics, tune_thresholds
from .model_card import model_card

logger = logging.getLogger(__name__)


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
    truth = np.array([to_multi_hot(r.labels) for r in rows], dtype=int).reshape(-1, len(VIOLATIONS))
    return truth, classifier.predict_proba([r.text for r in rows])


def fit(config: Config, train_rows, dev_rows, workdir: Path, quiet: bool) -> tuple[object, dict]:
    """The trained scorer (in memory) and facts for the model card."""
    train = to_dataset(train_rows, config.normalization, config.data.background_weight)
    if config.model.kind == TRANSFORMER:
        from .fit_transformer import fit_transformer

        return fit_transformer(config, train, to_dataset(dev_rows, config.normalization), workdir, quiet)
    from .fit_baseline import fit_baseline

    return fit_baseline(config, train), {"precision": "fp64"}


def data_hashes(config: Config) -> dict[str, list[dict]]:
    """Path and SHA-256 of every file of each split."""
    return {key: [{"path": str(p), "sha256": sha256_of(p)} for p in expand(patterns)]
            for key, patterns in (("train", config.data.train), ("dev", config.data.dev),
                                  ("test", [config.data.test]))}


def build_classifier(config: Config, output_dir: Path, quiet: bool = False) -> tuple[Classifier, dict]:
    """Train, tune thresholds on dev, measure on test and write the whole model directory into
    ``output_dir`` (which must be new). Returns the classifier and its ``metrics.json`` content."""
    splits = split_rows(config.data)
    train_rows = splits["train"]
    if config.training.augment:  # only the train split; dev and test are never augmented
        from .perturb import augment_rows

        train_rows = augment_rows(train_rows, config.training.seed)
    started = time.perf_counter()
    scorer, facts = fit(config, train_rows, splits["dev"], output_dir / "work", quiet)
    facts.update(train_seconds=time.perf_counter() - started, code_version=code_version(),
                 rows={name: len(rows) for name, rows in splits.items()}, train_rows=len(train_rows),
                 train_rows_by_source=dict(Counter(r.source for r in train_rows)))
    metadata = ModelMetadata(kind=TRANSFORMER if config.model.kind == TRANSFORMER else TFIDF_LOGREG,
                             normalization=config.normalization, max_length=config.model.max_length,
                             window_stride=config.model.window_stride, code_version=facts["code_version"])
    classifier = Classifier(scorer, dict.fromkeys(VIOLATIONS, 0.5), metadata)
    dev_truth, dev_probs = evaluate_rows(classifier, splits["dev"])
    thresholds = tune_thresholds(dev_truth, dev_probs)
    classifier.thresholds = np.array([thresholds[v] for v in VIOLATIONS], dtype=np.float32)
    test_truth, test_probs = evaluate_rows(classifier, splits["test"])
    metrics = {
        "dev": multilabel_metrics(dev_truth, classifier.decide(dev_probs), dev_probs),
        "test": multilabel_metrics(test_truth, classifier.decide(test_probs), test_probs),
        "thresholds": thresholds, "training": facts,
    }
    shutil.rmtree(output_dir / "work", ignore_errors=True)
    classifier.save_pretrained(output_dir)
    write_json(output_dir / METRICS_FILE, metrics)
    write_heldout(output_dir, [r.id for r in splits["test"]], test_truth, test_probs)
    resolved = config.to_dict()
    (output_dir / "training_config.yaml").write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False),
                                                     encoding="utf-8")
    hashes = data_hashes(config)
    write_json(output_dir / "data_hashes.json", hashes)
    (output_dir / "README.md").write_text(model_card(resolved, metrics, thresholds, hashes, facts), encoding="utf-8")
    return classifier, metrics


def train_model(config: Config, output_dir: str | Path, quiet: bool = False, overwrite: bool = False) -> dict:
    """Train the configured model into ``output_dir`` and return its ``metrics.json`` content.

    ``output_dir`` must be absent or empty unless ``overwrite``; it is replaced only on success."""
    output_dir = Path(output_dir)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())) and not overwrite:
        raise ConfigError(f"--out {output_dir}: already exists and is not empty; pass --overwrite to replace it")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.training-", dir=output_dir.parent))
    try:
        _, metrics = build_classifier(config, fresh, quiet)
        if output_dir.exists():
            shutil.rmtree(output_dir) if output_dir.is_dir() else output_dir.unlink()
        fresh.rename(output_dir)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return metrics


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectguard train", description=__doc__.split("\n\n")[0],
                                     epilog=config_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML file, e.g. training/configs/baseline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.epochs=3 (repeatable)")
    parser.add_argument("--out", required=True, type=Path, help="model directory to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists (only on success)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config, args.set)
    metrics = train_model(config, args.out, args.quiet, args.overwrite)
    test = metrics["test"]
    print(f"wrote {args.out}: test macro-F1 {test['macro_f1']:.3f}, any-violation F1 "
          f"{test['any_violation']['f1']:.3f}, " + ", ".join(
              f"{k} F1 {v['f1']:.3f}" for k, v in test["per_label"].items())
          + f"; trained in {metrics['training']['train_seconds']:.1f} s")
    return 0
