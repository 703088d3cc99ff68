"""The stack family's small parts: its members as written in ``members=`` (names with bracketed parameters), the clock
of its time limit, and the combiner's estimator noting the regularisation it chose."""
from __future__ import annotations

import re
import time
import warnings

import numpy as np

from ..errors import EmobenchError

_MEMBER = re.compile(r"([^\[\]+]+)(?:\[([^\[\]]*)\])?")


def parse_members(text: str) -> list[tuple[str, dict]]:
    """``tfidf+lstm[epochs=5,glove=none]`` -> [("tfidf", {}), ("lstm", {"epochs": "5", "glove": "none"})]."""
    out, rest = [], text
    while True:
        match = _MEMBER.match(rest)
        if not match or not match.group(1).strip():
            raise EmobenchError("expected two or more model names joined by +, each with optional [key=value,...] "
                                "(e.g. tfidf+lstm[epochs=5])")
        overrides = {}
        for pair in filter(None, (p.strip() for p in (match.group(2) or "").split(","))):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise EmobenchError(f"member {match.group(1).strip()}: {pair!r} is not key=value")
            if key.strip() in overrides:
                raise EmobenchError(f"member {match.group(1).strip()}: {key.strip()}= given twice")
            overrides[key.strip()] = value.strip()
        out.append((match.group(1).strip(), overrides))
        rest = rest[match.end():]
        if not rest:
            break
        if not rest.startswith("+"):
            raise EmobenchError(f"unexpected {rest[:20]!r}; expected + between members")
        rest = rest[1:]
    return out


class Clock:
    """Seconds left of a fit's time limit (infinite without one)."""

    def __init__(self, started: float, limit: float):
        self.started, self.limit = started, limit

    @property
    def limited(self) -> bool:
        return self.limit > 0

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.started) if self.limited else float("inf")


class Recorded:
    """An estimator that notes the regularisation its fit chose (LogisticRegressionCV's C_) in ``chosen``."""

    def __init__(self, estimator, chosen: list[float]):
        self.estimator, self.chosen = estimator, chosen

    def fit(self, x, y):
        with warnings.catch_warnings():  # scikit-learn 1.9's notices of 1.10's changed defaults, not about this fit
            warnings.simplefilter("ignore", FutureWarning)
            self.estimator.fit(x, y)
        c = getattr(self.estimator, "C_", None)
        self.chosen.append(float(np.ravel(c)[0]) if c is not None else float(self.estimator.C))
        return self.estimator


def macro_f1(truth: np.ndarray, probs: np.ndarray, multi_label: bool) -> float:
    from sklearn.metrics import f1_score

    pred = (probs >= 0.5).astype(int) if multi_label else probs.argmax(axis=1)
    return round(float(f1_score(truth, pred, average="macro", zero_division=0)), 4)
