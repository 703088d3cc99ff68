"""What every analysis reads: one run's outcome on its test split, and an interval around a score."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..metrics import SplitMetrics
from ..statistics import MULTI_LABEL_METRICS, SINGLE_LABEL_METRICS

ALPHA = 0.05
N_BOOT = 1000


@dataclass
class RunOutcome:
    """One run's outcome on its test split, as a study loads it."""

    name: str  # shown in reports: the model name, or the run folder when one model name has several configurations
    model: str
    seed: int
    run_dir: str
    task: str
    labels: list[str]
    metrics: SplitMetrics  # metrics.json's test entry
    y_true: np.ndarray  # label ids, or a 0/1 matrix (multi-label)
    y_pred: np.ndarray
    probs: np.ndarray | None = None
    texts: list[str] = field(default_factory=list)
    history: list | None = None
    train_seconds: float = 0.0
    parameters: int | None = None
    params: dict | None = None
    preset: str | None = None
    temperature: float | None = None  # None: probabilities not from one model (an ensemble)
    val_true: np.ndarray | None = None  # validation predictions, for ensembles' thresholds
    val_probs: np.ndarray | None = None
    members: list[str] | None = None  # an ensemble's models
    baseline: bool = False  # majority or stratified: shown and tested like a model, never chosen
    budget: str | None = None  # the data budget it was trained on (None: the whole training split)
    train_texts: int = 0  # labelled training texts
    model_info: dict = field(default_factory=dict)  # the model's recorded facts (a baseline's chosen answer)
    validation_calibration: dict | None = None  # the validation split's calibration scores, from the run's metrics


@dataclass
class Interval:
    value: float
    low: float
    high: float


def metrics_for(task: str) -> list[str]:
    return list(MULTI_LABEL_METRICS if task == "multi_label" else SINGLE_LABEL_METRICS)


def group_by_model(outcomes: list[RunOutcome]) -> dict[str, list[RunOutcome]]:
    grouped: dict[str, list[RunOutcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.name, []).append(outcome)
    return {name: sorted(runs, key=lambda r: r.seed) for name, runs in grouped.items()}
