"""The classical baseline's prediction side: character n-gram TF-IDF and one-vs-rest logistic regression.

Stored without pickle: the vectoriser's settings and vocabulary as JSON, the IDF weights and the
regression coefficients as safetensors arrays (``baseline.json``, ``baseline.safetensors``).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.special import expit  # overflow-safe sigmoid
from sklearn.feature_extraction.text import TfidfVectorizer

VECTORIZER_FILE, WEIGHTS_FILE = "baseline.json", "baseline.safetensors"
VECTORIZER_SETTINGS = ("analyzer", "ngram_range", "min_df", "max_features", "sublinear_tf", "lowercase")


class TfidfScorer:
    def __init__(self, vectorizer: TfidfVectorizer, coef: np.ndarray, intercept: np.ndarray):
        self.vectorizer, self.coef, self.intercept = vectorizer, coef, intercept

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        scores = self.vectorizer.transform(list(texts)) @ self.coef.T + self.intercept
        return expit(np.asarray(scores)).astype(np.float32)

    def save(self, model_dir: Path) -> None:
        settings = {k: self.vectorizer.get_params()[k] for k in VECTORIZER_SETTINGS}
        vocabulary = {term: int(i) for term, i in self.vectorizer.vocabulary_.items()}
        (model_dir / VECTORIZER_FILE).write_text(
            json.dumps({"settings": settings, "vocabulary": vocabulary}, ensure_ascii=False), encoding="utf-8")
        save_file({"idf": self.vectorizer.idf_.astype(np.float64), "coef": self.coef.astype(np.float64),
                   "intercept": self.intercept.astype(np.float64)}, str(model_dir / WEIGHTS_FILE))

    @classmethod
    def load(cls, model_dir: Path) -> TfidfScorer:
        stored = json.loads((model_dir / VECTORIZER_FILE).read_text(encoding="utf-8"))
        settings = dict(stored["settings"], ngram_range=tuple(stored["settings"]["ngram_range"]))
        arrays = load_file(str(model_dir / WEIGHTS_FILE))
        vectorizer = TfidfVectorizer(**settings, vocabulary=stored["vocabulary"])
        vectorizer.idf_ = arrays["idf"]
        return cls(vectorizer, arrays["coef"], arrays["intercept"])
