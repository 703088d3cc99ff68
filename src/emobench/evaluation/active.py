"""Which unlabelled texts to label next (active learning), from a model's probabilities: pure functions, no I/O.

The default, ``diverse``, is the standard batch criterion of uncertainty *and* diversity (Zhdanov 2019, "Diverse
mini-batch active learning", as small-text and modAL practise it): the ``pool_factor * n`` texts the model is least
sure of (margin between its two most probable labels) form a candidate pool, k-means with ``n`` clusters over their
TF-IDF vectors (weighted by uncertainty) splits the pool, and each cluster gives the text nearest its centre. Picking
the ``n`` most uncertain texts alone (``margin``, ``entropy``) spends a batch on near-duplicates the model is unsure of
in the same way; the clusters spread it. ``random`` is the control every active-learning curve is measured against.
TF-IDF rather than a model's own embedding, so the criterion is the same for every family (an ONNX export included).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import EmobenchError, option

STRATEGIES = ("diverse", "margin", "entropy", "random")
DEFAULT_STRATEGY = "diverse"
POOL_FACTOR = 10  # Zhdanov's beta: 10 keeps the pool uncertain; 50 trades uncertainty for spread
SCORES = {"diverse": "margin", "margin": "margin", "entropy": "entropy", "random": "margin"}


@dataclass(frozen=True)
class Selection:
    """Rows chosen, best first, with each row's uncertainty (``score``: 1 = as unsure as the model can be)."""
    indices: np.ndarray
    scores: np.ndarray
    pool: int  # how many candidates the choice was made among


def margin_uncertainty(probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """1 - (p1 - p2), the two most probable labels' margin ("breaking ties"): 1 for a tie, 0 for certainty.
    Multi-label (``thresholds`` given): the label nearest its decision threshold decides, its distance scaled to [0, 1]."""
    probs = np.asarray(probs, dtype=float)
    if thresholds is not None:
        t = np.asarray(thresholds, dtype=float)
        distance = np.abs(probs - t) / np.maximum(np.maximum(t, 1 - t), 1e-12)
        return np.clip(1 - distance.min(axis=1), 0, 1)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top = np.sort(probs, axis=1)[:, -2:]
    return np.clip(1 - (top[:, 1] - top[:, 0]), 0, 1)


def entropy_uncertainty(probs: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Shannon entropy over the labels divided by its maximum (log K), in [0, 1]; multi-label: each label's binary
    entropy (in bits), averaged over the labels."""
    p = np.clip(np.asarray(probs, dtype=float), 1e-12, 1)
    if multi_label:
        q = np.clip(1 - p, 1e-12, 1)
        return np.clip((-(p * np.log2(p) + q * np.log2(q))).mean(axis=1), 0, 1)
    if p.shape[1] < 2:
        return np.zeros(len(p))
    return np.clip(-(p * np.log(p)).sum(axis=1) / np.log(p.shape[1]), 0, 1)


def uncertainty(probs: np.ndarray, strategy: str, thresholds: np.ndarray | None = None) -> np.ndarray:
    """The score a strategy reports (SCORES): entropy for ``entropy``, the margin for the others."""
    check_strategy(strategy)
    if SCORES[strategy] == "entropy":
        return entropy_uncertainty(probs, thresholds is not None)
    return margin_uncertainty(probs, thresholds)


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise EmobenchError(f"{option('strategy')} {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    return strategy


def text_vectors(texts: list[str]):
    """L2-normalised TF-IDF of word 1-2-grams and character 3-5-grams: texts that differ by a word or a typo stay
    close, so near-duplicates fall into one cluster."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts) if _has_words(texts) else None
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    return normalize(hstack([m for m in (words, chars) if m is not None]).tocsr())


def _has_words(texts: list[str]) -> bool:
    import re

    return any(re.search(r"(?u)\b\w\w+\b", t) for t in texts)  # TfidfVectorizer's default token pattern


def spread(vectors, n: int, weights: np.ndarray, seed: int) -> np.ndarray:
    """``n`` rows of ``vectors`` spread over the space: weighted k-means with ``n`` clusters, the member nearest each
    centre, most uncertain (``weights``) first. Fewer distinct points than ``n``: the rest by weight, so the count is
    always ``n`` (or every row)."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    weights = np.asarray(weights, dtype=float)
    by_weight = np.argsort(-weights, kind="stable")
    if n >= vectors.shape[0]:
        return by_weight
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct points than clusters: handled below
        kmeans = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(vectors, sample_weight=weights + 1e-6)
    distances = kmeans.transform(vectors)[np.arange(vectors.shape[0]), kmeans.labels_]
    chosen = [members[np.argmin(distances[members])]
              for members in (np.flatnonzero(kmeans.labels_ == c) for c in np.unique(kmeans.labels_))]
    if len(chosen) < n:
        taken = set(chosen)
        chosen += [i for i in by_weight if i not in taken][: n - len(chosen)]
    chosen = np.asarray(chosen)
    return chosen[np.argsort(-weights[chosen], kind="stable")]


def select(probs: np.ndarray, texts: list[str], n: int, strategy: str = DEFAULT_STRATEGY, *, seed: int = 0,
           thresholds: np.ndarray | None = None, pool_factor: int = POOL_FACTOR) -> Selection:
    """The ``n`` rows of ``probs`` (one per text of ``texts``, distinct texts) whose labels would help most, by
    ``strategy`` (STRATEGIES); ``thresholds``: a multi-label model's decision thresholds. ``n`` at least the number of
    texts: every text, ranked."""
    check_strategy(strategy)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or len(probs) != len(texts):
        raise ValueError(f"{probs.shape} probabilities for {len(texts)} texts; expected one row per text")
    if n < 1:
        raise ValueError(f"n={n}: expected at least 1")
    scores = uncertainty(probs, strategy, thresholds)
    n = min(n, len(texts))
    if strategy == "random":
        chosen = np.random.default_rng(seed).choice(len(texts), size=n, replace=False)
        return Selection(chosen, scores[chosen], len(texts))
    ranked = np.argsort(-scores, kind="stable")  # ties keep the file's order
    if strategy != "diverse":
        return Selection(ranked[:n], scores[ranked[:n]], len(texts))
    pool = ranked[: min(len(texts), max(n, pool_factor * n))]
    chosen = pool[spread(text_vectors([texts[i] for i in pool]), n, scores[pool], seed)]
    return Selection(chosen, scores[chosen], len(pool))
