"""Models against the majority baseline, what that baseline answers, and the best constant answer."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..statistics import Counts, metric_values
from .outcomes import RunOutcome
from .pairs import PairTest, find_test


@dataclass
class AgainstBaseline:
    """Whether a model beats the majority baseline on the test split (the paired test between the two on ``metric``)."""

    name: str
    baseline: str
    p_holm: float
    verdict: str  # "above", "below" or "not significantly above", on ``metric``
    metric: str = "macro_f1"
    score: float | None = None  # the model's and the baseline's ``metric`` on the tested predictions
    baseline_score: float | None = None


@dataclass
class BaselineAnswer:
    """What the majority baseline answers, and from which data the answer was chosen (never the test labels)."""

    name: str
    label: str | None  # the label it always answers (None: multi-label, or not one constant label)
    chosen_from: str  # a sentence: the data and the rule that chose it
    tie: bool  # several labels were equally frequent in the training data
    scores: dict[str, float]  # its accuracy and macro-F1 on the test split


@dataclass
class ConstantReference:
    """The best constant answer on the test split: a reference line read off the test labels, not a model."""

    label: str
    scores: dict[str, float]  # accuracy and macro-F1 of always answering ``label`` on the test split
    tied_labels: list[str] = field(default_factory=list)  # as frequent as ``label`` in the test split: the same scores


def against_baseline(first: dict[str, RunOutcome], tests: list[PairTest], majority: str | None) -> list[AgainstBaseline]:
    """Every model (not a baseline) against the majority baseline, from the Holm-adjusted paired tests (on their
    metric, the primary one: the verdict's direction is that metric's)."""
    if majority is None or majority not in first:
        return []
    out = []
    for name, outcome in first.items():
        if outcome.baseline:
            continue
        test = find_test(tests, name, majority)
        verdict = "not significantly above"
        if test.significant:
            verdict = "above" if test.better == name else "below"
        mine = test.a == name
        out.append(AgainstBaseline(name, majority, test.p_holm, verdict, test.metric,
                                   test.score_a if mine else test.score_b, test.score_b if mine else test.score_a))
    return out


def _scores_of(y_true, y_pred, num_labels: int) -> dict[str, float]:
    totals = Counts(y_true, y_pred, num_labels).totals()
    return {m: float(metric_values(totals, m)[0]) for m in ("accuracy", "macro_f1")}


def majority_answer(outcome: RunOutcome) -> BaselineAnswer:
    """The label the majority baseline answers (read off its test predictions, where it is constant) and how its
    training chose it (the model's recorded facts)."""
    info = outcome.model_info or {}
    scores = _scores_of(outcome.y_true, outcome.y_pred, len(outcome.labels))
    if outcome.task == "multi_label":
        return BaselineAnswer(outcome.name, None, "each label's share of the training texts, decided with thresholds tuned "
                              "on validation like any model's", False, scores)
    answers = np.unique(np.asarray(outcome.y_pred))
    if len(answers) != 1:
        return BaselineAnswer(outcome.name, None, f"not one constant label: its test predictions hold {len(answers)} "
                              "labels", False, scores)
    label = outcome.labels[int(answers[0])]
    tied = info.get("tied_labels") or []
    listed = ", ".join(repr(t) for t in tied)
    chosen = {"train": "the most frequent label of the training split",
              "validation": f"the training split's labels {listed} tie; of them, the most frequent in the validation split",
              "label_order": f"the training split's labels {listed} tie and the validation split does not break the tie: "
                             "the first of them in label order, an arbitrary choice"}.get(info.get("answer_from"))
    if chosen is None:
        chosen = ("the most frequent label of the training split; how a tie would have been broken is not recorded for "
                  "this run: emobench then gave a tie to the first label in label order")
    return BaselineAnswer(outcome.name, label, chosen, len(tied) > 1, scores)


def best_constant(outcome: RunOutcome) -> ConstantReference | None:
    """Always answering the test split's most frequent label: the best constant answer on accuracy and on macro-F1
    alike (a constant label's F1 grows with its share). Single-label data only."""
    if outcome.task != "single_label" or not len(outcome.y_true):
        return None
    y_true = np.asarray(outcome.y_true)
    counts = np.bincount(y_true, minlength=len(outcome.labels))
    top = int(counts.argmax())
    tied = [outcome.labels[k] for k in np.flatnonzero(counts == counts[top])]
    return ConstantReference(outcome.labels[top], _scores_of(y_true, np.full(len(y_true), top), len(outcome.labels)),
                             tied if len(tied) > 1 else [])
