"""TF-IDF word and character n-grams with a linear classifier (scikit-learn)."""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from ..data import Split
from .base import Classifier, register_family, register_model


@dataclass
class TfidfParams:
    word_ngram_max: int = 2
    char_ngram_min: int = 3
    char_ngram_max: int = 6  # 0 disables character n-grams
    min_df_char: int = 2
    sublinear_tf: bool = True
    classifier: str = "svm"  # "svm" (LinearSVC) or "logreg"
    C: float = 0.2
    class_weight: str | None = "balanced"
    max_iter: int = 5000


@register_family
class TfidfClassifier(Classifier):
    family = "tfidf"
    Params = TfidfParams

    def fit(self, train: Split, validation: Split | None, label_names, *, seed=0, work_dir=None, resume=False,
            progress=True):
        p = self.params
        self.label_names = list(label_names)
        parts = [("word", TfidfVectorizer(ngram_range=(1, p.word_ngram_max), sublinear_tf=p.sublinear_tf,
                                          token_pattern=r"(?u)\b\w+\b"))]
        if p.char_ngram_max:
            parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(p.char_ngram_min, p.char_ngram_max),
                                                  sublinear_tf=p.sublinear_tf, min_df=p.min_df_char)))
        self.features = FeatureUnion(parts)
        x = self.features.fit_transform(train.texts)
        if p.classifier == "svm":
            self.linear = LinearSVC(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)
        elif p.classifier == "logreg":
            self.linear = LogisticRegression(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)
        else:
            raise ValueError(f"classifier must be 'svm' or 'logreg', got {p.classifier!r}")
        # Every label id must be a column even if training lacks a class, so map through classes_.
        self.linear.fit(x, train.labels)
        self.temperature = 1.0
        if p.classifier == "svm" and validation is not None and len(validation):
            self.temperature = self._fit_temperature(validation)
        self.info = {"parameters": int(np.prod(self.linear.coef_.shape) + self.linear.coef_.shape[0]),
                     "features": int(x.shape[1]), "temperature": self.temperature}
        return self

    def _scores(self, texts) -> np.ndarray:
        raw = self.linear.decision_function(self.features.transform(list(texts)))
        if raw.ndim == 1:  # binary problems give one column
            raw = np.stack([-raw, raw], axis=1)
        scores = np.full((raw.shape[0], len(self.label_names)), -1e9)
        scores[:, self.linear.classes_] = raw
        return scores

    def _fit_temperature(self, validation: Split) -> float:
        """SVM margins are not probabilities: scale them by the temperature that minimises validation
        log-loss (argmax, and so every metric, is unchanged)."""
        scores = self._scores(validation.texts)
        labels = np.asarray(validation.labels)

        def nll(log_t):
            return -log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean()

        return float(np.exp(minimize_scalar(nll, bounds=(-5, 3), method="bounded").x))

    def predict_proba(self, texts):
        if isinstance(self.linear, LogisticRegression):
            probs = np.zeros((len(texts), len(self.label_names)))
            probs[:, self.linear.classes_] = self.linear.predict_proba(self.features.transform(list(texts)))
            return probs
        return softmax(self._scores(texts) / self.temperature, axis=1)

    def _save_weights(self, directory: Path):
        with open(directory / "tfidf.pkl", "wb") as handle:
            pickle.dump({"features": self.features, "linear": self.linear, "temperature": self.temperature}, handle)

    def _load_weights(self, directory: Path):
        with open(directory / "tfidf.pkl", "rb") as handle:
            state = pickle.load(handle)
        self.features, self.linear, self.temperature = state["features"], state["linear"], state["temperature"]


register_model("tfidf", TfidfClassifier, "TF-IDF word 1-2 + char 3-6 n-grams, linear SVM (class-balanced)")
