"""One reader for every route: the same formats, encodings and label layouts for train, data audit, evaluate --data
and compare --transfer; files scored on the labels they share with a run; encodings that never corrupt silently."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import LABELS, tiny_examples
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import DataError
from emobench.evaluation import compute_metrics

runner = CliRunner()


def write_rows(path: Path, header, rows, delimiter=",", encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def split_files(folder: Path, suffix=".csv", delimiter=","):
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n, seed in (("train", 180, 1), ("validation", 48, 2), ("test", 48, 3)):
        out[split] = write_rows(folder / f"{split}{suffix}", ["text", "label"], tiny_examples(n, seed), delimiter)
    return out


def test_text_label_txt_files_are_read_by_train_and_audit(tmp_path):
    files = {}
    for split, n, seed in (("train", 180, 1), ("validation", 48, 2), ("test", 48, 3)):
        files[split] = tmp_path / f"{split}.txt"
        files[split].write_text("".join(f"{t};{l}\n" for t, l in tiny_examples(n, seed)), encoding="utf-8")
    audit = runner.invoke(app, ["data", "audit", str(files["train"]), "--json", str(tmp_path / "a.json")])
    assert audit.exit_code == 0, audit.output
    assert json.loads((tmp_path / "a.json").read_text())["splits"]["train"]["size"] == 144  # a generated 80/10/10 split
    result = runner.invoke(app, ["train", "--train-file", str(files["train"]), "--validation-file", str(files["validation"]),
                                 "--test-file", str(files["test"]), "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    as_csv = load_dataset(DatasetConfig(name=str(split_files(tmp_path / "csv")["train"]),
                                        files={k: str(v) for k, v in split_files(tmp_path / "csv").items()}))
    as_txt = load_dataset(DatasetConfig(name=str(files["train"]), files={k: str(v) for k, v in files.items()}))
    assert as_txt["test"].texts == as_csv["test"].texts and as_txt.label_names == as_csv.label_names
    # A column option on a text;label file is refused: it has two fixed columns.
    wrong = runner.invoke(app, ["data", "audit", str(files["train"]), "--text-column", "sentence"])
    assert wrong.exit_code == 2 and "a 'text;label' file has the columns text and label only" in wrong.output


def test_data_format_overrides_the_suffix(tmp_path):
    tsv = split_files(tmp_path / "t", ".dat", "\t")
    config = DatasetConfig(name=str(tsv["train"]), files={k: str(v) for k, v in tsv.items()}, data_format="tsv")
    assert len(load_dataset(config)["train"]) == 180
    unknown = runner.invoke(app, ["data", "audit", str(tsv["train"])])
    assert unknown.exit_code == 2 and "unknown file type '.dat'" in unknown.output and "--data-format" in unknown.output
    bad = runner.invoke(app, ["data", "audit", str(tsv["train"]), "--data-format", "xlsx"])
    assert bad.exit_code == 2 and "--data-format 'xlsx': expected one of csv, tsv, jsonl, txt" in bad.output


CURLY = "i feel \u2019so\u2019 \u201chappy\u201d today"


def test_one_encoding_per_file(tmp_path):
    files = split_files(tmp_path)
    rows = [(CURLY if i == 0 else t, l) for i, (t, l) in enumerate(tiny_examples(180, 1))]
    write_rows(files["train"], ["text", "label"], rows, encoding="cp1252")
    args = ["data", "audit", "--train-file", str(files["train"]), "--validation-file", str(files["validation"]),
            "--test-file", str(files["test"])]
    failed = runner.invoke(app, args)
    assert failed.exit_code == 2
    assert "train.csv, line 2: bytes b'\\x92' are not valid UTF-8" in failed.output
    assert "looks like Windows-1252" in failed.output and "--encoding train=cp1252" in failed.output
    ok = runner.invoke(app, [*args, "--encoding", "train=cp1252"])
    assert ok.exit_code == 0, ok.output
    corpus = load_dataset(DatasetConfig(name=str(files["train"]), files={k: str(v) for k, v in files.items()},
                                        encodings={"train": "cp1252"}))
    assert corpus["train"].texts[0] == CURLY  # decoded, not mojibake
    for value, message in (("train=cp1252,train=utf-8", "train is given twice"), ("dev=cp1252", "with the splits train"),
                           ("train=klingon", "unknown encoding 'klingon'")):
        bad = runner.invoke(app, [*args, "--encoding", value])
        assert bad.exit_code == 2 and message in bad.output, bad.output


def test_the_encoding_hint_never_suggests_a_corrupting_codec(tmp_path):
    mostly_utf8 = tmp_path / "mixed.csv"
    mostly_utf8.write_bytes(("text,label\n" + "".join(f"{t} \u2019,{l}\n" for t, l in tiny_examples(30, 1))).encode()
                            + b"bad \xe9 byte,joy\n")
    result = runner.invoke(app, ["data", "audit", str(mostly_utf8)])
    assert result.exit_code == 2 and "line 32" in result.output
    assert "valid UTF-8, so it mixes encodings or is damaged" in result.output and "cp1252" not in result.output
    # A UTF-8 file read as cp1252 on request: decoded as asked, with a warning recorded in the run.
    utf8 = write_rows(tmp_path / "u.csv", ["text", "label"], [(CURLY, "joy")] + tiny_examples(90, 2))
    trained = runner.invoke(app, ["train", "--dataset", str(utf8), "--encoding", "latin-1", "-o", str(tmp_path / "o"),
                                  "--name", "r", "-q"])
    assert trained.exit_code == 0, trained.output
    assert "is valid UTF-8" in trained.output
    warnings = json.loads((tmp_path / "o" / "r" / "data.json").read_text())["warnings"]
    assert any("is valid UTF-8" in w and "leave out encoding" in w for w in warnings)


def indicator_file(path: Path, n=240, seed=4):
    """SemEval-2018 E-c's layout: an id, the text, one 0/1 column per emotion."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        chosen = {LABELS[i % 3]} | ({LABELS[3]} if rng.random() < 0.3 else set())
        words = " and ".join(f"{rng.choice(['so', 'very'])} {LABELS[LABELS.index(c)]}" for c in sorted(chosen))
        rows.append([f"2018-{i:05d}", f"i feel {words} {rng.choice(['', 'really', 'lol'])}".strip(),
                     *[int(label in chosen) for label in LABELS[:4]]])
    return write_rows(path, ["ID", "Tweet", *LABELS[:4]], rows, delimiter="\t")


def test_indicator_columns_train_multi_label_with_the_jaccard_score(tmp_path):
    path = indicator_file(tmp_path / "ec.tsv")
    listed = DatasetConfig(name=str(path), text_column="Tweet", label_columns=LABELS[:4])
    corpus = load_dataset(listed)
    assert corpus.multi_label and corpus.label_names == LABELS[:4] and len(corpus["train"]) + len(corpus["test"]) > 200
    everything = runner.invoke(app, ["data", "audit", str(path), "--text-column", "Tweet", "--label-columns", "all"])
    assert everything.exit_code == 0 and "left out the column 'ID', which holds no 0/1 value" in everything.output
    with pytest.warns(Warning, match="left out the column 'ID'"):
        all_columns = load_dataset(DatasetConfig(name=str(path), text_column="Tweet", label_columns="all"))
    assert all_columns.label_names == corpus.label_names and any("'ID'" in w for w in all_columns.source.warnings)
    stray = path.read_text().replace("\t1\n", "\t7\n", 1)  # a label column with one value that is not 0/1
    (tmp_path / "stray.tsv").write_text(stray)
    refused = runner.invoke(app, ["data", "audit", str(tmp_path / "stray.tsv"), "--text-column", "Tweet",
                                  "--label-columns", "all"])
    assert refused.exit_code == 2 and "is not 0 or 1" in refused.output and "line" in refused.output
    result = runner.invoke(app, ["train", "--dataset", str(path), "--text-column", "Tweet", "--label-columns",
                                 ",".join(LABELS[:4]), "-o", str(tmp_path / "o"), "--name", "ec", "-q"])
    assert result.exit_code == 0, result.output
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "o" / "ec")])
    assert evaluated.exit_code == 0 and "Jaccard" in evaluated.output, evaluated.output
    metrics = json.loads((tmp_path / "o" / "ec" / "metrics.json").read_text())["splits"]["test"]
    from sklearn.metrics import jaccard_score

    rows = list(csv.DictReader(open(tmp_path / "o" / "ec" / "predictions" / "test.csv", encoding="utf-8")))
    truth = np.array([[int(n in r["labels"].split("|")) for n in LABELS[:4]] for r in rows])
    predicted = np.array([[int(n in r["predicted"].split("|")) if r["predicted"] else 0 for n in LABELS[:4]] for r in rows])
    assert metrics["jaccard"] == pytest.approx(jaccard_score(truth, predicted, average="samples", zero_division=1.0))
    for extra, message in ((["--label-names", "a,b"], "with indicator columns the column names are the labels"),
                           (["--label-separator", "|"], "give one way of reading labels")):
        bad = runner.invoke(app, ["data", "audit", str(path), "--text-column", "Tweet", "--label-columns",
                                  ",".join(LABELS[:4]), *extra])
        assert bad.exit_code == 2 and message in bad.output, bad.output


def test_metrics_over_the_labels_that_have_texts():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])  # label 2 has no text: a prediction of it is a mistake, not a 0 in the average
    every = compute_metrics(y_true, y_pred, ["a", "b", "c"])
    scored = compute_metrics(y_true, y_pred, ["a", "b", "c"], scored=[0, 1])
    assert scored.accuracy == every.accuracy == 0.75
    assert list(scored.per_class) == ["a", "b"] and scored.macro.f1 > every.macro.f1


def test_evaluate_data_takes_the_dataset_options(tmp_path, shared_root):
    headerless = tmp_path / "h"
    headerless.mkdir()
    for split, n, seed in (("train", 180, 1), ("validation", 48, 2), ("test", 48, 3)):
        write_rows(headerless / f"{split}.csv", None, [(l, t) for t, l in tiny_examples(n, seed)])
    trained = runner.invoke(app, ["train", "--train-file", str(headerless / "train.csv"), "--validation-file",
                                  str(headerless / "validation.csv"), "--test-file", str(headerless / "test.csv"),
                                  "--no-header", "--text-column", "2", "--label-column", "1", "-o", str(tmp_path / "o"),
                                  "--name", "h", "-q"])
    assert trained.exit_code == 0, trained.output
    run = tmp_path / "o" / "h"
    own = json.loads((run / "metrics.json").read_text())["splits"]["test"]
    # The run's columns (positions, no header) are used unless the options say otherwise.
    again = runner.invoke(app, ["evaluate", str(run), "--data", str(headerless / "test.csv"), "--json", str(tmp_path / "a.json")])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "a.json").read_text())["accuracy"] == own["accuracy"]
    # Another layout: a header, other column names, a label the run never saw (dropped and counted), a label map.
    rows = [(t, "calm" if i % 8 == 0 else l) for i, (t, l) in enumerate(tiny_examples(48, 3))]
    other = write_rows(tmp_path / "other.tsv", ["sentence", "emotion"], rows, delimiter="\t")
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(other), "--text-column", "sentence",
                                 "--label-column", "emotion", "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "b.json").read_text())
    assert metrics["transfer"]["dropped"] == 6 and metrics["transfer"]["dropped_by_label"] == {"calm": 6}
    assert metrics["n"] == 42 and "6 of 48 examples dropped (no label the run knows) (calm 6)" in result.output
    mapped = tmp_path / "m.json"
    mapped.write_text(json.dumps({**{l: [l] for l in LABELS}, "joy": ["joy", "calm"]}))
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(other), "--text-column", "sentence", "--label-column",
                                 "emotion", "--label-map", str(mapped), "--json", str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "c.json").read_text())["n"] == 48
    # A label of the run that no text has is left out of the averages, said, never a traceback.
    only_two = write_rows(tmp_path / "two.csv", ["text", "label"], [r for r in tiny_examples(48, 3) if r[1] in ("joy", "fear")])
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(only_two), "--no-header", "--text-column", "1",
                                 "--label-column", "2", "--json", str(tmp_path / "d.json")])
    assert result.exit_code == 0, result.output  # the header row "text,label" is one more (dropped) row
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(only_two), "--text-column", "text", "--label-column",
                                 "label", "--json", str(tmp_path / "d.json")])
    assert result.exit_code == 0, result.output
    assert "no text has this label in every text of two (two.csv); left out of the per-label scores" in result.output
    assert set(json.loads((tmp_path / "d.json").read_text())["per_class"]) == {"joy", "fear"}


def test_compare_transfer_scores_the_files_own_test_split(tmp_path, shared_root):
    examples = [(t, l, s) for s, n, seed in (("train", 60, 7), ("test", 30, 8)) for t, l in tiny_examples(n, seed)
                for _ in [0]]
    rows = [(t, l if l != "surprise" else "neutral", s) for t, l, s in examples]
    other = write_rows(tmp_path / "other.csv", ["utterance", "emotion", "part"], rows)
    args = ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "c"),
            "--transfer", str(other), "--transfer-text-column", "utterance", "--transfer-label-column", "emotion", "-q"]
    whole = runner.invoke(app, [*args, "--name", "x"])
    assert whole.exit_code == 0, whole.output
    info = json.loads((tmp_path / "c" / "x" / "transfer" / "tfidf-s0.json").read_text())["transfer"]
    assert info["examples"] == 90 and info["scored_on"].startswith("every text of other")
    split = runner.invoke(app, [*args[:-1], "--transfer-split-column", "part", "--name", "y"])
    assert split.exit_code == 0, split.output
    info = json.loads((tmp_path / "c" / "y" / "transfer" / "tfidf-s0.json").read_text())["transfer"]
    assert info["examples"] == 30 and info["split"] == "test" and "(other.csv)" in info["scored_on"]
    assert "transfer: the test split of other (other.csv)" in split.output  # the console summary
    report = (tmp_path / "c" / "y" / "report.md").read_text()
    assert "the test split of other (other.csv)" in report
    same = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "c"),
                               "--name", "z", "--transfer", "emotion", "-q"])
    assert same.exit_code == 2 and "that is the dataset the models are trained on" in same.output
    orphan = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "c"),
                                 "--transfer-text-column", "u", "-q"])
    assert orphan.exit_code == 2 and "--transfer-text-column needs --transfer" in orphan.output


def test_reader_errors_name_the_place():
    with pytest.raises(DataError, match="no such file|file not found"):
        load_dataset(DatasetConfig(name="/nonexistent/x.csv"))


def test_a_validation_split_is_held_out_of_a_training_file_stratified_and_recorded(tmp_path):
    from conftest import tiny_examples

    for name, n, seed in (("train", 180, 1), ("test", 48, 2)):
        write_rows(tmp_path / f"{name}.csv", ["text", "label"], [list(x) for x in tiny_examples(n, seed)])
    files = {"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")}
    config = DatasetConfig(name=files["train"], files=files, validation_split=0.2)
    corpus = load_dataset(config)
    assert list(corpus.splits) == ["train", "validation", "test"]
    assert (len(corpus["train"]), len(corpus["validation"]), len(corpus["test"])) == (144, 36, 48)
    shares = np.bincount(corpus["validation"].labels, minlength=6) / 36
    assert np.allclose(shares, np.bincount(corpus["train"].labels, minlength=6) / 144, atol=0.03)  # stratified
    recipe = corpus.source.split
    assert recipe.fractions == {"train": 0.8, "validation": 0.2} and recipe.seed == 13
    assert sorted(recipe.file_lines["train"] + recipe.file_lines["validation"]) == list(range(2, 182))
    again = load_dataset(config)
    assert again["validation"].texts == corpus["validation"].texts  # the same seed, the same cut
    other = load_dataset(DatasetConfig(name=files["train"], files=files, validation_split=0.2, split_seed=7))
    assert other["validation"].texts != corpus["validation"].texts


@pytest.mark.parametrize("multi", [False, True])
def test_limit_cuts_every_split_keeps_every_label_and_says_so(tmp_path, multi):
    from emobench.data import Corpus, Split
    from emobench.data.readers import limited

    rng = np.random.default_rng(0)
    labels = [int(y) for y in rng.choice(6, 400, p=[0.5, 0.3, 0.1, 0.05, 0.04, 0.01])]
    split = Split([f"text {i}" for i in range(400)], [[y] for y in labels] if multi else labels)
    corpus = Corpus("d", [f"l{k}" for k in range(6)], {"train": split, "test": split.subset(range(50))},
                    multi_label=multi)
    with pytest.warns(Warning, match=r"every split cut to at most 60 texts \(train 60 of 400, test 50 of 50\)"):
        cut = limited(corpus, 60, seed=3)
    assert len(cut["train"]) == 60 and len(cut["test"]) == 50
    kept = {y[0] if multi else y for y in cut["train"].labels}
    assert kept == set(range(6))  # the rarest label (4 texts of 400) kept
    assert set(cut["train"].texts) <= set(split.texts) and len(set(cut["train"].texts)) == 60
    again = limited(corpus, 60, seed=3)
    assert again["train"].texts == cut["train"].texts and limited(corpus, 60, seed=4)["train"].texts != cut["train"].texts


def test_parallel_text_and_label_files_read_as_the_same_table(tmp_path):
    """TweetEval ships train_text.txt + train_labels.txt: read as the CSV of the same rows would be, both files'
    checksums recorded, a label's error naming the labels file and a text's the text file."""
    from conftest import LABELS, tiny_examples

    splits = {"train": tiny_examples(120, 1), "test": tiny_examples(30, 2)}
    for name, rows in splits.items():
        (tmp_path / f"{name}_text.txt").write_text("".join(t + "\n" for t, _ in rows))
        (tmp_path / f"{name}_labels.txt").write_text("".join(f"{LABELS.index(y)}\n" for _, y in rows))
        write_rows(tmp_path / f"{name}.csv", ["text", "label"], [[t, LABELS.index(y)] for t, y in rows])
    paired = load_dataset(DatasetConfig(name=str(tmp_path / "train_text.txt"), label_names=LABELS,
                                        files={s: str(tmp_path / f"{s}_text.txt") for s in splits},
                                        label_files={s: str(tmp_path / f"{s}_labels.txt") for s in splits}))
    table = load_dataset(DatasetConfig(name=str(tmp_path / "train.csv"), label_names=LABELS,
                                       files={s: str(tmp_path / f"{s}.csv") for s in splits}))
    for name in splits:
        assert paired[name].texts == table[name].texts and paired[name].labels == table[name].labels
    assert paired.label_names == table.label_names
    assert sorted(Path(f).name for f in paired.source.files) == sorted(
        f"{s}_{k}.txt" for s in splits for k in ("text", "labels"))
    (tmp_path / "bad_labels.txt").write_text("0\n1\nsomething\n" + "0\n" * 117)
    with pytest.raises(Exception, match=r"bad_labels\.txt, line 3"):
        load_dataset(DatasetConfig(name=str(tmp_path / "train_text.txt"), label_names=LABELS,
                                   files={"train": str(tmp_path / "train_text.txt")},
                                   label_files={"train": str(tmp_path / "bad_labels.txt")}))
