import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    assert m.accuracy == pytest.approx(accuracy_score(y, p))
    precision, recall, f1, support = precision_recall_fscore_support(y, p)
    for i, name in enumerate(NAMES):
        c = m.per_class[name]
        assert (c.precision, c.recall, c.f1, c.support) == pytest.approx((precision[i], recall[i], f1[i], support[i]))
    assert m.macro.f1 == pytest.approx(f1_score(y, p, average="macro"))
    assert m.weighted.f1 == pytest.approx(f1_score(y, p, average="weighted"))
    assert m.confusion_matrix == confusion_matrix(y, p).tolist()


def test_report_text_is_scikit_learns_layout(predictions):
    y, p = predictions
    assert classification_report_text(compute_metrics(y, p, NAMES)) == classification_report(y, p, target_names=NAMES, digits=4)


def test_absent_class_gets_zero_not_an_error():
    m = compute_metrics([0, 0, 1], [0, 0, 1], ["a", "b", "c"])
    assert m.per_class["c"].dump() == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m.confusion_matrix == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_one_text_change_is_the_largest_drop_one_text_can_cause(data):
    """The export's tolerance: exactly the most one changed prediction can lower accuracy and macro-F1 (brute force)."""
    import itertools

    from emobench.evaluation.metrics import compute_metrics, one_text_change

    multi = data.draw(st.booleans())
    k = data.draw(st.integers(2, 3 if multi else 6))
    n = data.draw(st.integers(1, 8 if multi else 20))
    shape = (n, k) if multi else (n,)
    values = st.integers(0, 1) if multi else st.integers(0, k - 1)
    truth = np.array(data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    predicted = np.array(data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    names = [str(i) for i in range(k)]
    base = compute_metrics(truth, predicted, names)
    worst = {"accuracy": 0.0, "macro_f1": 0.0}
    choices = [np.array(bits) for bits in itertools.product([0, 1], repeat=k)] if multi else list(range(k))
    for i in range(n):
        for choice in choices:
            changed = predicted.copy()
            changed[i] = choice
            after = compute_metrics(truth, changed, names)
            worst["accuracy"] = max(worst["accuracy"], base.accuracy - after.accuracy)
            worst["macro_f1"] = max(worst["macro_f1"], base.macro.f1 - after.macro.f1)
    step = one_text_change(truth, predicted, k)
    assert step["macro_f1"] == pytest.approx(worst["macro_f1"], abs=1e-12)
    assert worst["accuracy"] <= step["accuracy"] + 1e-12 and step["accuracy"] == pytest.approx(1 / n)
