"""``collectguard train --config training/configs/NAME.yaml [--set key=value ...] --out DIR [--overwrite]``.

The model is trained, its thresholds tuned on dev and its test split measured in memory; the model
directory is written once, into a fresh folder beside ``DIR`` that replaces ``DIR`` only when
everything succeeded. A failed run leaves nothing behind, and no file of an earlier model survives
in ``DIR`` (a stale ``model.onnx`` or another kind's weights).
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import (
    METRICS_FILE,
    TFIDF_LOGREG,
    TRANSFORMER,
    ModelMetadata,
    model_fingerprint,
    read_metadata,
    write_heldout,
    write_json,
)
from collectguard.inference.records import LabelledDataError

from .config import Config, ConfigError, config_help, data_files, load_config
from .data import label_matrix, load_labelled_dataset, provenance, rows_by_source, with_background
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


def predict_labelled(classifier: Classifier, texts: Sequence[str], labels: Sequence[Sequence[str]]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Truth (n, 4) and probabilities of labelled texts through the shipping prediction path."""
    return label_matrix(labels), classifier.predict_proba(list(texts))


def load_data(config: Config) -> dict[str, tuple[list[Path], object]]:
    """``{split: (files, datasets.Dataset)}`` for ``data.train``, ``data.dev`` and ``data.test``."""
    data = {}
    for name in ("train", "dev", "test"):
        files = data_files(getattr(config.data, name), f"data.{name}")
        try:
            data[name] = files, load_labelled_dataset(files, config.data.cache_dir or None)
        except LabelledDataError as exc:
            raise ConfigError(f"data.{name}: {exc}") from None
    return data


def fit(config: Config, train, dev, workdir: Path, quiet: bool) -> tuple[object, dict]:
    """The trained scorer (in memory) and facts for the model card."""
    if config.model.kind == TRANSFORMER:
        from .fit_transformer import fit_transformer

        return fit_transformer(config, train, dev, workdir, quiet)
    from .fit_baseline import fit_baseline

    return fit_baseline(config, train), {"precision": "fp64"}


def parent_facts(parent: str) -> dict | None:
    """What the model card records of the model this one was retrained from."""
    if not parent:
        return None
    parent_dir = Path(parent)
    config = yaml.safe_load((parent_dir / "training_config.yaml").read_text(encoding="utf-8")) \
        if (parent_dir / "training_config.yaml").is_file() else {}
    hashes = json.loads((parent_dir / "data_hashes.json").read_text(encoding="utf-8")) \
        if (parent_dir / "data_hashes.json").is_file() else {}
    return {"path": str(parent_dir), "name": config.get("name", ""), "fingerprint": model_fingerprint(parent_dir),
            "code_version": read_metadata(parent_dir).code_version,
            "data_sha256": sorted({f["sha256"] for files in hashes.values() for f in files})}


def build_classifier(config: Config, output_dir: Path, quiet: bool = False) -> tuple[Classifier, dict]:
    """Train, tune thresholds on dev, measure on test and write the whole model directory into
    ``output_dir`` (which must be new). Returns the classifier and its ``metrics.json`` content."""
    if quiet:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
    data = load_data(config)
    train, dev, test = (data[name][1] for name in ("train", "dev", "test"))
    train = with_background(train, config.data.background_weight, config.data.background_per_source)
    if config.training.augment:  # only the train split; dev and test are never augmented
        from .perturb import augment_dataset

        train = augment_dataset(train, config.training.seed)
    started = time.perf_counter()
    scorer, facts = fit(config, train, dev, output_dir / "work", quiet)
    facts.update(train_seconds=time.perf_counter() - started, code_version=code_version(),
                 rows={name: len(dataset) for name, (_, dataset) in data.items()}, train_rows=len(train),
                 train_rows_by_source=rows_by_source(train),
                 parent=parent_facts(config.parent))
    metadata = ModelMetadata(kind=TRANSFORMER if config.model.kind == TRANSFORMER else TFIDF_LOGREG,
                             normalization=config.normalization, max_length=config.model.max_length,
                             window_stride=config.model.window_stride, code_version=facts["code_version"])
    classifier = Classifier(scorer, dict.fromkeys(VIOLATIONS, 0.5), metadata)
    dev_truth, dev_probs = predict_labelled(classifier, dev["text"], dev["labels"])
    thresholds = tune_thresholds(dev_truth, dev_probs)
    classifier.thresholds = np.array([thresholds[v] for v in VIOLATIONS], dtype=np.float32)
    test_truth, test_probs = predict_labelled(classifier, test["text"], test["labels"])
    metrics = {
        "dev": multilabel_metrics(dev_truth, classifier.decide(dev_probs), dev_probs),
        "test": multilabel_metrics(test_truth, classifier.decide(test_probs), test_probs),
        "thresholds": thresholds, "training": facts,
    }
    shutil.rmtree(output_dir / "work", ignore_errors=True)
    classifier.save_pretrained(output_dir)
    write_json(output_dir / METRICS_FILE, metrics)
    write_heldout(output_dir, test["id"], test_truth, test_probs)
    resolved = config.to_dict()
    (output_dir / "training_config.yaml").write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False),
                                                     encoding="utf-8")
    files = {name: provenance(paths, dataset) for name, (paths, dataset) in data.items()}
    write_json(output_dir / "data_hashes.json", files)
    (output_dir / "README.md").write_text(model_card(resolved, metrics, thresholds, files, facts), encoding="utf-8")
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
