import numpy as np
import pytest

from emobench.evaluation import bootstrap_ci, holm, mcnemar, mean_std, paired_bootstrap


def _pairs(b, c, both_right=50, both_wrong=10):
    """Predictions of A and B with b examples only A gets right and c only B gets right."""
    y = np.zeros(b + c + both_right + both_wrong, dtype=int)
    a = np.array([0] * b + [1] * c + [0] * both_right + [1] * both_wrong)
    bb = np.array([1] * b + [0] * c + [0] * both_right + [1] * both_wrong)
    return y, a, bb


def test_mcnemar_exact_known_value():
    # b=10, c=2: two-sided exact p = 2 * P(X <= 2 | n=12, 1/2) = 2 * 79 / 4096
    y, a, b = _pairs(10, 2)
    result = mcnemar(y, a, b)
    assert (result["b"], result["c"]) == (10, 2)
    assert result["p_value"] == pytest.approx(2 * 79 / 4096)
    assert result["method"] == "exact binomial"


def test_mcnemar_chi_square_known_value():
    # b=40, c=20: (|40-20| - 1)^2 / 60 = 6.0167, p = 0.01418 (chi-square, 1 df)
    y, a, b = _pairs(40, 20)
    result = mcnemar(y, a, b)
    assert result["statistic"] == pytest.approx(361 / 60)
    assert result["p_value"] == pytest.approx(0.014180, abs=1e-5)
    assert mcnemar(y, a, a)["p_value"] == 1.0


def test_holm_known_values():
    # Holm: sorted 0.01, 0.02, 0.04 -> 3*0.01, 2*0.02, max(0.04, previous)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_bootstrap_interval_covers_true_accuracy_at_about_95_percent():
    rng = np.random.default_rng(1)
    true_accuracy, n, trials, covered = 0.8, 400, 200, 0
    for t in range(trials):
        y = np.zeros(n, dtype=int)
        p = (rng.random(n) > true_accuracy).astype(int)
        _, low, high = bootstrap_ci(y, p, "accuracy", n_boot=500, seed=t)
        covered += low <= true_accuracy <= high
    assert 0.90 <= covered / trials <= 0.99


def test_bootstrap_macro_f1_interval_contains_point_and_narrows_with_n():
    rng = np.random.default_rng(0)
    widths = []
    for n in (200, 2000):
        y = rng.integers(0, 3, n)
        p = np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, n))
        point, low, high = bootstrap_ci(y, p, "macro_f1", n_boot=300)
        assert low <= point <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_paired_bootstrap_is_the_interval_of_the_difference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 1000)
    a = np.where(rng.random(1000) < 0.7, y, rng.integers(0, 3, 1000))
    # b fixes 5 % of a's texts and changes nothing else: the difference is certain to be positive
    b = np.where(rng.random(1000) < 0.05, y, a)
    point, low, high = paired_bootstrap(y, a, b, "accuracy", n_boot=500)
    assert point == pytest.approx(np.mean(b == y) - np.mean(a == y))
    assert 0 < low <= point <= high
    # the paired interval is far narrower than the independent intervals of the two scores
    _, a_low, a_high = bootstrap_ci(y, a, "accuracy", n_boot=500)
    assert high - low < (a_high - a_low) / 2
    # identical systems differ by exactly 0 in every resample
    assert paired_bootstrap(y, a, a, "macro_f1", n_boot=100) == (0.0, 0.0, 0.0)


def test_mean_std():
    assert mean_std([1.0]) == (1.0, 0.0)
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, 2 ** 0.5))
