"""A fitted linear classifier (LinearSVC or LogisticRegression) kept as plain arrays: decision values are
computed from coef/intercept (a logistic regression's softmax or sigmoid of them is its probability), so a
model saved as safetensors and loaded again gives the very numbers it gave after training, and nothing is
unpickled."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LinearHead:
    coef: np.ndarray  # (classes or 1, features)
    intercept: np.ndarray
    classes: np.ndarray  # label ids of the rows (a class absent from training has no row)
    kind: str  # "svm" (margins) or "logreg" (probabilities)

    @classmethod
    def from_estimator(cls, estimator, kind: str) -> "LinearHead":
        return cls(np.asarray(estimator.coef_, dtype=np.float64), np.asarray(estimator.intercept_, dtype=np.float64),
                   np.asarray(estimator.classes_, dtype=np.int64), kind)

    def decision(self, x) -> np.ndarray:
        # coef.T is a strided view; scipy copied it to a contiguous array on every call (1.1 of 1.7 ms at batch 1)
        if getattr(self, "_coef_t", None) is None or self._coef_t.shape != self.coef.T.shape:
            self._coef_t = np.ascontiguousarray(self.coef.T)
        raw = np.asarray(x @ self._coef_t) + self.intercept
        if raw.shape[1] == 1 and len(self.classes) == 2:  # binary problems keep one row
            raw = np.concatenate([-raw, raw], axis=1) if self.kind == "svm" else np.concatenate([np.zeros_like(raw), raw], axis=1)
        return raw

    def scores(self, x, num_labels: int) -> np.ndarray:
        """Decision values with one column per label id; labels unseen in training get -1e9."""
        out = np.full((x.shape[0], num_labels), -1e9)
        out[:, self.classes] = self.decision(x)
        return out

    def check_classes(self, outputs: int, labels: int, where) -> None:
        """The class ids of a loaded head: distinct integers below ``outputs`` (its rows' labels, of ``labels``)."""
        from ..errors import RecordError

        classes = self.classes
        if classes.dtype.kind not in "iu" or classes.ndim != 1 or len(set(classes.tolist())) != len(classes) or \
                (len(classes) and (classes.min() < 0 or classes.max() >= outputs)):
            raise RecordError(f"{where}: class ids {classes.tolist()[:20]} do not fit {labels} labels")

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}coef": np.ascontiguousarray(self.coef), f"{prefix}intercept": self.intercept,
                f"{prefix}classes": self.classes}

    @classmethod
    def from_arrays(cls, arrays: dict, kind: str, prefix: str = "", where=None) -> "LinearHead":
        """The head saved by ``arrays()``; ``where`` (the weights file) names it when a coefficient is not finite."""
        from ..errors import RecordError

        for key in (f"{prefix}coef", f"{prefix}intercept"):
            value = np.asarray(arrays[key])
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise RecordError(f"{where}: tensor {key}: expected finite floating-point numbers"
                                  + ("" if value.dtype.kind != "f" else " (it holds NaN or infinity)"))
        return cls(arrays[f"{prefix}coef"], arrays[f"{prefix}intercept"], arrays[f"{prefix}classes"], kind)


def fit_head(x, split, num_labels: int, multi_label: bool, make_estimator, kind: str) -> LinearHead:
    """A linear head trained on features ``x``: one estimator for single-label data, one binary estimator per
    label (one-vs-rest) for multi-label data. A label never (or always) present gets a constant decision."""
    if not multi_label:
        return LinearHead.from_estimator(make_estimator().fit(x, split.labels), kind)
    y = split.label_matrix(num_labels)
    coef, intercept = np.zeros((num_labels, x.shape[1])), np.zeros(num_labels)
    for k in range(num_labels):
        if y[:, k].min() == y[:, k].max():
            intercept[k] = 20.0 if y[0, k] else -20.0
            continue
        fitted = make_estimator().fit(x, y[:, k])
        coef[k], intercept[k] = fitted.coef_[0], fitted.intercept_[0]
    return LinearHead(coef, intercept, np.arange(num_labels), kind)
