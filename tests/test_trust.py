"""Trusting probabilities and mistakes: calibration, temperature scaling, ensembles, error analysis, explanations."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import load_dataset
from emobench.evaluation.calibration import brier_score, expected_calibration_error, log_loss, reliability, uncalibrated
from emobench.models.explain import explain_texts
from emobench.models import build_model
from emobench.models.temperature import fit_temperature, nll

runner = CliRunner()


def test_ece_against_a_hand_computed_example():
    # Four predictions: confidences 0.9, 0.8 (bin 12 of 15: (0.8, 0.8667] holds 0.8667? no) -- computed by hand:
    # 0.95 -> bin 15 (right), 0.85 -> bin 13 (wrong), 0.55 -> bin 9 (right), 0.52 -> bin 8 (wrong).
    probs = np.array([[0.95, 0.05], [0.85, 0.15], [0.45, 0.55], [0.52, 0.48]])
    y = np.array([0, 1, 1, 1])
    # |1-0.95|/4 + |0-0.85|/4 + |1-0.55|/4 + |0-0.52|/4
    assert expected_calibration_error(probs, y) == pytest.approx((0.05 + 0.85 + 0.45 + 0.52) / 4)
    # Two in one bin: the bin's mean accuracy against its mean confidence.
    same = np.array([[0.9, 0.1], [0.9, 0.1]])
    assert expected_calibration_error(same, np.array([0, 1])) == pytest.approx(abs(0.5 - 0.9))
    assert brier_score(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([0, 0])) == pytest.approx((0 + 0.5) / 2)
    assert log_loss(np.array([[0.5, 0.5]]), np.array([1])) == pytest.approx(np.log(2))
    bins = reliability(probs, y)
    assert sum(b.count for b in bins) == 4 and bins[-1].accuracy == 1.0
    multi = expected_calibration_error(np.array([[0.9, 0.1]]), np.array([[1, 0]]))
    assert multi == pytest.approx(0.1)  # two binary predictions, 0.9 right and 0.1 (for absent) right


def test_temperature_scaling_lowers_nll_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    logits = rng.normal(0, 1, (2000, 4))
    logits[np.arange(2000), y] += 1.0
    overconfident = logits * 4  # right 60% of the time, sure of itself
    t = fit_temperature(overconfident, y)
    assert 3 < t < 5.5
    assert nll(overconfident, y, t) < nll(overconfident, y, 1.0) * 0.8
    probs = np.exp(overconfident / t) / np.exp(overconfident / t).sum(axis=1, keepdims=True)
    raw = np.exp(overconfident) / np.exp(overconfident).sum(axis=1, keepdims=True)
    assert expected_calibration_error(probs, y) < expected_calibration_error(raw, y) / 2
    assert np.allclose(uncalibrated(probs, t, False), raw, atol=1e-5)  # recovered for reliability diagrams
    multi = (rng.random((500, 3)) < 0.3).astype(int)
    z = (multi * 2 - 1) * 1.0 + rng.normal(0, 1, (500, 3))
    t = fit_temperature(z * 5, multi)
    assert nll(z * 5, multi, t) < nll(z * 5, multi, 1.0)


@pytest.mark.parametrize("name", ["tfidf", "lstm"])
def test_every_family_is_temperature_scaled_and_keeps_its_predictions(tiny_root, tmp_path, name):
    overrides = {"epochs": "6", "hidden_size": "16", "learning_rate": "0.01", "glove": "none"} if name == "lstm" else {}
    result = runner.invoke(app, ["train", "--model", name, *sum((["--set", f"{k}={v}"] for k, v in overrides.items()), []),
                                 "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())["splits"]
    meta = json.loads((tmp_path / "r" / "model" / "emobench_model.json").read_text())
    calibration = metrics["validation"]["calibration"]
    assert calibration["temperature"] == meta["temperature"] > 0
    assert calibration["after"]["log_loss"] <= calibration["before"]["log_loss"] + 1e-9  # fitted on validation
    assert set(metrics["test"]["calibration"]["after"]) == {"ece", "brier", "log_loss"}


def test_attributions_point_at_the_deciding_word(tiny_root):
    from collections import Counter

    from conftest import WORDS

    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    seen = Counter(w for t in corpus["train"].texts for w in t.split())
    cases = [(f"i feel {word} today", word, label) for label, word in
             ((label, max(WORDS[label], key=lambda w: seen[w])) for label in ("anger", "fear", "joy"))]
    for name, overrides in (("tfidf", {}), ("lstm", {"epochs": "15", "hidden_size": "16", "learning_rate": "0.01"})):
        model = build_model(name, overrides).fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
        for text, word, label in cases:
            explanation = explain_texts(model, [text], target=label)[0]
            assert explanation.label == label
            assert explanation.tokens[int(np.argmax(explanation.scores))] == word, (name, explanation)


def test_explain_command(tfidf_run, tiny_root, tmp_path, tiny_models):
    result = runner.invoke(app, ["explain", str(tfidf_run), "i feel so angry today", "--json", "--html",
                                 str(tmp_path / "e.html"), "--label", "anger"])
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout.splitlines()[0])
    assert item["tokens"] == ["i", "feel", "so", "angry", "today"] and item["label"] == "anger"
    assert item["tokens"][int(np.argmax(item["scores"]))] == "angry"
    assert "<span" in (tmp_path / "e.html").read_text()
    wrong = runner.invoke(app, ["explain", str(tfidf_run), "x", "--label", "bliss"])
    assert wrong.exit_code == 2 and "--label 'bliss': not one of the model's labels" in wrong.output
    # A transformer: Integrated Gradients over wordpieces, special tokens left out; completeness holds roughly.
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(f"hf:{tiny_models['bert']}", {"epochs": "2", "batch_size": "16", "learning_rate": "0.003"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    e = explain_texts(model, ["i feel furious today"], target="anger")[0]
    assert "[CLS]" not in e.tokens and len(e.tokens) == len(e.scores) >= 4


def test_report_has_calibration_ensembles_errors_and_explanations(tiny_root, tmp_path):
    result = runner.invoke(app, ["compare", "--models", "tfidf,lstm", "--no-baselines", "--set", "lstm.epochs=4", "--set", "lstm.glove=none",
                                 "--ensemble", "all", "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "c", "-q"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "c"
    md = (folder / "report.md").read_text()
    for heading in ("## Ensembles", "## Are the probabilities honest?", "## Where the models fail", "### tfidf",
                    "### ensemble(tfidf+lstm)"):
        assert heading in md, heading
    assert "ECE before" in md and "The most confident mistakes" in md
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # per-class F1, confusions, learning curves, reliability
    stats = json.loads((folder / "statistics.json").read_text())
    names = [m["name"] for m in stats["comparison"]["models"]]
    assert names == ["tfidf", "lstm", "ensemble(tfidf+lstm)"]
    speeds = [m["eval_examples_per_second"] for m in stats["comparison"]["models"]]
    assert speeds[2] == pytest.approx(1 / (1 / speeds[0] + 1 / speeds[1]))  # the members score one after another
    assert "ensemble(tfidf+lstm)" in result.output  # the summary table lists the ensemble too
    assert any({t["a"], t["b"]} == {"tfidf", "ensemble(tfidf+lstm)"} for t in stats["comparison"]["tests"])
    assert stats["comparison"]["calibration"][0]["temperature"] > 0 and stats["comparison"]["calibration"][2]["before"] is None
    errors = stats["comparison"]["errors"][0]
    assert errors["noise_mistakes"] is not None and isinstance(errors["confusions"], list)
    rows = json.loads((folder / "results.json").read_text())
    assert rows["ensembles"] == [["tfidf", "lstm"]]
    (folder / "report.md").unlink()
    assert runner.invoke(app, ["report", str(folder)]).exit_code == 0
    assert "ensemble(tfidf+lstm)" in (folder / "report.md").read_text()
    bad = runner.invoke(app, ["compare", "--models", "tfidf,lstm", "--ensemble", "tfidf+svm", "--data-dir", str(tiny_root),
                              "-o", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "svm not among the compared models" in bad.output and not (tmp_path / "b").exists()


def test_errors_separate_label_noise():
    from emobench.evaluation.analysis import RunOutcome, error_analysis, shared_mistakes

    texts = ["a text", "b text", "c text", "d text"]
    outcome = RunOutcome(name="m", model="m", seed=0, run_dir="", task="single_label", labels=["x", "y"], metrics={},
                         y_true=np.array([0, 1, 0, 1]), y_pred=np.array([1, 1, 1, 0]),
                         probs=np.array([[0.1, 0.9], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]]), texts=texts)
    report = error_analysis(outcome, {"c text"})
    assert report.mistakes == 3 and [m.text for m in report.confident] == ["a text", "d text", "c text"]
    assert report.confusions[0].true == "x" and report.confusions[0].predicted == "y" and report.confusions[0].count == 2
    assert report.noise_mistakes == 1 and report.noise_examples[0].label_noise
    other = RunOutcome(name="n", model="n", seed=0, run_dir="", task="single_label", labels=["x", "y"], metrics={},
                       y_true=outcome.y_true, y_pred=np.array([1, 1, 0, 0]), probs=outcome.probs, texts=texts)
    shared = shared_mistakes([outcome, other])
    assert shared.count == 2 and [e["text"] for e in shared.examples] == ["a text", "d text"]
