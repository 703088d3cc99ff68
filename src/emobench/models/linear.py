"""A fitted linear classifier (LinearSVC or LogisticRegression) kept as plain arrays: scores and
probabilities are computed from coef/intercept, so a model saved as safetensors and loaded again gives
the very numbers it gave after training, and nothing is unpickled."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, softmax


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
        raw = np.asarray(x @ self.coef.T) + self.intercept
        if raw.shape[1] == 1 and len(self.classes) == 2:  # binary problems keep one row
            raw = np.concatenate([-raw, raw], axis=1) if self.kind == "svm" else np.concatenate([np.zeros_like(raw), raw], axis=1)
        return raw

    def scores(self, x, num_labels: int) -> np.ndarray:
        """Decision values with one column per label id; labels unseen in training get -1e9."""
        out = np.full((x.shape[0], num_labels), -1e9)
        out[:, self.classes] = self.decision(x)
        return out

    def proba(self, x, num_labels: int) -> np.ndarray:
        """LogisticRegression's probabilities (softmax over classes; a sigmoid for two)."""
        raw = self.decision(x)
        probs = np.zeros((x.shape[0], num_labels))
        if len(self.classes) == 2:
            positive = expit(raw[:, 1])
            probs[:, self.classes] = np.stack([1 - positive, positive], axis=1)
        else:
            probs[:, self.classes] = softmax(raw, axis=1)
        return probs

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}coef": np.ascontiguousarray(self.coef), f"{prefix}intercept": self.intercept,
                f"{prefix}classes": self.classes}

    @classmethod
    def from_arrays(cls, arrays: dict, kind: str, prefix: str = "") -> "LinearHead":
        return cls(arrays[f"{prefix}coef"], arrays[f"{prefix}intercept"], arrays[f"{prefix}classes"], kind)
