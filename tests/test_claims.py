"""Every claim the comparison report makes is true: a claim is tested on its own metric and points the way that
metric's scores do, even where accuracy and macro-F1 disagree (as on MELD); the majority baseline's answer is chosen
from data a run may use and said; precision comes from the models; bold marks a real best."""
import html
import json
import re

import numpy as np
import pytest

from emobench.data.corpus import Split
from emobench.errors import RecordError
from emobench.evaluation import compute_metrics
from emobench.evaluation.analysis import (RunOutcome, against_baseline, analyse, analyse_budgets, best_constant,
                                          pair_tests, find_test)
from emobench.experiments.study import compare_runs
from emobench.models.baseline import BaselineClassifier
from emobench.evaluation.statistics import randomization_test, rounds_for
from emobench.records.comparison import check_claims
from emobench.reporting.cells import best_cells, best_in_rows
from test_report import make_run

LABELS = ["anger", "joy", "neutral", "sadness", "fear", "surprise"]  # "neutral" is not the first label
NEUTRAL, OTHERS = 2, [0, 1, 3, 4, 5]


def _truth() -> np.ndarray:
    """500 neutral texts, then 100 of every other label (like MELD: neutral dominates)."""
    return np.array([NEUTRAL] * 500 + [k for k in OTHERS for _ in range(100)])


def _predict(neutral_right: int, other_right: int, neutral_wrong_to_others: bool, others_wrong_to_neutral: bool):
    """Right on the first ``neutral_right`` neutral texts and the first ``other_right`` texts of every other label;
    wrong ones go to another label (a minority one, or neutral)."""
    y = _truth()
    pred = y.copy()
    wrong_neutral = np.arange(neutral_right, 500)
    pred[wrong_neutral] = np.array(OTHERS)[np.arange(len(wrong_neutral)) % 5] if neutral_wrong_to_others else 0
    for j, k in enumerate(OTHERS):
        rows = 500 + 100 * j + np.arange(other_right, 100)
        pred[rows] = NEUTRAL if others_wrong_to_neutral else OTHERS[(j + 1) % 5]
    return pred


# static: always neutral on neutral texts, few others right: accuracy 0.70, macro-F1 0.60
STATIC = _predict(500, 40, False, True)
# tfidf: fewer neutral right, more of the others: accuracy 0.65, macro-F1 0.66
TFIDF = _predict(300, 70, True, True)
# lstm: accuracy 0.40 (below always-neutral's 0.50), macro-F1 0.38 (far above its 0.11)
LSTM = _predict(150, 50, True, False)
MAJORITY = np.full(1000, NEUTRAL)


def _outcome(name, y_pred, seed=0, baseline=False, budget=None, info=None) -> RunOutcome:
    y = _truth()
    texts = [f"t{i}" for i in range(len(y))]
    return RunOutcome(name=name, model=name, seed=seed, run_dir="", task="single_label", labels=LABELS,
                      metrics=compute_metrics(y, y_pred, LABELS), y_true=y, y_pred=np.asarray(y_pred),
                      probs=np.eye(len(LABELS))[y_pred], texts=texts, baseline=baseline, budget=budget, train_texts=100,
                      model_info=info or {})


def _score(y_pred, metric):
    m = compute_metrics(_truth(), y_pred, LABELS)
    return m.accuracy if metric == "accuracy" else m.macro.f1


def test_the_crafted_models_disagree_on_accuracy_and_macro_f1():
    assert _score(STATIC, "accuracy") > _score(TFIDF, "accuracy") and _score(STATIC, "macro_f1") < _score(TFIDF, "macro_f1")
    assert _score(LSTM, "accuracy") < _score(MAJORITY, "accuracy") and _score(LSTM, "macro_f1") > _score(MAJORITY, "macro_f1")


def test_a_ranking_by_macro_f1_is_tested_on_macro_f1():
    first = {"static": _outcome("static", STATIC), "tfidf": _outcome("tfidf", TFIDF)}
    tests, description, accuracy_tests, accuracy_description = pair_tests(first, "single_label", "macro_f1")
    (macro,), (accuracy,) = tests, accuracy_tests
    assert macro.metric == "macro_f1" and "randomization" in macro.method and "macro-F1" in description
    assert macro.significant and macro.better == "tfidf"  # the higher macro-F1
    assert macro.score_a == pytest.approx(_score(STATIC, "macro_f1")) and macro.score_b == pytest.approx(_score(TFIDF, "macro_f1"))
    assert accuracy.metric == "accuracy" and "McNemar" in accuracy_description
    assert accuracy.significant and accuracy.better == "static"  # more texts right
    assert (accuracy.only_a_right, accuracy.only_b_right) == (200, 150)


def test_against_the_baseline_on_macro_f1():
    first = {"lstm": _outcome("lstm", LSTM), "majority": _outcome("majority", MAJORITY, baseline=True)}
    tests, *_ = pair_tests(first, "single_label", "macro_f1")
    (check,) = against_baseline(first, tests, "majority")
    assert (check.verdict, check.metric) == ("above", "macro_f1")
    assert check.score > check.baseline_score


def test_randomization_rounds_resolve_holm_over_many_pairs():
    # 105 pairs (15 models): with 2,000 rounds the smallest Holm-adjusted p would be 105 / 2001 > 0.05
    for pairs in (1, 15, 105):
        rounds = rounds_for(pairs)
        assert rounds >= 2000 and pairs / (rounds + 1) < 0.05 / 10
    # many rounds are drawn in chunks: the same test as one draw of them all
    one = randomization_test(_truth(), STATIC, TFIDF, "macro_f1", rounds=3000, chunk=3000)
    chunked = randomization_test(_truth(), STATIC, TFIDF, "macro_f1", rounds=3000, chunk=700)
    assert one == chunked


def test_the_budget_winner_is_not_called_ahead_when_the_tested_seed_says_otherwise():
    perfect = _truth()
    by_budget = {"4": [_outcome("a", STATIC, 0, budget="4"), _outcome("a", perfect, 1, budget="4"),
                       _outcome("b", TFIDF, 0, budget="4"), _outcome("b", TFIDF, 1, budget="4"),
                       _outcome("majority", MAJORITY, 0, True, "4", {"answer": "neutral", "answer_from": "validation",
                                                                      "tied_labels": LABELS})]}
    budgets = analyse_budgets(by_budget, "majority", "full")
    (winner,) = budgets.winners
    assert winner.best == "a"  # by the mean over seeds
    assert winner.tested_better == "b" and not winner.significant  # seed 0's macro-F1 says b
    assert winner.tested_scores[1] > winner.tested_scores[0]
    answer = budgets.majority_answers["4"]
    assert answer.label == "neutral" and answer.tie and "validation" in answer.chosen_from


def test_the_majority_baseline_breaks_a_training_tie_with_validation_counts():
    balanced = Split([f"t{i}" for i in range(12)], [k for k in range(6) for _ in range(2)])
    validation = Split([f"v{i}" for i in range(10)], [NEUTRAL] * 5 + [0, 1, 3, 4, 5])
    model = BaselineClassifier(label_names=LABELS).fit(balanced, validation, LABELS, progress=False)
    assert (model.predict(["x", "y"]) == NEUTRAL).all()
    assert model.info["answer"] == "neutral" and model.info["answer_from"] == "validation"
    assert model.info["tied_labels"] == LABELS
    tied = Split([f"v{i}" for i in range(6)], list(range(6)))  # no help from validation: said to be arbitrary
    model = BaselineClassifier(label_names=LABELS).fit(balanced, tied, LABELS, progress=False)
    assert model.info["answer_from"] == "label_order" and model.info["answer"] == "anger"
    clear = Split([f"t{i}" for i in range(5)], [3, 3, 3, 0, 1])
    model = BaselineClassifier(label_names=LABELS).fit(clear, validation, LABELS, progress=False)
    assert model.info["answer"] == "sadness" and model.info["answer_from"] == "train" and model.info["tied_labels"] == []


def test_the_best_constant_answer_is_the_test_splits_most_frequent_label():
    constant = best_constant(_outcome("lstm", LSTM))
    assert constant.label == "neutral"
    assert constant.scores["accuracy"] == pytest.approx(0.5) and constant.scores["macro_f1"] == pytest.approx(_score(MAJORITY, "macro_f1"))
    assert constant.tied_labels == []
    balanced = _outcome("lstm", LSTM)
    balanced.y_true = np.arange(600) % 6  # every label equally frequent: the reference says it is a tie
    assert best_constant(balanced).tied_labels == LABELS


def test_bold_marks_a_best_not_a_tie_at_zero():
    values = [[0.0, 0.5, 0.2], [0.0, 0.5, 0.1]]
    assert best_cells(values, 1) == {(0, 2), (1, 2), (0, 3)}  # no bold in the all-zero column; a real tie both
    assert best_cells([[0.0], [0.1]], 1, lower={0}) == {(0, 1)}  # lower is better: 0 is a best
    assert best_in_rows([[0.0, 0.0], [0.3, 0.3]], 2, 1) == {(1, 1), (1, 2)}


def test_statistics_refuse_a_claim_against_its_scores():
    first = {"static": _outcome("static", STATIC), "tfidf": _outcome("tfidf", TFIDF)}
    comparison = analyse(list(first.values()), "meld")
    from dataclasses import asdict

    facts = {"comparison": asdict(comparison)}
    check_claims(facts)
    facts["comparison"]["tests"][0]["better"] = "static"  # what McNemar's accuracy test would have said
    with pytest.raises(RecordError, match="tests\\[0\\].better"):
        check_claims(facts)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_meld_like_report_names_the_metric_and_points_the_right_way(tmp_path):
    y = _truth()
    runs = [make_run(tmp_path / "r", "tfidf", 0, y, TFIDF, labels=LABELS),
            make_run(tmp_path / "r", "static", 0, y, STATIC, labels=LABELS),
            make_run(tmp_path / "r", "lstm", 0, y, LSTM, labels=LABELS),
            make_run(tmp_path / "r", "majority", 0, y, MAJORITY, labels=LABELS)]
    out = compare_runs(runs, tmp_path / "cmp", formats=["md", "html"]).folder
    text = _text((out / "report.html").read_text())
    assert "tfidf beats static on macro-F1" in text and "static beats tfidf" not in text
    assert re.search(r"Against the runner-up, static \(macro-F1 0\.60\d+\), the gap is a significant difference in "
                     r"macro-F1 \(approximate randomization on macro-F1", text)
    assert "On accuracy the order is the other way round: static gets significantly more test texts right" in text
    assert "yes, static more accurate" in text  # McNemar, labelled as the accuracy test
    assert "lstm is significantly above the majority baseline on macro-F1" in text
    assert "lstm is significantly BELOW" not in text and "lstm is NOT" not in text
    # the baseline's answer is said (a run from before ties were recorded says so), beside the test-label reference
    assert "The majority baseline always answers 'neutral' (the most frequent label of the training split; how a tie" in text
    assert "Reference line, not a model: always answering 'neutral', the most frequent label of the test split" in text
    precision = re.search(r"known to about ±[\d.]+ points \(half the mean width of the 95% bootstrap intervals of "
                          r"([^;]+); baselines left out\)", text)
    assert precision and precision.group(1) == "tfidf, static, lstm"
    stats = json.loads((out / "statistics.json").read_text())["comparison"]
    assert {t["metric"] for t in stats["tests"]} == {"macro_f1"} and {t["metric"] for t in stats["accuracy_tests"]} == {"accuracy"}
    assert stats["best_constant"]["label"] == "neutral" and stats["majority_answer"]["label"] == "neutral"


def _flat(blocks) -> str:
    return " ".join("".join(part if isinstance(part, str) else str(getattr(part, "text", part)) for part in line)
                    if isinstance(line, list) else str(line) for line in blocks)


def test_an_accuracy_reversal_is_said_even_when_not_significant():
    from emobench.reporting.score_sections import conclusions

    y = _truth()
    better_f1 = STATIC.copy()
    better_f1[:12] = 0  # 12 neutral texts now wrong ...
    right = [500 + 100 * j + k for j in range(5) for k in (50, 51)]
    better_f1[right] = y[right]  # ... and 10 minority texts right: accuracy 0.698 < 0.700, macro-F1 0.613 > 0.604
    c = analyse([_outcome("a", STATIC), _outcome("b", better_f1)], "emotion")
    scores = {m.name: m.scores for m in c.models}
    assert scores["b"]["macro_f1"].value > scores["a"]["macro_f1"].value
    assert scores["b"]["accuracy"].value < scores["a"]["accuracy"].value
    second = "a"
    text = _flat(conclusions(c))
    assert f"On accuracy the order is the other way round: {second} gets more test texts right" in text
    assert "not significantly" in text and "Best macro-F1: b" in text.replace("*", "")


def test_the_label_noise_section_says_who_flagged_and_who_compares_fairly():
    from emobench.evaluation.analysis import Interval, NoiseAnalysis, NoiseScores
    from emobench.reporting.error_sections import kin_sentence, noise_blocks

    i = Interval(0.5, 0.4, 0.6)
    score = lambda name, kin, baseline=False: NoiseScores(name, {"macro_f1": i, "accuracy": i},  # noqa: E731
                                                          {"macro_f1": i, "accuracy": i}, 3, 1, kin, baseline)
    only_baselines = NoiseAnalysis(2, 40, "tfidf, 5 folds out of fold", [score("tfidf", True),
                                   score("majority", False, True), score("stratified", False, True)], 1, 0, [],
                                   multi_label=True)
    sentence = kin_sentence(only_baselines)
    assert sentence.startswith("Not a fair comparison for tfidf") and "no compared model is scored fairly" in sentence
    assert "majority" not in sentence
    assert "subset accuracy, unflagged" in _flat([str(b) for b in noise_blocks(only_baselines)])
    two = NoiseAnalysis(2, 40, "tfidf, 5 folds", [score("tfidf", True), score("lstm", False), score("static", False)],
                        1, 0, [])
    assert "compare lstm, static among themselves" in kin_sentence(two)
