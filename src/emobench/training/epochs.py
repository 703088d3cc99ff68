"""What an epoch of the training loop records and what is said about it: the validation scores, the log line, the
warning for a run still improving at its last epoch, and how often small data is repeated to make a step budget."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..records.run import EpochRecord


def repeats_for(texts: int, min_steps: int, epochs: int, batch_size: int, processes: int = 1) -> int:
    """How often an epoch goes over ``texts`` training texts so that ``epochs`` epochs make at least ``min_steps``
    optimizer steps. Counted after the repetition: the repeated texts are batched together (12 texts at batch 32
    repeated 30 times are 12 batches, not 30), and the length buckets cut whole batches, so a pass over N texts is
    ceil(N / batch_size) batches, shared by the processes."""
    if not min_steps or not texts:
        return 1
    steps = math.ceil(min_steps / max(epochs, 1))  # each process's steps an epoch
    batches = (steps - 1) * processes + 1  # the fewest batches that give every process that many
    return max(1, math.ceil(((batches - 1) * batch_size + 1) / texts))  # the fewest texts that cut that many batches


def still_rising(history: list[EpochRecord], metric: str, epochs: int) -> str | None:
    """The warning for a run whose validation ``metric`` was still improving when the epochs ran out (the best epoch is
    the last of ``epochs``, strictly above every earlier one): its best weights are a cut-off, not a converged choice.
    None when training stopped early, ran one epoch only (nothing to compare), or had no validation split."""
    from ..errors import option

    key = "val_" + metric
    scores = [getattr(h, key) for h in history if hasattr(h, key)]
    if len(scores) < 2 or len(scores) != len(history) or history[-1].epoch != epochs:
        return None
    if scores[-1] <= max(scores[:-1]):
        return None
    name = {"macro_f1": "macro-F1"}.get(metric, metric)
    return (f"validation {name} still rising at the last epoch ({epochs} of {epochs}): more epochs may help "
            f"({option('overrides')} epochs=N; {scores[-1]:.4f} there, at most {max(scores[:-1]):.4f} before)")


def validation_scores(logits: np.ndarray, labels: np.ndarray) -> dict:
    log_probs = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
    predicted = logits.argmax(axis=1)
    return {
        "val_loss": float(-log_probs[np.arange(len(labels)), labels].mean()),
        "val_accuracy": float((predicted == labels).mean()),
        "val_macro_f1": macro_f1(labels, predicted, logits.shape[1]),
        "val_n": int(len(labels)),
    }


def macro_f1(labels: np.ndarray, predicted: np.ndarray, num_labels: int) -> float:
    """scikit-learn's macro-F1 (zero_division=0) over the classes present in labels or predictions."""
    from ..evaluation.metrics import label_f1

    present = np.union1d(labels, predicted)
    tp = np.bincount(labels[labels == predicted], minlength=num_labels)
    f1 = label_f1(tp, np.bincount(predicted, minlength=num_labels), np.bincount(labels, minlength=num_labels))[present]
    return float(f1.mean()) if len(present) else 0.0


def describe(record: EpochRecord, epochs: int) -> str:
    text = f"epoch {record.epoch}/{epochs}: train loss {record.train_loss:.4f}"
    if hasattr(record, "val_loss"):
        text += (f", val loss {record.val_loss:.4f}, val accuracy {record.val_accuracy:.4f},"
                 f" val macro-F1 {record.val_macro_f1:.4f}")
    return text + f" ({record.seconds:.1f} s)"
