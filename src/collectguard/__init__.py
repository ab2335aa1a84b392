"""collectguard: find abusive debt-collection language in Chinese calls, chats and SMS.

The public API::

    from collectguard import Classifier, score_file, estimate_prevalence

    model = Classifier.from_pretrained("models/baseline")
    model.predict(["再不还钱就把你欠钱的事发到你通讯录每个人"])

Everything else lives in ``collectguard.inference`` (the runtime) and ``collectguard.training``
(training and evaluation, built on the runtime). Names are imported on first use, so that
``import collectguard`` stays light.
"""
from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("collectguard")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["Classifier", "ScoreOptions", "ScoreResult", "score_file", "PrevalenceResult", "estimate_prevalence",
           "VIOLATIONS", "mask_pii", "__version__"]

_HOMES = {
    "Classifier": "collectguard.inference.classifier",
    "ScoreOptions": "collectguard.inference.score",
    "ScoreResult": "collectguard.inference.score",
    "score_file": "collectguard.inference.score",
    "PrevalenceResult": "collectguard.inference.prevalence",
    "estimate_prevalence": "collectguard.inference.prevalence",
    "VIOLATIONS": "collectguard.inference.labels",
    "mask_pii": "collectguard.inference.pii",
}

if TYPE_CHECKING:
    from collectguard.inference.classifier import Classifier
    from collectguard.inference.labels import VIOLATIONS
    from collectguard.inference.pii import mask_pii
    from collectguard.inference.prevalence import PrevalenceResult, estimate_prevalence
    from collectguard.inference.score import ScoreOptions, ScoreResult, score_file


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'collectguard' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
