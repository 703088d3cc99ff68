"""Uncertainty and significance: bootstrap confidence intervals (of a score, or of a paired difference), McNemar's
test, an approximate randomization test for any metric (multi-label data), Holm's correction.

Every metric is computed from per-label counts (true positives, false positives, false negatives) and
per-example scores, so a bootstrap resample or a randomized swap is a weighted sum of per-example counts:
thousands of resamples cost a few matrix products, for single- and multi-label predictions alike.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, chi2

from .metrics import label_f1, macro_f1

SINGLE_LABEL_METRICS = ("accuracy", "macro_f1", "weighted_f1")
MULTI_LABEL_METRICS = ("micro_f1", "macro_f1", "samples_f1", "jaccard", "subset_accuracy", "hamming_loss")
LOWER_IS_BETTER = {"hamming_loss"}
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1", "micro_f1": "micro-F1",
                "samples_f1": "samples-F1", "subset_accuracy": "subset accuracy", "hamming_loss": "Hamming loss",
                "jaccard": "Jaccard"}  # as reports write them


def indicators(y, num_labels: int | None = None) -> np.ndarray:
    """A 0/1 (examples x labels) matrix from label ids or an indicator matrix."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y.astype(np.int8)
    num_labels = num_labels or (int(y.max()) + 1 if len(y) else 1)
    out = np.zeros((len(y), num_labels), dtype=np.int8)
    out[np.arange(len(y)), y.astype(int)] = 1
    return out


class Counts:
    """Per-example contributions to every metric: tp/fp/fn per label, exact match, and per-example F1."""

    def __init__(self, y_true, y_pred, num_labels: int | None = None):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if num_labels is None:
            num_labels = y_true.shape[1] if y_true.ndim == 2 else int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
        t, p = indicators(y_true, num_labels), indicators(y_pred, num_labels)
        self.tp = (t & p).astype(np.float64)
        self.fp = ((1 - t) & p).astype(np.float64)
        self.fn = (t & (1 - p)).astype(np.float64)
        self.exact = (t == p).all(axis=1).astype(np.float64)
        sizes = t.sum(axis=1) + p.sum(axis=1)
        self.example_f1 = np.divide(2 * self.tp.sum(axis=1), sizes, out=np.zeros(len(t)), where=sizes > 0)
        union = (t | p).sum(axis=1)  # a text with no gold and no predicted label agrees fully (scikit-learn's zero_division=1)
        self.example_jaccard = np.divide(self.tp.sum(axis=1), union, out=np.ones(len(t)), where=union > 0)
        self.n, self.k = t.shape

    def totals(self, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Summed counts; ``weights`` (resamples x examples) gives one row of sums per resample."""
        if weights is None:
            weights = np.ones((1, self.n))
        return {"tp": weights @ self.tp, "fp": weights @ self.fp, "fn": weights @ self.fn,
                "exact": weights @ self.exact, "example_f1": weights @ self.example_f1,
                "example_jaccard": weights @ self.example_jaccard, "n": weights.sum(axis=1)}


def metric_values(totals: dict[str, np.ndarray], metric: str) -> np.ndarray:
    """A metric from summed counts (one value per row). Macro averages are over the labels present in the
    truth or the predictions (scikit-learn's default); F1 is 0 where it is undefined."""
    tp, fp, fn, n = totals["tp"], totals["fp"], totals["fn"], totals["n"]
    if metric in ("accuracy", "subset_accuracy"):
        return totals["exact"] / n
    if metric == "hamming_loss":
        return (fp + fn).sum(axis=1) / (n * tp.shape[1])
    if metric == "samples_f1":
        return totals["example_f1"] / n
    if metric == "jaccard":
        return totals["example_jaccard"] / n
    if metric == "micro_f1":
        denominator = 2 * tp.sum(axis=1) + fp.sum(axis=1) + fn.sum(axis=1)
        return np.divide(2 * tp.sum(axis=1), denominator, out=np.zeros(len(n)), where=denominator > 0)
    # the counts are whole numbers (resample weights count draws), so (tp + fp) + (tp + fn) is 2 tp + fp + fn exactly
    if metric == "macro_f1":
        return macro_f1(tp, tp + fp, tp + fn, present_only=True)
    if metric == "weighted_f1":
        support = tp + fn
        f1 = label_f1(tp, tp + fp, support)
        return (f1 * support).sum(axis=1) / np.maximum(support.sum(axis=1), 1)
    raise ValueError(f"unknown metric {metric!r}")


def resample_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each example is drawn in each of ``n_boot`` bootstrap resamples (resamples x examples)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    rows = np.arange(n_boot)[:, None] * n
    return np.bincount((rows + idx).ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def bootstrap(counts: Counts, metrics, n_boot: int = 1000, confidence: float = 0.95,
              seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """(point, low, high) of every metric: percentile bootstrap over examples, the same resamples for all."""
    point = counts.totals()
    weights = resample_weights(counts.n, n_boot, seed)
    samples = counts.totals(weights)
    tail = (1 - confidence) / 2
    out = {}
    for metric in metrics:
        values = metric_values(samples, metric)
        low, high = np.quantile(values, [tail, 1 - tail])
        out[metric] = (float(metric_values(point, metric)[0]), float(low), float(high))
    return out


def bootstrap_ci(y_true, y_pred, metric: str = "accuracy", n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """(point estimate, low, high) of one metric: percentile bootstrap over examples."""
    return bootstrap(Counts(y_true, y_pred), [metric], n_boot, confidence, seed)[metric]


def paired_bootstrap(y_true, pred_a, pred_b, metric: str, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                     num_labels: int | None = None) -> tuple[float, float, float]:
    """(difference, low, high) of ``metric(b) - metric(a)`` on the same examples: percentile bootstrap with the same
    resamples for both systems, so the interval is that of the difference, not of two independent scores."""
    a, b = Counts(y_true, pred_a, num_labels), Counts(y_true, pred_b, num_labels)
    weights = resample_weights(a.n, n_boot, seed)
    differences = metric_values(b.totals(weights), metric) - metric_values(a.totals(weights), metric)
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    point = metric_values(b.totals(), metric)[0] - metric_values(a.totals(), metric)[0]
    return float(point), float(low), float(high)


def randomization_test(y_true, pred_a, pred_b, metric: str, rounds: int = 2000, seed: int = 0,
                       num_labels: int | None = None, chunk: int = 2000) -> dict:
    """Approximate randomization (Noreen 1989; Yeh 2000): swap the two systems' outputs on each example with
    probability 1/2 and count how often the metric difference is at least the observed one. ``statistic`` is
    metric(a) - metric(b); ``score_a`` and ``score_b`` are the two scores it comes from."""
    a, b = Counts(y_true, pred_a, num_labels), Counts(y_true, pred_b, num_labels)
    score_a, score_b = float(metric_values(a.totals(), metric)[0]), float(metric_values(b.totals(), metric)[0])
    observed = score_a - score_b
    rng = np.random.default_rng(seed)
    extreme = 0
    keys = ("tp", "fp", "fn", "exact", "example_f1", "example_jaccard")
    # in chunks: many rounds (to resolve small p-values under a correction for many pairs) in bounded memory; the
    # generator's stream is the same as one draw of every round at once
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        swap = (rng.random((size, a.n)) < 0.5).astype(np.float64)
        keep = 1 - swap
        ta = {k: keep @ getattr(a, k) + swap @ getattr(b, k) for k in keys}
        tb = {k: keep @ getattr(b, k) + swap @ getattr(a, k) for k in keys}
        n = np.full(size, float(a.n))
        diffs = metric_values({**ta, "n": n}, metric) - metric_values({**tb, "n": n}, metric)
        extreme += int(np.sum(np.abs(diffs) >= abs(observed) - 1e-12))
    return {"statistic": observed, "p_value": (extreme + 1) / (rounds + 1), "rounds": rounds, "score_a": score_a,
            "score_b": score_b, "method": f"approximate randomization on {METRIC_NAMES.get(metric, metric)}"}


def rounds_for(comparisons: int, alpha: float = 0.05, base: int = 2000) -> int:
    """Randomization rounds so that the smallest p-value a test can give, 1 / (rounds + 1), stays well below what
    Holm's correction over ``comparisons`` tests needs (alpha / comparisons): else nothing could ever be significant."""
    return max(base, int(np.ceil(20 * max(comparisons, 1) / alpha)))


def mcnemar(y_true, pred_a, pred_b, exact: bool | None = None) -> dict:
    """McNemar's paired test on the same examples. ``b``: A right and B wrong; ``c``: A wrong and B right.
    Exact binomial test when b + c < 25 (or ``exact=True``), else chi-square with continuity correction."""
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    a_right, b_right = pred_a == y_true, pred_b == y_true
    if a_right.ndim == 2:  # multi-label: right means the whole label set is right
        a_right, b_right = a_right.all(axis=1), b_right.all(axis=1)
    b = int(np.sum(a_right & ~b_right))
    c = int(np.sum(~a_right & b_right))
    scores = {"score_a": float(a_right.mean()) if len(a_right) else 0.0, "score_b": float(b_right.mean()) if len(b_right) else 0.0}
    if b + c == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p_value": 1.0, "method": "no discordant pairs", **scores}
    if exact is None:
        exact = b + c < 25
    if exact:
        p = binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
        return {"b": b, "c": c, "statistic": float(min(b, c)), "p_value": float(min(1.0, p)), "method": "exact binomial",
                **scores}
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return {"b": b, "c": c, "statistic": float(statistic), "p_value": float(chi2.sf(statistic, 1)),
            "method": "chi-square, continuity-corrected", **scores}


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


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of a mean, e.g. over seeds (the mean alone for one value)."""
    from scipy.stats import t

    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, mean, mean
    half = float(t.ppf(1 - (1 - confidence) / 2, len(arr) - 1) * arr.std(ddof=1) / np.sqrt(len(arr)))
    return mean, mean - half, mean + half


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
