"""Labels are never silently remapped, never collide with summary keys, and label sets are not read as labels."""
import csv
import json

import pytest
from typer.testing import CliRunner

from conftest import tiny_examples
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import DataError

runner = CliRunner()


def write_csv(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_ids_against_a_run_trained_on_names_are_refused_unless_mapped(tfidf_run, tmp_path):
    examples = tiny_examples(48, 3)
    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    by_name = write_csv(tmp_path / "names.csv", examples)
    by_id = write_csv(tmp_path / "ids.csv", [(t, names.index(l)) for t, l in examples])
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["evaluate", str(tfidf_run), "--data", str(by_id)])
    assert result.exit_code == 2
    assert "ids.csv, line 2: label '0' is an integer id, but the labels are names" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    with_names = runner.invoke(app, ["evaluate", str(tfidf_run), "--data", str(by_name), "--json", str(tmp_path / "a.json")])
    with_ids = runner.invoke(app, ["evaluate", str(tfidf_run), "--data", str(by_id), "--label-names", ",".join(names),
                                   "--json", str(tmp_path / "b.json")])
    assert with_names.exit_code == 0 and with_ids.exit_code == 0, with_ids.output
    a, b = json.loads((tmp_path / "a.json").read_text()), json.loads((tmp_path / "b.json").read_text())
    assert a["accuracy"] == b["accuracy"] > 0.9 and a["confusion_matrix"] == b["confusion_matrix"]
    # Another order is honoured, not assumed: ids index the names as given.
    shuffled = names[1:] + names[:1]
    remapped = write_csv(tmp_path / "ids2.csv", [(t, shuffled.index(l)) for t, l in examples])
    result = runner.invoke(app, ["evaluate", str(tfidf_run), "--data", str(remapped), "--label-names", ",".join(shuffled),
                                 "--json", str(tmp_path / "c.json")])
    assert result.exit_code == 0 and json.loads((tmp_path / "c.json").read_text())["accuracy"] == a["accuracy"]


def test_a_file_mixing_names_and_ids_is_refused(tmp_path):
    rows = [(t, l) for t, l in tiny_examples(60, 1)] + [("i feel odd", "3")]
    path = write_csv(tmp_path / "mixed.csv", rows)
    with pytest.raises(DataError, match=r"the labels mix integer ids \('3' at .*mixed.csv, line 62\) and names"):
        load_dataset(DatasetConfig(name=str(path)))


@pytest.mark.parametrize("label, suffix", [("0,3", ".csv"), ("joy,love", ".csv"), ("joy|love", ".csv"), ("[0, 3]", ".csv"),
                                           ('["joy", "love"]', ".jsonl")])
def test_label_sets_are_not_read_as_labels(tmp_path, label, suffix):
    rows = tiny_examples(60, 1) + [("i feel both", label)]
    path = tmp_path / f"d{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows))
    else:
        write_csv(path, rows)
    with pytest.raises(DataError, match=rf"d{suffix}, line \d+: label .*looks like several labels; for multi-label data pass "
                                        r"label_separator"):
        load_dataset(DatasetConfig(name=str(path)))


def test_labels_named_like_summaries_do_not_collide(tmp_path):
    """Classes called macro, weighted, accuracy and avg keep their own results everywhere."""
    words = {"macro": "huge", "weighted": "heavy", "accuracy": "precise", "avg": "middling"}
    rows = [(f"it is so {w} {i}", label) for i in range(20) for label, w in words.items()]
    path = write_csv(tmp_path / "d.csv", rows)
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--dataset", str(path), "-o", str(tmp_path / "c"), "--name", "x", "-q",
                                 "--no-baselines"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "c" / "x" / "runs" / "tfidf-s0" / "metrics.json").read_text())["splits"]["test"]
    assert set(metrics["per_class"]) == set(words) and isinstance(metrics["macro"]["f1"], float)
    assert set(metrics["per_class"]["macro"]) == {"precision", "recall", "f1", "support"}
    row = json.loads((tmp_path / "c" / "x" / "results.json").read_text())["runs"][0]
    assert set(row["per_class"]) == set(words) and isinstance(row["macro_f1"], float)
    header = (tmp_path / "c" / "x" / "results.csv").read_text().splitlines()[0].split(",")
    assert len(header) == len(set(header)) and "per_class.macro.f1" in header and "macro_f1" in header


def test_labels_differing_only_in_case_are_a_recorded_warning(tmp_path):
    rows = [(f"i feel text {i}", ["Joy", "joy", "anger"][i % 3]) for i in range(60)]
    path = write_csv(tmp_path / "d.csv", rows)
    with pytest.warns(UserWarning, match=r"labels 'Joy' and 'joy' differ only in case"):
        corpus = load_dataset(DatasetConfig(name=str(path)))
    assert any("differ only in case" in w for w in corpus.source.warnings)
