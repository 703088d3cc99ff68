"""TF-IDF word and character n-grams with a linear classifier (scikit-learn). Saved as data only: the
vocabularies as JSON, idf weights and coefficients as safetensors; rebuilt on load."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.special import expit, log_softmax, softmax

from ..data import Split
from .base import Classifier, refuse_pickle
from .linear import LinearHead, fit_head
from ..params import param

WEIGHTS, VOCABULARY = "tfidf.safetensors", "tfidf_vocabulary.json"


@dataclass
class TfidfParams:
    word_ngram_max: int = param(2, ge=1, le=5)
    char_ngram_min: int = param(3, ge=1)
    char_ngram_max: int = param(6, ge=0, le=10, doc="0 disables character n-grams")
    min_df_char: int = param(2, ge=1)
    sublinear_tf: bool = True
    classifier: Literal["svm", "logreg"] = "svm"
    C: float = param(0.2, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = param(5000, ge=1)

    def check(self) -> str | None:
        if self.char_ngram_max and self.char_ngram_min > self.char_ngram_max:
            return (f"parameters char_ngram_min={self.char_ngram_min} and char_ngram_max={self.char_ngram_max}: "
                    "expected char_ngram_min <= char_ngram_max (or char_ngram_max=0 for no character n-grams)")
        return None


class TfidfClassifier(Classifier):
    family = "tfidf"
    Params = TfidfParams
    SEARCH_SPACE = {"C": ["float-log", 0.02, 5.0], "word_ngram_max": ["choice", [1, 2, 3]],
                    "char_ngram_max": ["choice", [0, 5, 6]], "classifier": ["choice", ["svm", "logreg"]],
                    "class_weight": ["choice", ["balanced", None]]}

    def _vectorizers(self) -> list:
        from sklearn.feature_extraction.text import TfidfVectorizer

        p = self.params
        parts = [("word", TfidfVectorizer(ngram_range=(1, p.word_ngram_max), sublinear_tf=p.sublinear_tf,
                                          token_pattern=r"(?u)\b\w+\b"))]
        if p.char_ngram_max:
            parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(p.char_ngram_min, p.char_ngram_max),
                                                  sublinear_tf=p.sublinear_tf, min_df=p.min_df_char)))
        return parts

    def _fit(self, train: Split, validation: Split | None, *, seed=0, **options):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        p = self.params
        parts = self._vectorizers()
        for _, vectorizer in parts:
            vectorizer.fit(train.texts)

        def estimator():
            if p.classifier == "svm":
                return LinearSVC(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)
            return LogisticRegression(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)

        # Predictions after training come from the same arrays that are saved, so a reloaded model
        # gives the very same numbers.
        self._set_state({name: (_terms(v), v.idf_) for name, v in parts}, None)
        self.head = fit_head(self._transform(train.texts), train, len(self.label_names), self.multi_label, estimator,
                             p.classifier)
        self.temperature = 1.0
        if p.classifier == "svm" and validation is not None and len(validation):
            self.temperature = self._fit_temperature(validation)
        self.info = {"parameters": int(self.head.coef.size + self.head.intercept.size),
                     "features": int(self.head.coef.shape[1]), "temperature": self.temperature}

    def _set_state(self, vocabularies: dict[str, tuple[list[str], np.ndarray]], head: LinearHead | None) -> None:
        self.vectorizers = []
        for name, vectorizer in self._vectorizers():
            terms, idf = vocabularies[name]
            vectorizer.vocabulary_ = {term: i for i, term in enumerate(terms)}
            vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
            self.vectorizers.append(vectorizer)
        if head is not None:
            self.head = head

    def _transform(self, texts):
        import scipy.sparse as sp

        return sp.hstack([v.transform(list(texts)) for v in self.vectorizers], format="csr")

    def _fit_temperature(self, validation: Split) -> float:
        """SVM margins are not probabilities: scale them by the temperature that minimises validation
        log-loss (argmax, and so every metric, is unchanged)."""
        from scipy.optimize import minimize_scalar

        scores = self.head.scores(self._transform(validation.texts), len(self.label_names))
        if self.multi_label:
            truth = validation.label_matrix(len(self.label_names))

            def nll(log_t):  # binary cross-entropy of every label
                z = scores / np.exp(log_t)
                return float(np.mean(np.logaddexp(0, z) - truth * z))
        else:
            labels = np.asarray(validation.labels)

            def nll(log_t):
                return -log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean()

        return float(np.exp(minimize_scalar(nll, bounds=(-5, 3), method="bounded").x))

    def predict_proba(self, texts):
        x = self._transform(texts)
        if self.multi_label:
            return expit(self.head.decision(x) / self.temperature)
        if self.head.kind == "logreg":
            return self.head.proba(x, len(self.label_names))
        return softmax(self.head.scores(x, len(self.label_names)) / self.temperature, axis=1)

    def _save_weights(self, directory: Path):
        from safetensors.numpy import save_file

        arrays = self.head.arrays()
        vocabularies = {}
        for (name, _), vectorizer in zip(self._vectorizers(), self.vectorizers):
            arrays[f"{name}.idf"] = vectorizer.idf_
            vocabularies[name] = _terms(vectorizer)
        save_file(arrays, str(directory / WEIGHTS))
        (directory / VOCABULARY).write_text(json.dumps({"temperature": self.temperature, "kind": self.head.kind,
                                                        "vocabularies": vocabularies}, ensure_ascii=False))

    def _load_weights(self, directory: Path):
        from ..fileio import read_json, read_tensors

        refuse_pickle(directory, "tfidf.pkl")
        saved = read_json(directory / VOCABULARY, "TF-IDF vocabulary", required=("vocabularies", "kind", "temperature"))
        arrays = read_tensors(directory / WEIGHTS)
        vocabularies = {name: (terms, arrays[f"{name}.idf"]) for name, terms in saved["vocabularies"].items()}
        self._set_state(vocabularies, LinearHead.from_arrays(arrays, saved["kind"]))
        self.temperature = float(saved["temperature"])


def _terms(vectorizer) -> list[str]:
    """The vocabulary in column order."""
    terms = [""] * len(vectorizer.vocabulary_)
    for term, i in vectorizer.vocabulary_.items():
        terms[i] = term
    return terms
