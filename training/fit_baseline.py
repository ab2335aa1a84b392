"""The classical baseline: character 1-4-gram TF-IDF with one-vs-rest logistic regression."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from collectguard.inference.baseline import TfidfScorer

from .config import Config


def fit_baseline(config: Config, train) -> TfidfScorer:
    """Fit on ``train``, a dataset of :func:`training.data.to_dataset` (normalised texts, weights)."""
    settings = config.baseline
    labels = np.array(train["labels"], dtype=int)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(settings.ngram_min, settings.ngram_max),
                                 min_df=settings.min_df, max_features=settings.max_features,
                                 sublinear_tf=settings.sublinear_tf, lowercase=True)
    features = vectorizer.fit_transform(train["text"])
    weights = np.array(train["weight"])
    # one binary regression per label (one-vs-rest); fitted directly so that the row weights reach each
    estimators = [LogisticRegression(C=settings.C, class_weight=settings.class_weight or None, max_iter=2000,
                                     random_state=config.training.seed).fit(features, column, sample_weight=weights)
                  for column in labels.T]
    coef = np.vstack([estimator.coef_ for estimator in estimators])
    intercept = np.concatenate([estimator.intercept_ for estimator in estimators])
    return TfidfScorer(vectorizer, coef, intercept)
