"""Zero labels: ``--train-size 0`` (an empty training split, for the families that learn from no labelled text), and
the 0 point of ``compare --train-sizes 0,...`` learning curves: the families that cannot learn from nothing are
listed as skipped there, and every report says which points used no labels."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import emobench
from conftest import LABELS
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.data.budgets import apply_budget, parse_size
from emobench.errors import EmobenchError
from emobench.models import registry
from emobench.models.baseline import BaselineClassifier

runner = CliRunner()
ZERO = "wordmatch"  # the tiny zero-shot test family and model


class WordMatch(BaselineClassifier):
    """A zero-shot stand-in: a text's logit for a label is how many of its words share the label name's first three
    letters (``angry`` for anger); it learns nothing from labelled texts, so it can train on none."""

    family = ZERO

    def _fit(self, train, validation, *, seed=0, **options):
        self.shares = np.full(len(self.label_names), 1 / len(self.label_names))
        self.seed = int(seed)
        self.info = {"parameters": 0, "seed": self.seed}

    def logits(self, texts):
        stems = [name[:3] for name in self.label_names]
        return np.array([[sum(w.startswith(s) for w in t.lower().split()) * 3.0 for s in stems] for t in texts])


@pytest.fixture
def zero_family(monkeypatch):
    """``wordmatch`` registered as a family and a model that learns from no labels (the lead's fewshot family's
    place)."""
    monkeypatch.setitem(registry.FAMILIES, ZERO, registry.FamilyEntry(f"{__name__}:WordMatch", "numpy",
                                                                      inputs=frozenset({"no_labels"})))
    monkeypatch.setitem(registry.MODELS, ZERO, registry.ModelEntry(ZERO, {}, None, "test: label names, no training"))
    return ZERO


# -------- budgets at 0

def test_zero_is_a_size_and_its_spellings():
    assert parse_size("0") == "0" and parse_size("000") == "0" and parse_size(0) == "0" and parse_size(" 0 ") == "0"
    for bad in ("0.0", 0.0, "-1", -1, "0e0", ".0"):
        with pytest.raises(EmobenchError, match="texts per class"):
            parse_size(bad)
    with pytest.raises(EmobenchError, match="no labelled texts are written 0"):
        parse_size("0.0")


def test_a_budget_of_zero_empties_the_training_split_only(shared_root, recwarn):
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    for validation in (False, True):
        cut = apply_budget(corpus, "0", seed=3, validation=validation)
        assert len(cut["train"]) == 0
        assert cut["validation"].texts == corpus["validation"].texts and cut["test"].texts == corpus["test"].texts
        budget = cut.source.budget
        assert budget.size == "0" and budget.rows == {"train": []} and budget.validation is False
        assert budget.per_label["train"] == {name: 0 for name in LABELS}
    assert not [w for w in recwarn if "fewer texts" in str(w.message)]  # no label is "short" of texts asked to be none


# -------- train

def test_train_at_zero_with_a_family_that_needs_labels_is_refused_before_reading(tmp_path, zero_family, monkeypatch):
    import emobench.data.readers as readers
    import emobench.experiments.run as run

    def never(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(run, "load_dataset", never)
    monkeypatch.setattr(readers, "load_dataset", never)
    for model in ("tfidf", "majority"):
        result = runner.invoke(app, ["train", "--model", model, "--train-size", "0", "--data-dir", str(tmp_path / "none"),
                                     "-o", str(tmp_path / "out")])
        assert result.exit_code == 2, result.output
        assert "--train-size 0:" in result.output and "no labelled texts" in result.output
        assert ZERO in result.output.split("families that do:")[1]  # the families that can are named
        assert not (tmp_path / "out").exists()
    with pytest.raises(EmobenchError, match="train_size 0: the tfidf family does not learn from no labelled texts"):
        emobench.train(emobench.RunConfig(model="tfidf", dataset=DatasetConfig(data_dir=str(tmp_path), train_size=0),
                                          output_dir=str(tmp_path / "out")))


def test_train_at_zero_records_an_empty_training_split(shared_root, tmp_path, zero_family):
    result = runner.invoke(app, ["train", "--model", ZERO, "--train-size", "0", "--data-dir", str(shared_root), "-o",
                                 str(tmp_path), "--name", "z", "-q"])
    assert result.exit_code == 0, result.output
    assert "no training texts" not in result.output and "fewer texts" not in result.output  # no noise about asked-for 0
    data = json.loads((tmp_path / "z" / "data.json").read_text())
    assert data["sizes"]["train"] == 0 and data["sizes"]["validation"] > 0 and data["sizes"]["test"] > 0
    assert data["source"]["budget"]["size"] == "0" and data["source"]["budget"]["rows"] == {"train": []}
    metrics = json.loads((tmp_path / "z" / "metrics.json").read_text())
    assert metrics["splits"]["test"]["macro"]["f1"] > 0.2  # the label names alone, better than one label's 1/6
    audit = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(shared_root), "--train-size", "0"])
    assert audit.exit_code == 0, audit.output
    assert audit.output.count("no labelled texts (zero-shot)") == 1  # said once, as a fact
    api = emobench.train(emobench.RunConfig(model=ZERO, dataset=DatasetConfig(data_dir=str(shared_root), train_size="0"),
                                            output_dir=str(tmp_path), name="api"), progress=False)
    assert api.data.sizes["train"] == 0


# -------- compare --train-sizes 0,...

def test_compare_with_zero_trains_only_the_families_that_need_no_labels(shared_root, tmp_path, zero_family):
    args = ["compare", "--models", f"tfidf,{ZERO}", "--no-noise-audit", "--data-dir", str(shared_root), "-o", str(tmp_path),
            "--name", "c", "--train-sizes", "0,4,all", "--format", "latex"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "c"
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    assert f"{ZERO}-n0-s0" in runs and "tfidf-n4-s0" in runs and "majority-n4-s0" in runs
    assert not [r for r in runs if "-n0-" in r and not r.startswith(ZERO)]  # nothing that needs labels trained at 0
    results = json.loads((folder / "results.json").read_text())
    skipped = {(s["model"], s["budget"]) for s in results["skipped"]}
    assert skipped == {("tfidf", "0"), ("majority", "0"), ("stratified", "0")}
    assert all("needs labelled texts" in s["reason"] for s in results["skipped"])
    said = " ".join(result.output.split())  # the terminal wraps long lines
    assert "not trained at 0 labelled texts: zero-shot: tfidf (the tfidf family needs labelled texts)" in said
    assert "(zero-shot)" in said
    report = (folder / "report.md").read_text()
    assert "tfidf at 0 labelled texts: zero-shot: not trained (the tfidf family needs labelled texts)" in report
    assert "Points that used no labelled texts (0 labelled texts: zero-shot" in report and f"curves): {ZERO}." in report
    assert "(0 labelled texts: zero-shot)" in report  # the table's cell of the zero-shot point
    html, latex = (folder / "report.html").read_text(), (folder / "tables.tex").read_text()
    assert "0 labelled texts: zero-shot" in html and "0 labelled texts: zero-shot" in latex
    stats = json.loads((folder / "statistics.json").read_text())
    zero = [p for p in stats["budgets"]["points"] if p["budget"] == "0"]
    assert [(p["name"], p["zero_shot"], p["train_texts"]) for p in zero] == [(ZERO, True, 0.0)]
    assert stats["budgets"]["against_baseline"]["0"] == []  # no majority at 0: nothing compared with a missing one
    assert not any(p["zero_shot"] for p in stats["budgets"]["points"] if p["budget"] != "0")
    assert (folder / "figures" / "data_budgets.png").is_file()
    again = runner.invoke(app, ["report", str(folder)])  # rendered again from the record: the skipped rows stay
    assert again.exit_code == 0, again.output
    assert "tfidf at 0 labelled texts: zero-shot: not trained" in (folder / "report.md").read_text()


def test_a_study_of_zero_alone_through_the_python_api(shared_root, tmp_path, zero_family):
    from emobench import CompareConfig, run_comparison

    config = CompareConfig(dataset=DatasetConfig(data_dir=str(shared_root)), models=["tfidf", ZERO], train_sizes=[0],
                           output_dir=str(tmp_path), name="z", noise_audit=False)
    record = run_comparison(config, progress=False, log=lambda line: None)
    assert [(r.model, r.budget) for r in record.results.runs] == [(ZERO, "0")]
    assert {s.model for s in record.results.skipped} == {"tfidf", "majority", "stratified"}
    report = (tmp_path / "z" / "report.md").read_text()
    assert "Every model was trained on no labelled texts" in report and "tfidf at 0 labelled texts: zero-shot: not " \
        "trained" in report
    with pytest.raises(EmobenchError, match="train_sizes 0: none of the compared models \\(tfidf\\) learns from no "
                                            f"labelled texts; families that do: .*{ZERO}"):
        run_comparison(CompareConfig(dataset=DatasetConfig(data_dir=str(shared_root)), models=["tfidf"],
                                     train_sizes=["0", "4"], output_dir=str(tmp_path), name="none"))
    assert not (tmp_path / "none").exists()  # refused before any folder is made


def test_no_labels_and_a_cleaning_of_the_training_split_are_refused(shared_root, tmp_path, zero_family):
    result = runner.invoke(app, ["train", "--model", ZERO, "--train-size", "0", "--label-issues", "drop", "--data-dir",
                                 str(shared_root), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--train-size 0 leaves no training split to change" in result.output, result.output
    assert not (tmp_path / "out").exists()


@given(st.integers(min_value=0, max_value=10 ** 6), st.sampled_from(["", "0", "00"]), st.sampled_from(["", " "]))
@settings(max_examples=60, deadline=None)
def test_a_size_reads_back_as_itself(n, zeros, space):
    size = parse_size(f"{space}{zeros}{n}{space}")
    assert size == str(n) and parse_size(size) == size and (size == "0") == (n == 0)
