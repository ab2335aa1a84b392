"""The classical baseline: character 1-4-gram TF-IDF with one-vs-rest logistic regression."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from collectguard.inference.baseline import TfidfScorer
from collectguard.inference.classifier import Classifier
from collectguard.inference.labels import VIOLATIONS
from collectguard.inference.modeldir import TFIDF_LOGREG, ModelMetadata
from collectguard.inference.normalize import normalize

from .config import Config
from .data import WEIGHT, label_matrix


def fit_baseline(config: Config, train) -> TfidfScorer:
    """Fit on ``train``: a ``datasets.Dataset`` (or any mapping) with ``text`` and ``labels`` columns and
    optionally a sample ``weight`` column."""
    settings = config.baseline
    texts = [normalize(text, config.normalization) for text in train["text"]]
    labels = label_matrix(train["labels"])
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(settings.ngram_min, settings.ngram_max),
                                 min_df=settings.min_df, max_features=settings.max_features,
                                 sublinear_tf=settings.sublinear_tf, lowercase=True)
    features = vectorizer.fit_transform(texts)
    weights = np.asarray(train[WEIGHT] if WEIGHT in train else np.ones(len(texts)), dtype=float)
    # one binary regression per label (one-vs-rest), fitted directly so that the row weights reach each
    estimators = [LogisticRegression(C=settings.C, class_weight=settings.class_weight or None, max_iter=2000,
                                     random_state=config.training.seed).fit(features, column, sample_weight=weights)
                  for column in labels.T]
    coef = np.vstack([estimator.coef_ for estimator in estimators])
    intercept = np.concatenate([estimator.intercept_ for estimator in estimators])
    return TfidfScorer(vectorizer, coef, intercept)


def baseline_classifier(config: Config, texts: list[str], labels: list) -> Classifier:
    """The baseline fitted on ``texts``/``labels`` as an in-memory :class:`Classifier` (thresholds 0.5),
    for simulations and cross-validation."""
    scorer = fit_baseline(config, {"text": texts, "labels": labels})
    return Classifier(scorer, dict.fromkeys(VIOLATIONS, 0.5),
                      ModelMetadata(kind=TFIDF_LOGREG, normalization=config.normalization))
