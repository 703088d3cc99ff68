"""Classification metrics (scikit-learn's definitions) in one JSON-ready dict."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def compute_metrics(y_true, y_pred, label_names: list[str]) -> dict:
    """Accuracy; per-class precision, recall, F1, support; macro and weighted averages; confusion matrix."""
    labels = list(range(len(label_names)))
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    result = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        result[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return result


def classification_report_text(metrics: dict) -> str:
    """The per-class table as the seed study printed it: scikit-learn's classification report layout
    (4 digits), rendered from a metrics dict so a saved run can be shown without predicting again."""
    names = list(metrics["per_class"])
    width = max(len("weighted avg"), *(len(n) for n in names))
    head = f"{'':>{width}}  {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}\n\n"
    row = "{:>{w}}  {:>9.4f} {:>9.4f} {:>9.4f} {:>9}\n"
    lines = [head]
    for name in names:
        c = metrics["per_class"][name]
        lines.append(row.format(name, c["precision"], c["recall"], c["f1"], c["support"], w=width))
    lines.append("\n")
    n = metrics["n"]
    lines.append(f"{'accuracy':>{width}}  {'':>9} {'':>9} {metrics['accuracy']:>9.4f} {n:>9}\n")
    for average in ("macro", "weighted"):
        a = metrics[average]
        lines.append(row.format(f"{average} avg", a["precision"], a["recall"], a["f1"], n, w=width))
    return "".join(lines)
