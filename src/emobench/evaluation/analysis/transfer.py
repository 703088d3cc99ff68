"""Transfer: each model scored on another dataset's test split, on the labels both share."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..statistics import Counts, bootstrap, indicators
from .outcomes import N_BOOT, Interval, RunOutcome, metrics_for


@dataclass
class TransferResult:
    """One model scored on another dataset's test split, on the labels both share."""

    name: str
    seed: int
    dataset: str
    task: str
    shared_labels: list[str]
    kept: int
    dropped: int
    scores: dict[str, Interval]  # the target task's metrics, averaged over the shared labels
    hit_rate: Interval  # the model's top shared label is one of the text's labels
    majority_label: str
    majority_rate: float  # the hit rate of always answering the most frequent shared label
    in_domain: dict[str, float]  # the same model on its own test split
    prediction: str
    scored_on: str = ""  # "the test split of X (test.tsv)", "every text of meld.csv"
    labels_without_texts: list[str] = field(default_factory=list)  # shared, but no scored text has them
    overlap_with_training: int | None = None  # scored texts that also occur in the training split


def analyse_transfer(outcomes: list[RunOutcome], metrics: dict, predictions: dict) -> list[TransferResult]:
    """Transfer results of every run (keyed by run folder name), with bootstrap intervals. ``metrics``: each run's
    transfer metrics (a split's metrics whose ``transfer`` says what was scored); ``predictions`` hold ``y_true``,
    ``y_pred`` and ``probs`` over the shared labels."""
    results = []
    for outcome in outcomes:
        key = outcome.run_dir.rstrip("/").rsplit("/", 1)[-1]
        if metrics.get(key) is None:
            continue
        m, p = metrics[key], predictions[key]
        info, task = m.transfer, m.task
        chosen = metrics_for(task)
        shared, without = info.shared_labels, info.labels_without_texts
        columns = [i for i, name in enumerate(shared) if name not in without]  # the labels averaged over
        y_true = indicators(p.y_true, len(shared))[:, columns]
        y_pred = indicators(p.y_pred, len(shared))[:, columns]
        intervals = bootstrap(Counts(y_true, y_pred, len(columns)), chosen, N_BOOT, seed=0)
        hit = bootstrap_hits(_hits(p))
        results.append(TransferResult(
            name=outcome.name, seed=outcome.seed, dataset=info.dataset, task=task, shared_labels=info.shared_labels,
            kept=info.kept, dropped=info.dropped, scores={k: Interval(*intervals[k]) for k in chosen},
            hit_rate=hit, majority_label=info.majority_label, majority_rate=info.majority_rate,
            in_domain={"accuracy": outcome.metrics.accuracy, "macro_f1": outcome.metrics.macro.f1},
            prediction=info.prediction, scored_on=info.scored_on or f"the test split of {info.dataset}",
            labels_without_texts=without, overlap_with_training=info.overlap_with_training))
    return results


def _hits(predictions) -> np.ndarray:
    """1 where the model's most probable shared label is one of the text's labels."""
    top = np.asarray(predictions.probs).argmax(axis=1)
    y_true = np.asarray(predictions.y_true)
    if y_true.ndim == 2:
        return y_true[np.arange(len(top)), top].astype(float)
    return (y_true == top).astype(float)


def bootstrap_hits(hits: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> Interval:
    from ..statistics import resample_weights

    if not len(hits):
        return Interval(0.0, 0.0, 0.0)
    weights = resample_weights(len(hits), n_boot, seed)
    samples = weights @ hits / len(hits)
    low, high = np.quantile(samples, [0.025, 0.975])
    return Interval(float(hits.mean()), float(low), float(high))
