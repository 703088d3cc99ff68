import numpy as np
import pytest
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score, precision_recall_fscore_support

from emobench.evaluation import classification_report_text, compute_metrics

NAMES = ["sadness", "joy", "love", "anger"]


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 500)
    p = np.where(rng.random(500) < 0.7, y, rng.integers(0, 4, 500))
    return y, p


def test_metrics_match_scikit_learn(predictions):
    y, p = predictions
    m = compute_metrics(y, p, NAMES)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    precision, recall, f1, support = precision_recall_fscore_support(y, p)
    for i, name in enumerate(NAMES):
        c = m["per_class"][name]
        assert (c["precision"], c["recall"], c["f1"], c["support"]) == pytest.approx((precision[i], recall[i], f1[i], support[i]))
    assert m["macro"]["f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["weighted"]["f1"] == pytest.approx(f1_score(y, p, average="weighted"))
    assert m["confusion_matrix"] == confusion_matrix(y, p).tolist()


def test_report_text_is_scikit_learns_layout(predictions):
    y, p = predictions
    assert classification_report_text(compute_metrics(y, p, NAMES)) == classification_report(y, p, target_names=NAMES, digits=4)


def test_absent_class_gets_zero_not_an_error():
    m = compute_metrics([0, 0, 1], [0, 0, 1], ["a", "b", "c"])
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]
