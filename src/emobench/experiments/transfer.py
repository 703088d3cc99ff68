"""A run scored on another dataset's texts, on the labels both share: the texts none of whose labels the run knows are
dropped and counted, the predictions are restricted to the shared labels, and the metrics are averaged over the shared
labels that have texts. What was found about the data comes back typed (:class:`TransferReport`)."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Corpus, Split
from ..errors import EmobenchError, EmobenchWarning, option
from ..evaluation import compute_metrics
from ..evaluation.metrics import SplitMetrics
from ..models.base import Classifier
from ..records.run import Predictions, write_predictions
from ..records.transfer import TransferReport
from .evaluate import scored_description


@dataclass
class TransferEvaluation:
    """The scores over the shared labels, what was found about the data, and the predictions (for paired statistics)."""

    metrics: SplitMetrics
    transfer: TransferReport
    predictions: Predictions

    def written(self, transfer: TransferReport | None = None) -> dict:
        """The metrics as a file holds them: the scores, then the transfer facts under ``transfer``."""
        return {**self.metrics.as_dict(), "transfer": (transfer or self.transfer).dump()}


def transfer_evaluate(model: Classifier, corpus: Corpus, split: str = "test") -> TransferEvaluation:
    """A model scored on another dataset's split, on the labels both share.

    Examples none of whose gold labels is shared are dropped (a model cannot be right about a class it does
    not know); predictions are restricted to the shared labels (a single-label model's argmax over them, a
    multi-label model's thresholds on them). The metrics follow the target data's task and are averaged over
    the shared labels only."""
    data = corpus[split]
    shared = _shared_labels(model, corpus)
    data_columns = [corpus.label_names.index(name) for name in shared]
    truth = data.label_matrix(corpus.num_labels)[:, data_columns]
    keep = np.flatnonzero(truth.sum(axis=1) > 0)
    if not len(keep):
        raise EmobenchError(f"{scored_description(corpus, split)}: no text has a label the run knows "
                            f"({', '.join(model.label_names)}); the data's labels: "
                            f"{', '.join(n for n, c in corpus.label_counts(split).items() if c)}")
    texts = [data.texts[i] for i in keep]
    truth = truth[keep]
    # A shared label without a single text in the scored split has no recall; averaged in, it would count as 0 for
    # every model. It is left out of the averages, and said.
    without = [name for name, c in zip(shared, truth.sum(axis=0)) if not c]
    if without:
        warnings.warn(f"{', '.join(without)}: no text has this label in {scored_description(corpus, split)}; left out "
                      "of the per-label scores and averages (a prediction of it counts as a mistake)", EmobenchWarning,
                      stacklevel=2)
    started = time.perf_counter()
    model_columns = [model.label_names.index(name) for name in shared]
    probs = model.predict_proba_batched(texts)[:, model_columns]
    seconds = time.perf_counter() - started
    top, predicted_matrix, rule = _restricted(model, probs, truth, model_columns)
    if corpus.multi_label or model.multi_label:
        y_true, y_pred = truth, predicted_matrix
    else:
        y_true, y_pred = truth.argmax(axis=1), top
    metrics = compute_metrics(y_true, y_pred, shared, scored=[i for i, name in enumerate(shared) if name not in without])
    metrics.eval_seconds = seconds
    majority = int(truth.sum(axis=0).argmax())
    report = TransferReport(
        dataset=corpus.name, split=split, shared_labels=shared,
        model_only_labels=[n for n in model.label_names if n not in shared],
        data_only_labels=[n for n in corpus.label_names if n not in shared],
        examples=len(data), kept=int(len(keep)), dropped=int(len(data) - len(keep)),
        dropped_by_label=_unknown_label_counts(data, corpus, shared), labels_without_texts=without,
        hit_rate=float(truth[np.arange(len(top)), top].mean()) if len(top) else 0.0,
        majority_label=shared[majority], majority_rate=float(truth[:, majority].mean()) if len(keep) else 0.0,
        prediction=rule)
    return TransferEvaluation(metrics, report, Predictions(texts, y_true, y_pred, probs, shared))


def _shared_labels(model: Classifier, corpus: Corpus) -> list[str]:
    shared = [name for name in model.label_names if name in corpus.label_names]
    if not shared:
        raise EmobenchError(f"the run's labels ({', '.join(model.label_names)}) and {corpus.name}'s "
                            f"({', '.join(corpus.label_names)}) have none in common; map them with {option('label_map')}")
    return shared


def _restricted(model: Classifier, probs: np.ndarray, truth: np.ndarray,
                model_columns: list[int]) -> tuple[np.ndarray, np.ndarray, str]:
    """The most probable shared label of every text, the decisions over the shared labels, and the rule that made
    them."""
    top = probs.argmax(axis=1)
    if model.multi_label:
        from ..evaluation.thresholds import decide

        thresholds = np.asarray(model.decision.thresholds)[model_columns]
        return top, decide(probs, thresholds, model.decision.at_least_one), \
            "the model's thresholds on the shared labels"
    predicted_matrix = np.zeros_like(truth)
    predicted_matrix[np.arange(len(top)), top] = 1
    return top, predicted_matrix, "argmax over the shared labels"


def _unknown_label_counts(data: Split, corpus: Corpus, shared: list[str]) -> dict[str, int]:
    """Texts dropped because none of their labels is one the run knows, counted by their labels."""
    counts: dict[str, int] = {}
    keep = {corpus.label_names.index(n) for n in shared}
    for labels in data.labels:
        ids = labels if corpus.multi_label else [labels]
        if ids and not keep.intersection(ids):
            for i in ids:
                counts[corpus.label_names[i]] = counts.get(corpus.label_names[i], 0) + 1
    return counts


def write_transfer_predictions(path: Path, predictions: Predictions) -> None:
    write_predictions(path, predictions.texts, predictions.golds(), predictions.probs, predictions.y_pred,
                      predictions.labels)
