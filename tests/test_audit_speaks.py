"""The audit speaks about the data it read: a dataset's own facts only for that dataset, placeholder examples and
conflicting labels (by name) taken from the data, the warnings a run depends on said by train and kept in data.json,
and splits emobench cut itself said to be cut, with their seed."""
import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import tiny_examples
from emobench.cli import app
from emobench.data import DatasetConfig, audit, load_dataset
from emobench.data.registry import dataset_entry
from emobench.errors import EmobenchError

runner = CliRunner()


def write_rows(path: Path, rows, header=("text", "label")) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def stop_before_scoring(monkeypatch):
    """The audit's label issues stop with an error right after the audit said which family scores them: what is said
    before any scoring is what these tests read, so no model is trained."""
    import emobench.experiments.label_issues as label_issues

    def stop(*args, **kwargs):
        raise EmobenchError("stopped before scoring")

    monkeypatch.setattr(label_issues, "find_issues", stop)


def test_the_dair_ai_sentence_is_said_of_dair_ai_only(tiny_root, tmp_path, stop_before_scoring):
    assert "dair-ai" in dataset_entry("emotion").audit_note
    assert dataset_entry("isear").audit_note is None and dataset_entry(str(tmp_path / "meld.csv")).audit_note is None
    other = write_rows(tmp_path / "meld.csv", tiny_examples(60, 1))
    said = runner.invoke(app, ["data", "audit", other, "--label-issues"])
    assert said.exit_code == 2 and "stopped before scoring" in said.output, said.output
    assert "scoring texts out of fold with tfidf, the default family for audits" in said.output
    assert "dair" not in said.output and "16,000" not in said.output
    own = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(tiny_root), "--label-issues"])
    assert own.exit_code == 2 and "the default family for audits" in own.output, own.output
    assert "on the full dair-ai emotion data, 5 folds of its 16,000 training texts" in own.output


def test_the_placeholder_example_is_taken_from_the_data(tmp_path):
    # MELD's non-answer is "I don't know."; the warning used to quote ISEAR's 'no response' whatever the data
    files = {"train": write_rows(tmp_path / "train.csv", tiny_examples(60, 1) + [("I don't know.", "joy")] * 3
                                 + [("None.", "anger")]),
             "test": write_rows(tmp_path / "test.csv", tiny_examples(24, 3))}
    report = audit(load_dataset(DatasetConfig(name=files["train"], files=files)))
    placeholders = [line for line in report.warnings if "placeholder" in line]
    assert report.splits["train"].placeholder_examples == ["I don't know.", "None."]  # the most frequent first
    assert placeholders == ['train: 4 empty or placeholder texts (e.g. "I don\'t know.")']


def test_conflicting_labels_are_names_in_the_audit_json(tmp_path):
    train = tiny_examples(60, 1) + [("same words here", "joy"), ("Same  words here", "anger")]
    files = {"train": write_rows(tmp_path / "train.csv", train),
             "test": write_rows(tmp_path / "test.csv", tiny_examples(24, 3))}
    result = runner.invoke(app, ["data", "audit", "--train-file", files["train"], "--test-file", files["test"],
                                 "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "a.json").read_text())
    example = saved["splits"]["train"]["conflicting_examples"][0]
    assert example == {"text": "same words here", "count": 2, "labels": ["anger", "joy"]}
    assert "labelled anger and joy" in result.output


def test_multi_label_conflicts_are_sets_of_names(tmp_path):
    rows = [(f"text {i}", ["joy|love", "anger"][i % 2]) for i in range(24)] + [("twice", "joy|love"), ("twice", "anger")]
    files = {"train": write_rows(tmp_path / "train.csv", rows), "test": write_rows(tmp_path / "test.csv", rows[:4])}
    report = audit(load_dataset(DatasetConfig(name=files["train"], files=files, label_separator="|")))
    assert report.splits["train"].conflicting_examples[0].labels == [["anger"], ["joy", "love"]]
    assert "(e.g. 'twice' labelled anger and joy+love)" in " ".join(report.warnings)


def test_a_saved_audit_with_label_names_is_still_read_and_used(tiny_root, tmp_path):
    pytest.importorskip("cleanlab")
    from emobench.experiments.label_issues import cleaning_plan
    from emobench.records.label_issues import read_label_issues

    train = tiny_root / "emotion" / "train.txt"
    train.write_text(train.read_text() + "a text twice;joy\na text twice;sadness\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(tiny_root), "--label-issues", "--splits",
                                 "train", "--folds", "2", "--json", str(tmp_path / "a.json"), "-q"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["splits"]["train"]["conflicting_examples"][0]["labels"] == ["joy", "sadness"]
    issues = read_label_issues(tmp_path / "a.json")  # validated, beside the data audit
    corpus = load_dataset(DatasetConfig(data_dir=str(tiny_root)))
    plan = cleaning_plan(corpus, "drop", str(tmp_path / "a.json"))
    assert plan.rows == sorted(issue.index for issue in issues.splits["train"].issues)


def test_train_says_and_records_the_texts_shared_with_test_and_the_conflicts(tmp_path):
    train_rows = tiny_examples(120, 1) + [("a text twice", "joy"), ("A text twice", "anger")]
    shared = [tiny_examples(120, 1)[i] for i in (0, 7)]  # MELD: texts shared by train and test went unmentioned
    files = {"train": write_rows(tmp_path / "train.csv", train_rows),
             "validation": write_rows(tmp_path / "validation.csv", tiny_examples(30, 2)),
             "test": write_rows(tmp_path / "test.csv", tiny_examples(30, 3) + shared)}
    corpus = load_dataset(DatasetConfig(name=files["train"], files=files))
    leaked = audit(corpus).leakage["train&test"]
    assert leaked >= 2
    result = runner.invoke(app, ["train", "--train-file", files["train"], "--validation-file", files["validation"],
                                 "--test-file", files["test"], "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    said = f"leakage: {leaked} texts appear in both train and test"
    assert said in result.output
    assert "texts occur more than once, 1 of them with conflicting labels (e.g. 'a text twice' labelled anger and joy)" \
        in result.output
    data = json.loads((tmp_path / "runs" / "r" / "data.json").read_text())
    assert said in data["audit_warnings"]
    assert any("conflicting labels (e.g. 'a text twice'" in line for line in data["audit_warnings"])


def test_a_generated_split_is_said_with_its_seed(tmp_path):
    path = write_rows(tmp_path / "d.csv", tiny_examples(60, 1))
    result = runner.invoke(app, ["data", "audit", path, "--split-seed", "7", "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert ("the train, validation, test splits were cut by emobench from d.csv, not shipped with the data: a stratified "
            "80/10/10 split drawn with split seed 7") in result.output
    origin = json.loads((tmp_path / "a.json").read_text())["split_origin"]
    assert origin["generated"] is True and origin["seed"] == 7 and origin["generated_splits"] == ["train", "validation", "test"]
    assert origin["fractions"] == {"train": 0.8, "validation": 0.1, "test": 0.1} and origin["missing_splits"] == []


def test_a_missing_validation_split_and_a_budget_are_said(tmp_path, tiny_root):
    files = {"train": write_rows(tmp_path / "train.csv", tiny_examples(60, 1)),
             "test": write_rows(tmp_path / "test.csv", tiny_examples(24, 3))}
    report = audit(load_dataset(DatasetConfig(name=files["train"], files=files)))
    assert report.split_origin.generated is False and report.split_origin.missing_splits == ["validation"]
    assert report.split_origin.notes[0].startswith("no validation split: the data has none and emobench cut none")
    budget = audit(load_dataset(DatasetConfig(data_dir=str(tiny_root), train_size="4", budget_seed=3)))
    assert budget.dump()["split_origin"]["budget"] == {"size": "4", "seed": 3, "validation": False}
    assert budget.split_origin.notes == ["the training split is a data budget of 4 texts per class, drawn by "
                                         "emobench with seed 3 from the split read"]
    own = audit(load_dataset(DatasetConfig(data_dir=str(tiny_root))))
    assert own.split_origin.notes == [] and own.split_origin.generated is False
