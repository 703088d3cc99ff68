"""TF-IDF word and character n-grams with a linear classifier (scikit-learn). Saved as data only: the
vocabularies as JSON, idf weights and coefficients as safetensors; rebuilt on load."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..data import Split
from ..errors import EmobenchError, RecordError
from ..files import read_tensors
from ..manifest import Folder
from ..params import param
from ..records.base import validate
from ..records.model import ModelRecord, TfidfVocabulary
from .base import Classifier, OnnxGraph, check_weights_labels, safetensors_metadata
from .linear import LinearHead, fit_head

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
        for name, vectorizer in parts:
            try:
                vectorizer.fit(train.texts)
            except ValueError as exc:  # scikit-learn: "empty vocabulary", "max_df corresponds to < documents than min_df"
                raise EmobenchError(f"the {name} n-grams of {len(train)} training texts leave no feature with these "
                                    f"parameters (scikit-learn: {exc})") from None

        def estimator():
            if p.classifier == "svm":
                return LinearSVC(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)
            return LogisticRegression(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=seed)

        # Predictions after training come from the same arrays that are saved, so a reloaded model
        # gives the very same numbers.
        self._set_state({name: (_terms(v), v.idf_) for name, v in parts}, None)
        self.head = fit_head(self._transform(train.texts), train, len(self.label_names), self.multi_label, estimator,
                             p.classifier)
        self.info = {"parameters": int(self.head.coef.size + self.head.intercept.size),
                     "features": int(self.head.coef.shape[1])}

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

    def logits(self, texts):
        """Decision values: SVM margins, or the logistic regression's (whose softmax, or sigmoid per label, is
        its probability); a label absent from training scores -1e9."""
        x = self._transform(texts)
        return self.head.decision(x) if self.multi_label else self.head.scores(x, len(self.label_names))

    @property
    def precision(self) -> str:
        return "fp64"  # scikit-learn's coefficients

    def attributions(self, text: str, label: int) -> tuple[list[str], list[float], str]:
        """Each word's share of coefficient x tf-idf weight: a word n-gram's contribution split evenly between
        its words, a character n-gram's between the words it occurs in."""
        import re

        x = self._transform([text]).tocsr()
        rows = list(self.head.classes)
        if label in rows and (self.multi_label or len(rows) > 2 or self.head.coef.shape[0] > 1):
            weights = self.head.coef[rows.index(label)]
        elif len(rows) == 2 and self.head.coef.shape[0] == 1:  # binary: one row, pointing at the second class
            weights = self.head.coef[0] * (1 if label == rows[1] else -1)
        else:
            weights = np.zeros(x.shape[1])
        shown = text if len(text.lower()) == len(text) else text.lower()  # offsets must match the lowered text
        words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", shown)]
        scores = np.zeros(len(words))
        offset = 0
        for (name, _), vectorizer in zip(self._vectorizers(), self.vectorizers):
            size = len(vectorizer.vocabulary_)
            contribution = {}
            row = x[0, offset : offset + size]
            for f, value in zip(row.indices, row.data):
                contribution[int(f)] = weights[offset + f] * value
            occurrences = self._occurrences(name, vectorizer, text, words)
            counts: dict[int, int] = {}
            for f, _ in occurrences:
                counts[f] = counts.get(f, 0) + 1
            for f, owners in occurrences:
                if f in contribution:
                    for w in owners:
                        scores[w] += contribution[f] / counts[f] / len(owners)
            offset += size
        return [w for _, _, w in words], scores.tolist(), "coefficient x tf-idf weight"

    @staticmethod
    def _occurrences(name, vectorizer, text: str, words: list) -> list[tuple[int, list[int]]]:
        """(feature index, the indices of the whitespace-separated words it covers) for every n-gram occurrence."""
        import re

        lowered = text.lower()
        out = []
        if name == "word":
            tokens = [(m.start(), m.group()) for m in re.finditer(vectorizer.token_pattern, lowered)]
            owner = [next(i for i, (a, b, _) in enumerate(words) if a <= start < b) for start, _ in tokens]
            low, high = vectorizer.ngram_range
            for n in range(low, high + 1):
                for i in range(len(tokens) - n + 1):
                    f = vectorizer.vocabulary_.get(" ".join(t for _, t in tokens[i : i + n]))
                    if f is not None:
                        out.append((f, sorted(set(owner[i : i + n]))))
            return out
        low, high = vectorizer.ngram_range
        for w, word in enumerate(lowered.split()):
            padded = f" {word} "
            for n in range(low, high + 1):
                for i in range(len(padded) - n + 1):
                    f = vectorizer.vocabulary_.get(padded[i : i + n])
                    if f is not None:
                        out.append((f, [w]))
        return out

    def onnx_graph(self, directory: Path) -> OnnxGraph:
        raise EmobenchError(
            "tfidf stays in scikit-learn: ONNX's TfIdfVectorizer operator cannot express its character n-grams within "
            "word boundaries (char_wb) or its token pattern, and the model already scores thousands of texts a second "
            "on one core (benchmarks/inference.py)")

    def _save_weights(self, directory: Path):
        from safetensors.numpy import save_file

        arrays = self.head.arrays()
        vocabularies = {}
        for (name, _), vectorizer in zip(self._vectorizers(), self.vectorizers):
            arrays[f"{name}.idf"] = vectorizer.idf_
            vocabularies[name] = _terms(vectorizer)
        save_file(arrays, str(directory / WEIGHTS), metadata=self.weights_metadata())
        saved = validate(TfidfVocabulary, {"kind": self.head.kind, "vocabularies": vocabularies},
                         "the vocabulary being saved")
        saved.write(directory, VOCABULARY)

    def _load_weights(self, folder: Folder, record: ModelRecord):
        where = folder.root / VOCABULARY
        saved = TfidfVocabulary.read(folder, VOCABULARY)
        expected = [name for name, _ in self._vectorizers()]
        if sorted(saved.vocabularies) != sorted(expected):
            raise RecordError(f"{where}: field vocabularies: {', '.join(saved.vocabularies)}, but the parameters ask for "
                              f"{', '.join(expected)} n-grams")
        path = folder.path(WEIGHTS, "weights")
        arrays = read_tensors(path)
        needed = ["coef", "intercept", "classes", *[f"{name}.idf" for name in expected]]
        missing = [key for key in needed if key not in arrays]
        if missing:
            raise RecordError(f"{path}: no tensor {missing[0]}; the weights are not an emobench TF-IDF model's")
        for name in expected:
            if arrays[f"{name}.idf"].shape != (len(saved.vocabularies[name]),):
                raise RecordError(f"{where}: field vocabularies.{name}: {len(saved.vocabularies[name])} terms, but the "
                                  f"weights hold {arrays[f'{name}.idf'].shape[0]} idf values")
        head = LinearHead.from_arrays(arrays, saved.kind, where=path)
        features = sum(len(saved.vocabularies[name]) for name in expected)
        if head.coef.ndim != 2 or head.coef.shape[1] != features or head.intercept.shape != (head.coef.shape[0],):
            raise RecordError(f"{path}: coefficients of shape {head.coef.shape} do not fit {features} features")
        outputs = head.coef.shape[0] if self.multi_label else len(record.label_names)
        # the label names first: a name removed from emobench_model.json is said of that file, not of the class ids
        check_weights_labels(record, outputs, path, safetensors_metadata(path))
        head.check_classes(outputs, len(record.label_names), path)
        self._set_state({name: (terms, arrays[f"{name}.idf"]) for name, terms in saved.vocabularies.items()}, head)


def _terms(vectorizer) -> list[str]:
    """The vocabulary in column order."""
    terms = [""] * len(vectorizer.vocabulary_)
    for term, i in vectorizer.vocabulary_.items():
        terms[i] = term
    return terms
