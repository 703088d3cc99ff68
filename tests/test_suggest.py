"""`emobench data suggest` and `emobench.suggest`: which texts to label next (evaluation/active.py chooses,
experiments/suggest.py reads and scores, records/suggestions.py writes the CSV), and the active-learning benchmark."""
import csv
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import emobench
from emobench.cli import app
from emobench.errors import EmobenchError
from emobench.evaluation.active import entropy_uncertainty, margin_uncertainty, select

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- the selection functions


def test_uncertainty_ranks_an_unsure_text_above_a_sure_one():
    probs = np.array([[0.98, 0.01, 0.01], [0.4, 0.35, 0.25], [0.7, 0.2, 0.1]])
    assert list(np.argsort(-margin_uncertainty(probs))) == [1, 2, 0]
    assert list(np.argsort(-entropy_uncertainty(probs))) == [1, 2, 0]
    assert margin_uncertainty(np.array([[0.5, 0.5]]))[0] == pytest.approx(1)
    assert entropy_uncertainty(np.array([[1 / 3] * 3]))[0] == pytest.approx(1)
    for strategy in ("margin", "entropy"):
        assert list(select(probs, ["a", "b", "c"], 2, strategy).indices) == [1, 2]


def test_multi_label_uncertainty_is_measured_at_the_thresholds():
    probs = np.array([[0.31, 0.9], [0.6, 0.95]])
    # at 0.3, label 0 of the first text is on the fence; at 0.5 the second text's is the nearer
    assert margin_uncertainty(probs, np.array([0.3, 0.5]))[0] > margin_uncertainty(probs, np.array([0.3, 0.5]))[1]
    assert margin_uncertainty(probs, np.array([0.5, 0.5]))[1] > margin_uncertainty(probs, np.array([0.5, 0.5]))[0]


def test_diverse_does_not_pick_near_duplicates_together():
    groups = [["i feel so sad and lonely tonight", "i feel so sad and lonely tonight!", "i feel so sad and lonely tonite"],
              ["what a wonderful happy day at the beach", "what a wonderful happy day at the beach lol"],
              ["he makes me furious every single time", "he makes me furious every single time again"],
              ["i am terrified of the exam tomorrow", "i am terrified of the exam tomorrow morning"]]
    texts = [t for g in groups for t in g]
    group_of = [k for k, g in enumerate(groups) for _ in g]
    probs = np.tile([0.5, 0.5], (len(texts), 1))
    probs[:3] = [0.5, 0.5]  # the most uncertain texts are the three sad near-duplicates
    probs[3:] = [0.6, 0.4]
    chosen = select(probs, texts, 4, "diverse", seed=0)
    assert sorted(group_of[i] for i in chosen.indices) == [0, 1, 2, 3]
    assert chosen.indices[0] in (0, 1, 2)  # the most uncertain pick first
    margin = select(probs, texts, 4, "margin")  # uncertainty alone spends the batch on one group
    assert sorted(group_of[i] for i in margin.indices)[:3] == [0, 0, 0]


def test_random_is_seeded_and_n_beyond_the_texts_gives_all():
    probs = np.random.default_rng(0).dirichlet([1, 1, 1], size=50)
    texts = [f"text {i}" for i in range(50)]
    first = select(probs, texts, 10, "random", seed=3).indices
    assert list(first) == list(select(probs, texts, 10, "random", seed=3).indices)
    assert list(first) != list(select(probs, texts, 10, "random", seed=4).indices)
    everything = select(probs, texts, 80, "diverse", seed=0)
    assert sorted(everything.indices) == list(range(50)) and list(everything.scores) == sorted(everything.scores)[::-1]
    with pytest.raises(EmobenchError, match="strategy 'best'"):
        select(probs, texts, 10, "best")


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(rows=st.integers(1, 30), labels=st.integers(2, 5), n=st.integers(1, 40),
       strategy=st.sampled_from(["diverse", "margin", "entropy", "random"]), seed=st.integers(0, 10))
def test_any_selection_is_n_distinct_rows_with_scores_in_range(rows, labels, n, strategy, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(labels), size=rows)
    texts = [" ".join(rng.choice(["sad", "happy", "mad", "so", "very", "i", "feel"], size=4)) + f" {i}"
             for i in range(rows)]
    chosen = select(probs, texts, n, strategy, seed=seed, pool_factor=2)
    assert len(chosen.indices) == min(n, rows) == len(set(chosen.indices.tolist()))
    assert all(0 <= i < rows for i in chosen.indices) and np.all((chosen.scores >= 0) & (chosen.scores <= 1))


# ---------------------------------------------------------------- the command and the API


def unlabeled_file(folder: Path) -> Path:
    path = folder / "pool.txt"
    lines = ["i feel so sad today", "i am furious and angry", "i feel so sad today", "what a lovely happy day",
             "im scared and nervous", "i am amazed and surprised", "honestly i feel something", "this makes me think",
             "i feel so sad today"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_suggest_end_to_end_with_a_csv_to_label(tfidf_run, tmp_path):
    pool = unlabeled_file(tmp_path)
    out = tmp_path / "next.csv"
    result = invoke("data", "suggest", "--unlabeled", pool, "--model", tfidf_run, "-n", 4, "--output", out)
    assert result.exit_code == 0, result.output
    assert "2 repeated text(s)" in result.output and "suggestions written to" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"] and all(r["label"] == "" for r in rows)
    assert len({r["text"] for r in rows}) == 4 and list(rows[0]) == ["rank", "text", "label", "predicted_label",
                                                                   "probability", "score"]
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)

    again = invoke("data", "suggest", "--unlabeled", pool, "--model", tfidf_run, "-n", 2, "--output", out)
    assert again.exit_code == 2 and "already exists" in again.output and len(out.read_text().splitlines()) == 5
    forced = invoke("data", "suggest", "--unlabeled", pool, "--model", tfidf_run, "-n", 2, "--output", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert len(out.read_text().splitlines()) == 3 and not list(tmp_path.glob("*.lock")) + list(tmp_path.glob(".*tmp"))


def test_the_api_returns_a_typed_record(tfidf_run, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"body": "i feel so lonely"}\n{"body": "i am so happy"}\n{"body": "i feel so lonely"}\n',
                    encoding="utf-8")
    result = emobench.suggest(tfidf_run, pool, n=5, strategy="margin", text_column="body")
    assert isinstance(result, emobench.Suggestions)
    assert (result.texts, result.distinct, len(result.suggestions)) == (3, 2, 2)
    assert "2 distinct texts" in result.notes[-1] and result.family == "tfidf" and len(result.sha256) == 64
    lonely = next(s for s in result.suggestions if s.text == "i feel so lonely")
    assert lonely.predicted == ["sadness"] and 0 < lonely.probability <= 1
    with pytest.raises(EmobenchError, match="'label_column': not an option of the unlabelled file"):
        emobench.suggest(tfidf_run, pool, label_column="x")


@pytest.mark.parametrize("args, message", [
    (["--model", "{tmp}/nope"], r"nope: no such run or model directory"),
    (["--model", "{tmp}"], r"no saved emobench model"),
    (["--unlabeled", "{tmp}/empty.txt"], r"empty\.txt: no texts"),
    (["--unlabeled", "{tmp}/missing.txt"], r"missing\.txt: file not found"),
    (["-n", "0"], r"-n 0"),
    (["--strategy", "best"], r"--strategy"),
    (["--output", "{tmp}/no/out.csv"], r"the folder .*no does not exist"),
    (["--output", "{run}/out.csv"], r"inside .*a folder emobench wrote"),
    (["--force"], r"--force replaces an existing --output file"),
    (["--label-column", "x"], r"No such option|--label-column"),
    (["--unlabeled", "{tmp}/pool.csv", "--text-column", "body"], r"pool\.csv, line 2: missing column 'body'"),
])
def test_bad_inputs_are_clear_errors(tfidf_run, tmp_path, args, message):
    import re

    pool = unlabeled_file(tmp_path)
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    (tmp_path / "pool.csv").write_text("text\ni feel sad\n", encoding="utf-8")
    base = {"--unlabeled": str(pool), "--model": str(tfidf_run)}
    args = [a.format(tmp=tmp_path, run=tfidf_run) for a in args]
    for name in list(base):
        if name in args:
            base.pop(name)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke("data", "suggest", *[x for kv in base.items() for x in kv], *args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert re.search(message, result.output), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


# ---------------------------------------------------------------- the benchmark


def test_the_benchmark_runs_a_tiny_curve(shared_root, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBENCH_DATA", str(shared_root))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    common = importlib.import_module("common")
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    bench = importlib.import_module("active_learning")
    path = bench.main(["--model", "tfidf", "--rounds", "1", "--seeds", "1", "--start", "2", "--step", "6"])
    import json

    data = json.loads(path.read_text())
    assert path.parent == tmp_path and data["benchmark"] == "active_learning" and data["machine"]["cpu_count"]
    rows = {(r["round"], r["selection"]): r for r in data["rows"]}
    assert set(rows) == {(0, "diverse"), (0, "random"), (1, "diverse"), (1, "random")}
    assert rows[(0, "diverse")]["labelled"] == 12 and rows[(1, "random")]["labelled"] == 18
    assert rows[(0, "diverse")]["macro_f1"] == rows[(0, "random")]["macro_f1"]  # one shared start
    assert 0 <= rows[(1, "diverse")]["macro_f1"] <= 1
    sys.modules.pop("active_learning", None)
