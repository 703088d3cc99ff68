"""Classification metrics (scikit-learn's definitions) as one typed :class:`SplitMetrics`, single- and multi-label.

Single-label: accuracy, per-class P/R/F1/support, macro and weighted averages, confusion matrix.
Multi-label (0/1 indicator matrices): per-label P/R/F1/support, micro / macro / weighted / samples
averages, subset accuracy (also under ``accuracy``), Hamming loss, the Jaccard score (SemEval-2018 E-c's official
metric: |gold & predicted| / |gold | predicted| per text, averaged; a text with neither scores 1), per-label
[tn, fp, fn, tp].
Per-class results always live under ``per_class``, so no label name can collide with a summary key.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..schema import AnyDict, Count, Finite, OpenRecord, Record, Share, Task

AVERAGES = {"single_label": ("macro", "weighted"), "multi_label": ("micro", "macro", "weighted", "samples")}


class Averages(Record):  # closed: an average is these three numbers, and the card shows every key it has
    precision: Share
    recall: Share
    f1: Share


class ClassScores(Record):
    precision: Share
    recall: Share
    f1: Share
    support: Count


class LabelCardinality(Record):
    true: Finite = Field(ge=0)
    predicted: Finite = Field(ge=0)


class SplitMetrics(OpenRecord):
    """One split's metrics, as ``metrics.json`` holds them. The fields are declared in the order the file has always
    listed them (single- and multi-label keys interleaved), and :meth:`as_dict` writes only those set, so the JSON
    is the same key for key; what a workflow adds (timing, calibration, transfer) is carried after them."""

    task: Task = "single_label"
    n: Count
    accuracy: Share
    subset_accuracy: Share | None = None
    hamming_loss: Share | None = None
    jaccard: Share | None = None
    label_cardinality: LabelCardinality | None = None
    per_class: dict[str, ClassScores]
    confusion_matrix: list[list[Count]] | None = None
    label_confusion: dict[str, list[Count]] | None = None
    micro: Averages | None = None
    macro: Averages
    weighted: Averages
    samples: Averages | None = None
    # what the workflow that scored the split adds (not computed here)
    eval_seconds: Finite | None = Field(None, ge=0)
    examples_per_second: Finite | None = Field(None, ge=0)
    calibration: AnyDict | None = None  # temperature, and the calibration scores before and after it

    def as_dict(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True)

    def dump(self) -> dict:
        return self.as_dict()


def label_f1(tp, predicted, true) -> np.ndarray:
    """Each label's F1 from its counts (on the last axis): 2 tp / (predicted + true), 0 where both are 0
    (scikit-learn's ``zero_division=0``)."""
    denominator = predicted + true
    return np.divide(2 * tp, denominator, out=np.zeros(np.broadcast(tp, denominator).shape), where=denominator > 0)


def macro_f1(tp, predicted, true, present_only: bool = False):
    """Macro-F1 from per-label counts (the last axis; leading axes are e.g. bootstrap resamples): the mean over all
    labels given, as :func:`compute_metrics` averages its scored labels, or with ``present_only`` over the labels
    present in the truth or the predictions (scikit-learn's default when no labels are named)."""
    f1 = label_f1(tp, predicted, true)
    if not present_only:
        return f1.mean(axis=-1)
    present = (predicted + true) > 0
    return (f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def compute_metrics(y_true, y_pred, label_names: list[str], scored: list[int] | None = None) -> SplitMetrics:
    """Metrics of predictions: label ids (single-label) or indicator matrices (multi-label). ``scored``: the label
    ids that get per-label scores and averages (default: all; data scored on another taxonomy may have labels
    without a text); accuracy and the confusion matrix always count every prediction."""
    # imported here, not at the top: the types above are read when predicting, which needs no scikit-learn
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scored = list(range(len(label_names))) if scored is None else list(scored)
    if y_true.ndim == 2:
        return _multi_label(y_true.astype(int), y_pred.astype(int), label_names, scored)
    labels = list(range(len(label_names)))
    y_true, y_pred = y_true.astype(int), y_pred.astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=scored, zero_division=0)
    result = {
        "task": "single_label",
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "per_class": _per_class([label_names[i] for i in scored], precision, recall, f1, support),
        "confusion_matrix": _confusion(y_true, y_pred, labels),
    }
    result.update(_averages(y_true, y_pred, scored, "single_label"))
    return SplitMetrics.model_validate(result)


def _averages(y_true, y_pred, labels: list[int], task: str) -> dict:
    """scikit-learn's averages over ``labels``; macro-F1 by :func:`macro_f1` from the same per-label counts, the one
    computation of it (scikit-learn's value to the last digit)."""
    from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support
    out = {}
    for average in AVERAGES[task]:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        out[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    if len(y_true):
        counts = multilabel_confusion_matrix(y_true, y_pred, labels=labels)
        tp = counts[:, 1, 1]
        out["macro"]["f1"] = float(macro_f1(tp, tp + counts[:, 0, 1], tp + counts[:, 1, 0]))
    return out


def _confusion(y_true, y_pred, labels: list[int]) -> list[list[int]]:
    """The confusion matrix over ``labels``; with one label (a transfer sharing one label with the run) scikit-learn
    warns that the matrix may have the wrong shape, which the labels given rule out: said at debug only."""
    from sklearn.metrics import confusion_matrix
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        return confusion_matrix(y_true, y_pred, labels=labels).tolist()


def _per_class(names, precision, recall, f1, support) -> dict:
    return {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])} for i, name in enumerate(names)}


def _multi_label(y_true: np.ndarray, y_pred: np.ndarray, label_names: list[str], scored: list[int]) -> SplitMetrics:
    from sklearn.metrics import hamming_loss, jaccard_score, multilabel_confusion_matrix, precision_recall_fscore_support
    labels = scored
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None,
                                                                     zero_division=0)
    subset = float((y_true == y_pred).all(axis=1).mean()) if len(y_true) else 0.0
    result = {
        "task": "multi_label",
        "n": int(len(y_true)),
        "accuracy": subset,
        "subset_accuracy": subset,
        "hamming_loss": float(hamming_loss(y_true, y_pred)) if len(y_true) else 0.0,
        "jaccard": float(jaccard_score(y_true, y_pred, average="samples", zero_division=1.0)) if len(y_true) else 0.0,
        "label_cardinality": {"true": float(y_true.sum(axis=1).mean()) if len(y_true) else 0.0,
                              "predicted": float(y_pred.sum(axis=1).mean()) if len(y_pred) else 0.0},
        "per_class": _per_class([label_names[i] for i in labels], precision, recall, f1, support),
        "label_confusion": {label_names[i]: m.ravel().tolist() for i, m in
                            zip(labels, multilabel_confusion_matrix(y_true, y_pred, labels=labels))},
    }
    result.update(_averages(y_true, y_pred, labels, "multi_label"))
    return SplitMetrics.model_validate(result)


def classification_report_text(metrics: SplitMetrics) -> str:
    """The per-class table as the seed study printed it: scikit-learn's classification report layout
    (4 digits), rendered from a split's metrics so a saved run can be shown without predicting again."""
    names = list(metrics.per_class)
    task = metrics.task
    width = max(len("weighted avg"), *(len(n) for n in names))
    head = f"{'':>{width}}  {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}\n\n"
    row = "{:>{w}}  {:>9.4f} {:>9.4f} {:>9.4f} {:>9}\n"
    lines = [head]
    for name in names:
        c = metrics.per_class[name]
        lines.append(row.format(name, c.precision, c.recall, c.f1, c.support, w=width))
    lines.append("\n")
    n = metrics.n
    if task == "single_label":
        lines.append(f"{'accuracy':>{width}}  {'':>9} {'':>9} {metrics.accuracy:>9.4f} {n:>9}\n")
    support = sum(c.support for c in metrics.per_class.values()) if task == "multi_label" else n
    for average in AVERAGES[task]:
        a = getattr(metrics, average)
        lines.append(row.format(f"{average} avg", a.precision, a.recall, a.f1, support, w=width))
    if task == "multi_label":
        jaccard = f", Jaccard {metrics.jaccard:.4f}" if metrics.jaccard is not None else ""
        cardinality = metrics.label_cardinality
        lines.append(f"\nsubset accuracy {metrics.subset_accuracy:.4f}{jaccard}, Hamming loss {metrics.hamming_loss:.4f}, "
                     f"labels per text {cardinality.true:.2f} (predicted {cardinality.predicted:.2f}), {n} texts\n")
    return "".join(lines)


def one_text_change(y_true, y_pred, num_labels: int) -> dict[str, float]:
    """The most one text whose prediction changes can lower each score of ``y_pred``: accuracy (subset accuracy for
    multi-label data) and macro-F1 over all labels, as :func:`compute_metrics` computes them. A check that compares
    two sets of predictions of the same texts must allow at least this, or one text decides it (on 48 texts of six
    labels, one changed prediction moves macro-F1 by up to about 3 points, more than the 1/48 of accuracy).

    Single-label: a text predicted p instead of q changes only the F1 of p and q; every (true, predicted) cell and
    alternative is tried on the counts (O(labels^3)). Multi-label: a text's labels are decided one by one, so its
    largest drop is the sum over labels of the drop its own decision on that label can cause (O(texts x labels))."""
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    n = len(y_true)
    if not n:
        return {"accuracy": 0.0, "macro_f1": 0.0}

    f1 = label_f1
    if y_true.ndim == 2:
        tp = (y_true & y_pred).sum(axis=0)
        predicted, true = y_pred.sum(axis=0), y_true.sum(axis=0)
        base = f1(tp, predicted, true)
        # the drop on each label when one text's decision there flips, by its (gold, predicted) cell
        drops = {}
        for gold in (0, 1):
            for said in (0, 1):
                step = 1 if said == 0 else -1  # predicted count after the flip
                after = f1(tp + (step if gold else 0), predicted + step, true)
                drops[gold, said] = np.maximum(base - after, 0) / num_labels
        per_text = sum(np.where((y_true == gold) & (y_pred == said), drops[gold, said], 0.0)
                       for gold in (0, 1) for said in (0, 1)).sum(axis=1)
        return {"accuracy": 1 / n, "macro_f1": float(per_text.max())}
    labels = np.arange(num_labels)
    tp = np.bincount(y_true[y_true == y_pred], minlength=num_labels).astype(float)
    predicted = np.bincount(y_pred, minlength=num_labels).astype(float)
    true = np.bincount(y_true, minlength=num_labels).astype(float)
    base = f1(tp, predicted, true)
    worst = 0.0
    for gold, said in {(int(t), int(p)) for t, p in zip(y_true, y_pred)}:
        for other in labels[labels != said]:
            tp2, predicted2 = tp.copy(), predicted.copy()
            predicted2[said] -= 1
            predicted2[other] += 1
            tp2[said] -= gold == said
            tp2[other] += gold == other
            after = f1(tp2, predicted2, true)
            worst = max(worst, float((base.sum() - after.sum()) / num_labels))
    return {"accuracy": 1 / n, "macro_f1": worst}
