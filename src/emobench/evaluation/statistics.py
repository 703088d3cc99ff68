"""Uncertainty and significance: bootstrap confidence intervals, McNemar's test, Holm's correction."""
from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, chi2
from sklearn.metrics import f1_score

METRICS = {
    "accuracy": lambda y, p: float(np.mean(y == p)),
    "macro_f1": lambda y, p: float(f1_score(y, p, average="macro", zero_division=0)),
    "weighted_f1": lambda y, p: float(f1_score(y, p, average="weighted", zero_division=0)),
}


def _f1_of_samples(y_true: np.ndarray, y_pred: np.ndarray, idx: np.ndarray, average: str) -> np.ndarray:
    """scikit-learn's macro / weighted F1 (over the labels present in each resample) of many resamples at
    once, from per-resample confusion counts."""
    k = int(max(y_true.max(), y_pred.max())) + 1
    rows = np.arange(idx.shape[0])[:, None] * k
    t, p = y_true[idx], y_pred[idx]
    size = idx.shape[0] * k
    true = np.bincount((rows + t).ravel(), minlength=size).reshape(-1, k)
    pred = np.bincount((rows + p).ravel(), minlength=size).reshape(-1, k)
    tp = np.bincount((rows + t)[t == p].ravel(), minlength=size).reshape(-1, k)
    denominator = true + pred
    f1 = np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    if average == "weighted":
        return (f1 * true).sum(axis=1) / true.sum(axis=1)
    present = denominator > 0
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


def bootstrap_ci(y_true, y_pred, metric: str = "accuracy", n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """(point estimate, low, high): percentile bootstrap over test examples, resampled with replacement."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    fn = METRICS[metric]
    rng = np.random.default_rng(seed)
    n = len(y_true)
    idx = rng.integers(0, n, size=(n_boot, n))
    if metric == "accuracy":  # the mean of a resampled 0/1 vector
        samples = (y_true == y_pred).astype(float)[idx].mean(axis=1)
    else:
        samples = _f1_of_samples(y_true.astype(int), y_pred.astype(int), idx, metric.split("_")[0])
    tail = (1 - confidence) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return fn(y_true, y_pred), float(low), float(high)


def mcnemar(y_true, pred_a, pred_b, exact: bool | None = None) -> dict:
    """McNemar's paired test on the same examples. ``b``: A right and B wrong; ``c``: A wrong and B right.
    Exact binomial test when b + c < 25 (or ``exact=True``), else chi-square with continuity correction."""
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    a_right, b_right = pred_a == y_true, pred_b == y_true
    b = int(np.sum(a_right & ~b_right))
    c = int(np.sum(~a_right & b_right))
    if b + c == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p_value": 1.0, "method": "no discordant pairs"}
    if exact is None:
        exact = b + c < 25
    if exact:
        p = binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
        return {"b": b, "c": c, "statistic": float(min(b, c)), "p_value": float(min(1.0, p)), "method": "exact binomial"}
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return {"b": b, "c": c, "statistic": float(statistic), "p_value": float(chi2.sf(statistic, 1)),
            "method": "chi-square, continuity-corrected"}


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error rate), in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted.tolist()


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
