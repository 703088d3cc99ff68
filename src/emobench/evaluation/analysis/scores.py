"""Each model's scores: the lowest seed's with bootstrap intervals, the spread over seeds, per-class means, and how
honest its probabilities are."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..calibration import ReliabilityBin
from ..metrics import SplitMetrics
from ..statistics import Counts, bootstrap, mean_std
from .outcomes import N_BOOT, Interval, RunOutcome


@dataclass
class ModelSummary:
    name: str
    seeds: list[int]
    scores: dict[str, Interval]  # the lowest seed's test scores with 95% bootstrap intervals
    over_seeds: dict[str, dict]  # metric -> {mean, sd, n}
    per_class: dict[str, dict[str, float]]  # label -> precision/recall/f1 (mean over seeds) and support
    train_seconds: float
    eval_examples_per_second: float | None
    parameters: int | None
    confusion: list | None = None  # single-label, lowest seed
    history: list | None = None
    baseline: bool = False


@dataclass
class Calibration:
    """How honest a model's test probabilities are, before and after temperature scaling."""

    name: str
    temperature: float | None
    before: dict | None  # ece, brier, log_loss (None: no single temperature, e.g. an ensemble)
    after: dict
    validation: dict | None  # the same on validation, from the run's metrics
    bins_before: list[ReliabilityBin] | None
    bins_after: list[ReliabilityBin]


def _metric_from(metrics: SplitMetrics, metric: str) -> float:
    if metric in ("accuracy", "subset_accuracy"):
        return metrics.accuracy
    if metric in ("hamming_loss", "jaccard"):
        return getattr(metrics, metric)
    return getattr(metrics, metric.replace("_f1", "")).f1


def summarise_model(name: str, runs: list[RunOutcome], metrics: list[str]) -> ModelSummary:
    first = runs[0]
    intervals = bootstrap(Counts(first.y_true, first.y_pred, len(first.labels)), metrics, N_BOOT, seed=0)
    over_seeds = {}
    if len(runs) > 1:
        for metric in metrics:
            mean, sd = mean_std([_metric_from(r.metrics, metric) for r in runs])
            over_seeds[metric] = {"mean": mean, "sd": sd, "n": len(runs)}
    per_class = {}
    for label in first.labels:
        values = {k: float(np.mean([getattr(r.metrics.per_class[label], k) for r in runs]))
                  for k in ("precision", "recall", "f1")}
        per_class[label] = {**values, "support": first.metrics.per_class[label].support}
    return ModelSummary(
        name=name, seeds=[r.seed for r in runs], scores={m: Interval(*intervals[m]) for m in metrics}, over_seeds=over_seeds,
        per_class=per_class, train_seconds=float(np.mean([r.train_seconds for r in runs])),
        eval_examples_per_second=first.metrics.examples_per_second, parameters=first.parameters,
        confusion=first.metrics.confusion_matrix, history=first.history, baseline=first.baseline)


def calibration_of(outcome: RunOutcome) -> Calibration:
    from ..calibration import calibration_scores, reliability, uncalibrated

    multi = outcome.task == "multi_label"
    recorded = outcome.metrics.calibration or {}
    after = recorded.get("after") or calibration_scores(outcome.probs, outcome.y_true)
    before = bins_before = None
    if outcome.temperature is not None:
        before = recorded.get("before")
        raw = uncalibrated(outcome.probs, outcome.temperature, multi)
        before = before or calibration_scores(raw, outcome.y_true)
        bins_before = reliability(raw, outcome.y_true)
    return Calibration(name=outcome.name, temperature=outcome.temperature, before=before, after=after,
                       validation=outcome.validation_calibration, bins_before=bins_before,
                       bins_after=reliability(outcome.probs, outcome.y_true))
