import json

import numpy as np
import pytest
from typer.testing import CliRunner

import emobench.training.loop as loop
from emobench.cli import app
from emobench.data import DatasetConfig
from emobench.errors import EmobenchError
from emobench.evaluation import compute_metrics
from emobench.experiments.study import CompareConfig, compare_runs, run_comparison
from emobench.records.run import MetricsRecord, RunWriter, split_digest

LABELS = ["sadness", "joy", "anger"]


def make_run(root, model, seed, y_true, y_pred, dataset="emotion", labels=LABELS, history=True):
    """A finished run folder as training writes it (records, manifest), without a model: predictions made up."""
    folder = root / f"{model}-s{seed}"
    folder.mkdir(parents=True)
    texts = [f"t{i}" for i in range(len(y_true))]
    writer = RunWriter(folder)
    writer.start({"model": model, "family": "tfidf", "params": {}, "seed": seed, "preset": None, "overrides": {},
                  "dataset": DatasetConfig(name=dataset).to_dict(), "output_dir": str(root), "name": folder.name},
                 {"seed": seed, "versions": {}, "machine": {}},
                 {"dataset": dataset, "labels": labels, "sizes": {"test": len(texts)}, "source": {"files": {"test.txt": "abc"}},
                  "audit_warnings": ["train: 3 texts occur more than once"],
                  "split_digests": {"test": split_digest(texts, [labels[k] for k in y_true])}})
    writer.predictions("test", texts, [labels[k] for k in y_true], np.eye(len(labels))[y_pred], np.asarray(y_pred), labels)
    test = compute_metrics(y_true, y_pred, labels).as_dict() | {"eval_seconds": 0.5, "examples_per_second": 400.0}
    epochs = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 10,
               "val_macro_f1": 0.4 + e / 10, "seconds": 1.0} for e in (1, 2, 3)]
    writer.results(MetricsRecord.model_validate({"train_seconds": 12.0, "parameters": 1000, "splits": {"test": test}}),
                   epochs if history else None)
    writer.complete()
    return folder


Y = np.random.default_rng(42).integers(0, 3, 300)


def predictions(accuracy, seed=0):
    """The shared test labels, and predictions that are right with probability ``accuracy``."""
    rng = np.random.default_rng(seed)
    return Y, np.where(rng.random(len(Y)) < accuracy, Y, (Y + 1) % 3)


@pytest.fixture
def fixture_runs(tmp_path):
    y, strong = predictions(0.9)
    _, weak = predictions(0.6, seed=1)
    _, close = predictions(0.88, seed=2)
    return [make_run(tmp_path / "runs", "strong", 0, y, strong),
            make_run(tmp_path / "runs", "weak", 0, y, weak, history=False),
            make_run(tmp_path / "runs", "close", 0, y, close)]


def test_report_from_fixture_results(fixture_runs, tmp_path):
    out = compare_runs(fixture_runs, tmp_path / "cmp", formats=["md", "html", "latex"]).folder
    rows = json.loads((out / "results.json").read_text())["runs"]
    assert [r["model"] for r in rows] == ["strong", "weak", "close"]
    assert {"accuracy", "macro_f1", "weighted_precision", "per_class", "train_seconds",
            "eval_examples_per_second", "parameters"} <= set(rows[0])
    assert set(rows[0]["per_class"]["joy"]) == {"precision", "recall", "f1", "support"}
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("model,seed,preset") and "per_class.joy.f1" in header
    md = (out / "report.md").read_text()
    # The seed's table: the strong model's cells are the bold ones in its row.
    strong_row = next(line for line in md.splitlines() if line.startswith("| strong |"))
    weak_row = next(line for line in md.splitlines() if line.startswith("| weak |"))
    assert strong_row.count("**") > weak_row.count("**")
    assert "95% CI]" in md and "McNemar" in md
    assert "**strong beats weak on macro-F1**" in md
    assert "No significant difference in macro-F1 between strong and close" in md
    assert "train: 3 texts occur more than once" in md
    for figure in ("per_class_f1.png", "confusion_matrices.png", "learning_curves.png", "reliability.png"):
        assert (out / "figures" / figure).stat().st_size > 1000
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<b>strong beats weak on macro-F1</b>" in html
    assert "colspan='3'" in html
    tex = (out / "tables.tex").read_text()
    assert "\\textbf{" in tex and "\\toprule" in tex
    stats = json.loads((out / "statistics.json").read_text())
    models = {m["name"]: m for m in stats["comparison"]["models"]}
    strong_acc = models["strong"]["scores"]["accuracy"]
    assert strong_acc["low"] <= strong_acc["value"] <= strong_acc["high"]
    assert {t["method"] for t in stats["comparison"]["tests"]} == {"approximate randomization on macro-F1"}
    accuracy = stats["comparison"]["accuracy_tests"]  # McNemar, as the accuracy test
    assert [t["method"] for t in accuracy] == ["exact binomial" if t["only_a_right"] + t["only_b_right"] < 25
                                               else "chi-square, continuity-corrected" for t in accuracy]
    assert {t["metric"] for t in accuracy} == {"accuracy"}


def test_seeds_give_mean_and_sd(tmp_path):
    y, a = predictions(0.9)
    _, b = predictions(0.8, seed=5)
    runs = [make_run(tmp_path / "r", "m", 0, y, a), make_run(tmp_path / "r", "m", 1, y, b),
            make_run(tmp_path / "r", "n", 0, y, b), make_run(tmp_path / "r", "n", 1, y, a)]
    out = compare_runs(runs, tmp_path / "cmp").folder
    md = (out / "report.md").read_text()
    assert "mean ± sd" in md and "(n=2)" in md
    stats = json.loads((out / "statistics.json").read_text())
    models = {m["name"]: m for m in stats["comparison"]["models"]}
    assert models["m"]["over_seeds"]["accuracy"]["sd"] > 0 and models["m"]["over_seeds"]["accuracy"]["n"] == 2


def test_isear_report_shows_the_paper(tmp_path):
    labels = ["joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 200)
    run = make_run(tmp_path / "r", "minilm", 0, y, np.where(rng.random(200) < 0.7, y, 0), dataset="isear", labels=labels)
    md = (compare_runs([run], tmp_path / "cmp").folder / "report.md").read_text()
    assert "RoBERTa (paper)" in md and "minilm (ours)" in md and "0.7431" in md


def test_runs_on_different_data_are_refused(tmp_path):
    y, p = predictions(0.9)
    a = make_run(tmp_path / "a", "m", 0, y, p)
    b = make_run(tmp_path / "b", "m", 0, y, p, dataset="isear")
    with pytest.raises(EmobenchError, match="different data"):
        compare_runs([a, b], tmp_path / "cmp")


def test_report_command_rerenders(fixture_runs, tmp_path):
    out = compare_runs(fixture_runs, tmp_path / "cmp").folder
    (out / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(out), "--format", "latex"])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and (out / "tables.tex").is_file()


class Interrupt(Exception):
    pass


def test_interrupted_comparison_picks_up_where_it_stopped(tiny_root, tmp_path, monkeypatch):
    config = CompareConfig(dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)), models=["tfidf", "lstm"],
                           seeds=[0], output_dir=str(tmp_path), name="study",
                           overrides={"lstm": {"epochs": "2", "hidden_size": "8", "learning_rate": "0.01"}}, baselines=False,
                           noise_audit=False)

    def interrupt(epoch):
        raise Interrupt()

    monkeypatch.setattr(loop, "_after_epoch", interrupt)
    with pytest.raises(Interrupt):
        run_comparison(config, progress=False, log=lambda m: None)
    assert (tmp_path / "study" / "runs" / "tfidf-s0" / "metrics.json").is_file()
    assert (tmp_path / "study" / "runs" / "lstm-s0.partial").is_dir()
    monkeypatch.setattr(loop, "_after_epoch", lambda epoch: None)
    messages = []
    folder = run_comparison(config, progress=False, log=messages.append).folder
    assert messages == ["tfidf-s0: finished earlier, reused", "lstm-s0: resuming the unfinished run"]
    rows = json.loads((folder / "results.json").read_text())["runs"]
    assert [r["model"] for r in rows] == ["tfidf", "lstm"]
    assert len(json.loads((folder / "runs" / "lstm-s0" / "history.json").read_text())) == 2
    assert (folder / "report.html").is_file()


def test_compare_command_on_finished_runs(fixture_runs, tmp_path):
    result = CliRunner().invoke(app, ["compare", *map(str, fixture_runs), "-o", str(tmp_path / "c"), "--name", "x"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "x" / "report.html").is_file() and "strong" in result.output
    result = CliRunner().invoke(app, ["compare", str(tmp_path), "-o", str(tmp_path / "c")])
    assert result.exit_code == 2 and "not a finished emobench run" in result.output


def test_a_comparison_without_captum_leaves_the_explanations_out(tiny_root, tmp_path, monkeypatch, caplog):
    """A core install (no extras): the study completes, and says what it left out and which extra adds it."""
    import sys

    monkeypatch.setitem(sys.modules, "captum", None)  # `import captum` raises ImportError
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    config = CompareConfig(dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)), models=["tfidf", "lstm"],
                           output_dir=str(tmp_path), name="core", overrides={"lstm": {"epochs": "1", "glove": "none"}})
    with caplog.at_level("WARNING", logger="emobench"):
        record = run_comparison(config, progress=False, log=lambda m: None)
    assert (record.folder / "report.html").is_file()
    assert "lstm: the report shows no explanations (explanations of torch models need captum" in caplog.text


def test_epochs_without_validation_scores_get_no_empty_legend(tmp_path, caplog):
    """A body fine-tuned without a validation split (fewshot) has epochs with a training loss only: the validation
    panel says so, and matplotlib is never asked for a legend of nothing (its warning reached the terminal)."""
    import logging

    from emobench.reporting.plots import learning_curves

    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        path = learning_curves({"fewshot": [{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.5}]},
                               tmp_path / "curves.png")
    assert path.stat().st_size > 1000
    assert not [r for r in caplog.records if "legend" in r.getMessage()], caplog.text


def test_a_file_emobench_did_not_write_is_left_out_of_the_comparisons_manifest(fixture_runs, tmp_path):
    """Found from outside: `report` listed a stray file (a review's corrections beside label_issues.json) in the
    manifest, so moving it away later "broke" the comparison."""
    out = compare_runs(fixture_runs, tmp_path / "cmp").folder
    (out / "label_issues.corrections.json").write_text("{}")
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0 and "left out of its manifest, not written by emobench: label_issues.corrections.json" \
        in result.output, result.output
    assert "corrections" not in (out / "MANIFEST.json").read_text()
    (out / "label_issues.corrections.json").unlink()
    again = CliRunner().invoke(app, ["report", str(out)])
    assert again.exit_code == 0, again.output
