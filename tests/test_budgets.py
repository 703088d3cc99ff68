"""Baselines in every comparison, and data budgets: stratified subsamples of the training split, the same for every
model at a size and seed, recorded row by row; learning curves and the best model at each budget."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import LABELS
from emobench.cli import app
from emobench.data import DatasetConfig, Split, load_dataset
from emobench.data.budgets import apply_budget, choose, parse_size
from emobench.errors import EmobenchError
from emobench.models import build_model, load_model

runner = CliRunner()


def test_majority_and_stratified_baselines(shared_root, tmp_path):
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    majority = build_model("majority").fit(corpus["train"], corpus["validation"], corpus.label_names, seed=0)
    counts = np.bincount(corpus["train"].labels, minlength=len(LABELS))
    assert set(majority.predict(corpus["test"].texts)) == {int(counts.argmax())}
    stratified = build_model("stratified").fit(corpus["train"], corpus["validation"], corpus.label_names, seed=3)
    texts = corpus["test"].texts
    together = stratified.predict_proba(texts)
    alone = np.concatenate([stratified.predict_proba([t]) for t in texts])
    assert np.array_equal(together, alone)  # a text's draw is its own, whatever surrounds it
    assert len(set(stratified.predict(texts))) > 2  # it really draws
    stratified.save(tmp_path / "s")
    assert np.array_equal(load_model(tmp_path / "s").predict_proba(texts), together)
    other_seed = build_model("stratified").fit(corpus["train"], corpus["validation"], corpus.label_names, seed=4)
    assert not np.array_equal(other_seed.predict(texts), stratified.predict(texts))


def test_a_multi_label_majority_answers_the_label_shares():
    train = Split([f"t{i}" for i in range(40)], [[0] if i % 4 else [0, 1] for i in range(40)])
    with pytest.warns(UserWarning, match="no validation split"):
        model = build_model("majority").fit(train, None, ["a", "b", "c"])  # thresholds 0.5
    probs = model.predict_proba(["anything"])[0]
    assert probs[0] > probs[1] > probs[2] and model.predict(["x"]).tolist() == [[1, 0, 0]]


def test_budget_sizes_and_their_errors():
    assert parse_size("16") == "16" and parse_size("016") == "16" and parse_size("0.25") == "0.25"
    assert parse_size("all") is None and parse_size(None) is None
    for bad in ("-3", "1.5", "abc", "", "0.0"):  # 0 is no labelled texts (tests/test_zero_labels.py)
        with pytest.raises(EmobenchError, match="texts per class"):
            parse_size(bad)


def test_single_label_budget_keeps_n_per_class(shared_root):
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    cut = apply_budget(corpus, "5", seed=1)
    assert np.bincount(cut["train"].labels).tolist() == [5] * len(LABELS)
    assert cut["validation"].texts == corpus["validation"].texts and cut["test"].texts == corpus["test"].texts
    assert cut.source.budget.rows["train"] == sorted(cut.source.budget.rows["train"])
    again = apply_budget(corpus, "5", seed=1)
    assert again["train"].texts == cut["train"].texts  # the same subsample for every model at a size and seed
    assert apply_budget(corpus, "5", seed=2)["train"].texts != cut["train"].texts
    both = apply_budget(corpus, "3", seed=1, validation=True)
    assert len(both["validation"]) == 3 * len(LABELS)
    share = apply_budget(corpus, "0.5", seed=1)
    assert abs(len(share["train"]) - len(corpus["train"]) / 2) <= len(LABELS)
    with pytest.warns(UserWarning, match="have fewer texts; all of them are kept"):
        assert len(apply_budget(corpus, "1000", seed=0)["train"]) == len(corpus["train"])


def test_multi_label_budget_keeps_every_label_present():
    rng = np.random.default_rng(0)
    labels = []
    for i in range(300):
        chosen = {int(rng.integers(0, 5))} | ({5} if i % 30 == 0 else set())  # label 5 is rare
        labels.append(sorted(chosen))
    labels += [[] for _ in range(10)]  # texts without a label
    split = Split([f"t{i}" for i in range(len(labels))], labels)
    rows, per_label = choose(split, 6, "4", seed=0, label_names=list("abcdef"), what="train")
    assert all(count >= 4 for count in per_label.values()), per_label
    assert sum(1 for r in rows if not labels[r]) == 4
    assert len(rows) < 40


def test_compare_with_budgets_baselines_and_flags(shared_root, tmp_path):
    args = ["compare", "--models", "tfidf,lstm", "--set", "lstm.epochs=1", "--set", "lstm.hidden_size=4", "--set",
            "lstm.glove=none", "--set", "lstm.min_steps=1", "--data-dir", str(shared_root), "-o", str(tmp_path), "--name",
            "b", "--train-sizes", "4,all", "--seeds", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "b"
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    assert "tfidf-n4-s1" in runs and "majority-s0" in runs and "stratified-n4-s0" in runs and "lstm-s1" in runs
    rows = [json.loads((folder / "runs" / n / "data.json").read_text())["source"]["budget"]["rows"]["train"]
            for n in ("tfidf-n4-s0", "lstm-n4-s0", "tfidf-n4-s1")]
    assert rows[0] == rows[1] != rows[2]  # tfidf and lstm at budget 4, seed 0: the same rows; seed 1 others
    config = json.loads((folder / "runs" / "lstm-n4-s0" / "config.json").read_text())
    assert config["params"]["min_steps"] == 1 and config["dataset"]["train_size"] == "4"  # the user's --set wins
    report = (folder / "report.md").read_text()
    assert "## Data budgets" in report and (folder / "figures" / "data_budgets.png").is_file()
    assert "majority (baseline)" in report and "## Against the baselines" in report
    assert "lstm is NOT significantly above the majority baseline" in report
    assert "warning: lstm is not significantly above the majority baseline" in result.output
    assert "best model at each data budget" in result.output
    stats = json.loads((folder / "statistics.json").read_text())
    assert [w["budget"] for w in stats["budgets"]["winners"]] == ["4", "all"]
    assert stats["budgets"]["winners"][1]["best"] == "tfidf"
    # Reused on a rerun; a changed budget list trains only the new size.
    again = runner.invoke(app, args[:-4] + ["--train-sizes", "4,8,all", "--seeds", "2"])
    assert again.exit_code == 0 and again.output.count("finished earlier, reused") == 16, again.output
    for bad, message in ((["--train-sizes", "4,4"], "names a size twice"), (["--train-sizes", "x"], "texts per class"),
                         (["--budget-validation"], "needs --train-sizes")):
        failed = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path),
                                     "--name", "bad", *bad])
        assert failed.exit_code == 2 and message in failed.output, failed.output


def test_compare_cuts_the_validation_split_at_every_budget(shared_root, tmp_path):
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--no-baselines", "--no-noise-audit", "--train-sizes",
                                 "4,all", "--budget-validation", "--data-dir", str(shared_root), "-o", str(tmp_path),
                                 "--name", "c", "-q"])
    assert result.exit_code == 0, result.output
    runs = tmp_path / "c" / "runs"
    cut = json.loads((runs / "tfidf-n4-s0" / "data.json").read_text())
    whole = json.loads((runs / "tfidf-s0" / "data.json").read_text())
    assert cut["source"]["budget"]["validation"] is True and cut["sizes"]["validation"] == 4 * len(LABELS)
    assert "budget" not in whole["source"] and whole["sizes"]["validation"] > cut["sizes"]["validation"]


def test_a_comparison_on_one_budget_says_so(shared_root, tmp_path):
    """With no "Data budgets" section (one budget), the report's first paragraph says the models saw a budget."""
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--no-noise-audit", "--train-sizes", "4", "--data-dir",
                                 str(shared_root), "-o", str(tmp_path), "--name", "c", "-q"])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "c" / "report.md").read_text()
    assert "## Data budgets" not in report
    assert f"Every model was trained on a data budget: 4 texts per class ({4 * len(LABELS)} training texts), not the " \
           "whole training split." in report


def test_train_on_a_budget_and_evaluate_it_again(shared_root, tmp_path):
    result = runner.invoke(app, ["train", "--model", "tfidf", "--data-dir", str(shared_root), "--train-size", "6", "--seed",
                                 "2", "-o", str(tmp_path), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "data.json").read_text())
    assert data["sizes"]["train"] == 6 * len(LABELS) and data["source"]["budget"]["seed"] == 2
    again = runner.invoke(app, ["evaluate", str(tmp_path / "r")])  # the same rows are read again: the data verifies
    assert again.exit_code == 0 and "the data differs" not in again.output and "NOTE" not in again.output, again.output


def test_min_steps_extends_epochs(shared_root, tmp_path):
    result = runner.invoke(app, ["train", "--model", "lstm", "--data-dir", str(shared_root), "--set", "epochs=1", "--set",
                                 "min_steps=20", "--set", "batch_size=64", "--set", "hidden_size=4", "--set", "glove=none", "--set", "patience=0",
                                 "-o", str(tmp_path), "--name", "m", "-q"])
    assert result.exit_code == 0, result.output
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert len(history) == 1 and history[0]["steps"] >= 20  # 180 texts at batch 64: 3 steps a pass, 7 passes for 20


@settings(max_examples=300, deadline=None, derandomize=True)
@given(texts=st.integers(1, 5000), min_steps=st.integers(0, 3000), epochs=st.integers(1, 50), batch=st.integers(1, 256),
       processes=st.integers(1, 8))
def test_min_steps_hold_for_any_data_size(texts, min_steps, epochs, batch, processes):
    import math

    from emobench.training.loop import LengthBucketBatches, repeats_for

    repeats = repeats_for(texts, min_steps, epochs, batch, processes)
    batches = math.ceil(texts * repeats / batch)
    if texts * repeats <= 20_000:  # the batches the sampler really cuts from the repeated texts
        assert len(LengthBucketBatches([i % 7 for i in range(texts * repeats)], batch, 0).batches()) == batches
    assert epochs * math.ceil(batches / processes) >= min_steps
    if repeats > 1:  # no more passes than needed
        fewer = math.ceil(texts * (repeats - 1) / batch)
        assert epochs * math.ceil(fewer / processes) < min_steps


def test_a_budget_of_twelve_texts_makes_the_promised_steps(shared_root, tmp_path):
    """12 texts at batch 64 with the small-data minimum of 300 steps: the repeated texts are re-batched, so the
    passes are counted after the repetition (it made about 60 steps when counted before), and history.json says so."""
    result = runner.invoke(app, ["train", "--model", "lstm", "--data-dir", str(shared_root), "--train-size", "2",
                                 "--set", "epochs=2", "--set", "hidden_size=4", "--set", "glove=none", "-o", str(tmp_path),
                                 "--name", "m", "-q"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["params"]["min_steps"] == 300 and config["params"]["batch_size"] == 64
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert sum(h["steps"] for h in history) >= 300 and history[-1]["total_steps"] >= 300
    assert history[-1]["passes"] > 1


def test_learning_curve_ticks_are_plain_numbers(tmp_path, monkeypatch):
    import matplotlib.axes

    from emobench.reporting import plots

    seen = []
    original = matplotlib.axes.Axes.set_xscale
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xscale", lambda ax, *a, **k: (seen.append(ax), original(ax, *a, **k))[1])
    plots.budget_curves({"tfidf": [(96, 0.26, 0.24, 0.28), (16000, 0.85, 0.83, 0.87)]}, set(), tmp_path / "c.png")
    ax = seen[0]
    labels = [ax.xaxis.get_major_formatter()(v, 0) for v in (100, 1000, 10000)]
    assert labels == ["100", "1,000", "10,000"]  # not mathtext, which the figures would draw literally
