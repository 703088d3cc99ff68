"""Unlabeled texts (--unlabeled FILE | rest) and label descriptions (--label-descriptions FILE) as inputs: read by the
dataset readers, refused for families that do not learn from them, recorded in data.json, checked on resume, passed
to ``fit`` of the families that take them (a recording test family stands in for them)."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import EmobenchError
from emobench.models import registry
from emobench.models.tfidf import TfidfClassifier

runner = CliRunner()
RECEIVED: list[dict] = []
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


class RecordingClassifier(TfidfClassifier):
    """tfidf that learns from nothing more, but records what ``fit`` gave it."""

    family = "recorder"

    def _fit(self, train, validation, *, unlabeled=None, descriptions=None, **options):
        RECEIVED.append({"unlabeled": unlabeled, "descriptions": descriptions, "train": len(train)})
        if unlabeled is not None and unlabeled[:1] == ["crash now"]:
            raise RuntimeError("interrupted")  # leaves the run's .partial folder to resume
        super()._fit(train, validation, **options)


@pytest.fixture
def recorder(monkeypatch):
    RECEIVED.clear()
    monkeypatch.setitem(registry.FAMILIES, "recorder", registry.FamilyEntry(
        "test_unlabeled_inputs:RecordingClassifier", "scikit-learn", inputs=frozenset({"unlabeled", "descriptions"})))
    monkeypatch.setitem(registry.MODELS, "recorder", registry.ModelEntry("recorder", {}, None, "records its inputs"))
    return RECEIVED


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
    return result


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("name, content, options, expected", [
    ("u.txt", "i feel fine; really\n\nwhat a day\n", {}, ["i feel fine; really", "what a day"]),
    ("u.csv", "id,text\n1,hello there\n2,\"a, b\"\n", {}, ["hello there", "a, b"]),
    ("u.tsv", "text\tx\nfirst one\t1\nsecond\t2\n", {}, ["first one", "second"]),
    ("u.jsonl", '{"text": "one"}\n{"text": "two", "label": "joy"}\n', {}, ["one", "two"]),
    ("u.csv", "alpha,1\nbeta,2\n", {"header": False}, ["alpha", "beta"]),
    ("u.dat", "x\ny\n", {"data_format": "txt"}, ["x", "y"]),
])
def test_unlabeled_file_formats(tiny_root, tmp_path, name, content, options, expected):
    path = write(tmp_path / name, content)
    config = DatasetConfig(data_dir=str(tiny_root), unlabeled=str(path), **options)
    corpus = load_dataset(config) if not options else _user_corpus(tmp_path, path, options)
    assert corpus.unlabeled.texts == expected and corpus.unlabeled.count == len(expected)
    assert corpus.unlabeled.source == "file" and corpus.unlabeled.file == str(path.resolve())
    assert len(corpus.unlabeled.sha256) == 64


def _user_corpus(tmp_path, unlabeled, options):
    """Options such as --no-header apply to your own files: a user file beside the unlabeled one."""
    from conftest import tiny_examples

    rows = "".join(f"{t},{l}\n" for t, l in tiny_examples(60, 1))
    data = write(tmp_path / "data.csv", ("" if options.get("header") is False else "text,label\n") + rows)
    if options.get("data_format") == "txt":
        data = write(tmp_path / "data.dat", "".join(f"{t};{l}\n" for t, l in tiny_examples(60, 1)))
    return load_dataset(DatasetConfig(name=str(data), unlabeled=str(unlabeled), **options))


@pytest.mark.parametrize("name, content, message", [
    ("missing.txt", None, r"missing\.txt: file not found"),
    ("empty.txt", "", r"empty\.txt: no texts"),
    ("blank.csv", "text\n", r"blank\.csv: no texts"),
    ("bad.txt", b"ok\n\xff\xfe broken\n", r"bad\.txt, line 2: bytes .* not valid UTF-8"),
    ("nocol.csv", "body\nhello\n", r"nocol\.csv, line 2: missing column 'text'"),
    ("emptytext.jsonl", '{"text": "a"}\n{"text": "  "}\n', r"emptytext\.jsonl, line 2: empty text"),
    ("wrong.xlsx", "x", r"wrong\.xlsx: Excel files are not supported"),
])
def test_bad_unlabeled_files_are_clear_errors(tiny_root, tmp_path, recorder, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--unlabeled", path, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2 and __import__("re").search(message, result.output), result.output
    assert not (tmp_path / "out").exists() and not recorder  # nothing written, nothing trained


# ---------------------------------------------------------------- rest


class Sentinel:
    """A label that must never be read: any use of it raises."""

    def _touched(self, *args, **kwargs):
        raise AssertionError("a label of the rest was read")

    __eq__ = __hash__ = __index__ = __int__ = __str__ = __repr__ = __bool__ = __lt__ = __format__ = __iter__ = _touched
    __len__ = __getitem__ = __float__ = __ne__ = _touched


def test_rest_is_the_left_out_texts_and_their_labels_are_never_read(tiny_root, tmp_path, recorder, monkeypatch):
    from emobench.data import budgets

    choose = budgets.choose

    def poisoned(split, num_labels, size, seed, label_names, what):
        rows, per_label = choose(split, num_labels, size, seed, label_names, what)
        if what == "train":  # once the budget has chosen: every other row's label becomes a sentinel
            kept = set(rows)
            split.labels[:] = [label if i in kept else Sentinel() for i, label in enumerate(split.labels)]
        return rows, per_label

    monkeypatch.setattr(budgets, "choose", poisoned)
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--train-size", "4", "--unlabeled", "rest",
                    "-o", tmp_path / "out", "-q", "--name", "r")
    assert result.exit_code == 0, result.output
    full = load_dataset(DatasetConfig(data_dir=str(tiny_root)))["train"]
    data = json.loads((tmp_path / "out" / "r" / "data.json").read_text())
    kept = set(data["source"]["budget"]["rows"]["train"])
    rest = [t for i, t in enumerate(full.texts) if i not in kept]
    assert recorder[0]["unlabeled"] == rest and recorder[0]["train"] == 24 and len(rest) == len(full) - 24
    assert data["unlabeled"]["source"] == "rest" and data["unlabeled"]["file"] is None
    assert data["unlabeled"]["count"] == len(rest) and data["unlabeled"]["used_by"] == "recorder"


def test_rest_with_a_budget_of_zero_is_the_whole_training_split(tiny_root):
    from emobench.data.budgets import apply_budget
    from emobench.data.unlabeled import with_rest

    config = DatasetConfig(data_dir=str(tiny_root), train_size="0", unlabeled="rest")
    whole = load_dataset(DatasetConfig(data_dir=str(tiny_root)))
    corpus = with_rest(apply_budget(whole, "0", 0), config, whole["train"])
    assert corpus.unlabeled.texts == whole["train"].texts and not len(corpus["train"])


def test_rest_needs_a_budget(tiny_root, tmp_path, recorder):
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--unlabeled", "rest", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "--unlabeled rest" in result.output and "--train-size" in result.output
    with pytest.raises(EmobenchError, match="needs"):
        load_dataset(DatasetConfig(data_dir=str(tiny_root), unlabeled="rest"))


# ---------------------------------------------------------------- families, records, resume


def test_a_family_that_does_not_learn_from_them_is_refused_before_data_is_read(tmp_path):
    for flag in ("--unlabeled", "--label-descriptions"):
        result = invoke("train", "-m", "tfidf", "--data-dir", tmp_path / "nowhere", flag, tmp_path / "nothing.txt",
                        "-o", tmp_path / "out")
        assert result.exit_code == 2 and f"{flag}: the tfidf family does not learn from" in result.output, result.output
        assert "fewshot" in result.output and not (tmp_path / "out").exists()
    result = invoke("tune", "-m", "tfidf", "--data-dir", tmp_path / "nowhere", "--unlabeled", tmp_path / "x.txt",
                    "-o", tmp_path / "t")
    assert result.exit_code == 2 and "tfidf family does not learn" in result.output


def test_fit_gets_the_texts_and_descriptions_and_data_json_records_them(tiny_root, tmp_path, recorder):
    test_texts = load_dataset(DatasetConfig(data_dir=str(tiny_root)))["test"].texts
    unlabeled = write(tmp_path / "u.txt", "\n".join(["brand new text", *test_texts[:3]]) + "\n")
    descriptions = write(tmp_path / "d.json", json.dumps({"joy": "happy things", "fear": "being  afraid"}))
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--unlabeled", unlabeled,
                    "--label-descriptions", descriptions, "-o", tmp_path / "out", "-q", "--name", "r")
    assert result.exit_code == 0, result.output
    got = recorder[0]
    assert got["unlabeled"][0] == "brand new text" and len(got["unlabeled"]) == 4
    assert got["descriptions"] == ["sadness", "happy things", "love", "anger", "being afraid", "surprise"]
    data = json.loads((tmp_path / "out" / "r" / "data.json").read_text())
    overlap = sum(1 for t in test_texts if t in set(test_texts[:3]))
    assert data["unlabeled"]["overlap"]["test"] == overlap and data["unlabeled"]["use"] == "self-training pool"
    assert any("transductive" in w for w in data["warnings"])
    assert data["descriptions"]["defaulted"] == ["sadness", "love", "anger", "surprise"]
    assert data["descriptions"]["used_by"] == "recorder" and data["descriptions"]["file"] == str(descriptions.resolve())
    config = json.loads((tmp_path / "out" / "r" / "config.json").read_text())
    assert config["dataset"]["unlabeled"] == str(unlabeled.resolve())


def test_resume_refuses_a_changed_unlabeled_file(tiny_root, tmp_path, recorder):
    unlabeled = write(tmp_path / "u.txt", "crash now\nsecond text\n")
    result = runner.invoke(app, ["train", "-m", "recorder", "--data-dir", str(tiny_root), "--unlabeled", str(unlabeled), "-o",
                                 str(tmp_path / "out"), "--name", "r", "-q"])
    assert isinstance(result.exception, RuntimeError) and (tmp_path / "out" / "r.partial" / "data.json").is_file()
    write(unlabeled, "crash now\nanother text\n")
    result = invoke("train", "--resume", tmp_path / "out" / "r.partial")
    assert result.exit_code == 2 and "unlabeled texts" in result.output and "sha256" in result.output, result.output
    # train has no option to go on with changed data: the error names none
    assert "allow-changed-data" not in result.output and "restore the files" in result.output, result.output


# ---------------------------------------------------------------- compare


def test_compare_passes_them_to_the_families_that_learn_from_them_only(tiny_root, tmp_path, recorder):
    unlabeled = write(tmp_path / "u.txt", "one more text\n")
    result = invoke("compare", "--models", "tfidf,recorder", "--no-baselines", "--no-noise-audit", "--data-dir", tiny_root,
                    "--unlabeled", unlabeled, "--train-sizes", "4", "-o", tmp_path / "c", "--name", "x")
    assert result.exit_code == 0, result.output
    runs = tmp_path / "c" / "x" / "runs"
    assert json.loads((runs / "recorder-n4-s0" / "data.json").read_text())["unlabeled"]["used_by"] == "recorder"
    assert json.loads((runs / "tfidf-n4-s0" / "config.json").read_text())["dataset"]["unlabeled"] is None
    assert recorder[0]["unlabeled"] == ["one more text"]
    assert "unlabeled used by: recorder" in result.output and "unlabeled not learnt from by: tfidf" in result.output
    result = invoke("compare", "--models", "tfidf,recorder", "--no-baselines", "--no-noise-audit", "--data-dir",
                    tiny_root, "--unlabeled", "rest", "--train-sizes", "4,all", "-o", tmp_path / "c", "--name", "y")
    assert result.exit_code == 2 and "--unlabeled rest" in result.output


def test_compare_refuses_inputs_no_model_learns_from(tiny_root, tmp_path):
    result = invoke("compare", "--models", "tfidf", "--data-dir", tiny_root, "--unlabeled", tmp_path / "u.txt",
                    "-o", tmp_path / "c")
    assert result.exit_code == 2 and "none of the compared models" in result.output


# ---------------------------------------------------------------- descriptions


@pytest.mark.parametrize("name, content", [
    ("d.json", '{"joy": "happy", "anger": "mad at someone"}'),
    ("d.csv", "label,description\njoy,happy\nanger,\"mad at someone\"\n"),
    ("d.tsv", "joy\thappy\nanger\tmad at someone\n"),
    ("d.txt", "joy\thappy\n\nanger,mad at someone\n"),
])
def test_description_formats(tiny_root, tmp_path, name, content):
    path = write(tmp_path / name, content)
    corpus = load_dataset(DatasetConfig(data_dir=str(tiny_root), label_descriptions=str(path)))
    by_label = dict(zip(corpus.label_names, corpus.descriptions.descriptions))
    assert by_label["joy"] == "happy" and by_label["anger"] == "mad at someone" and by_label["love"] == "love"
    assert sorted(corpus.descriptions.defaulted) == sorted(set(LABELS) - {"joy", "anger"})


@pytest.mark.parametrize("name, content, message", [
    ("d.json", '{"joy": "a",\n "glee": "b"}', r"d\.json, line 2: unknown label 'glee'; the labels are sadness, joy"),
    ("d.json", '{"joy": "a", "joy": "b"}', r"d\.json, line 1: label 'joy' is given twice"),
    ("d.json", '{"joy": ""}', r"d\.json, line 1: label 'joy': empty description"),
    ("d.json", '{"joy": 3}', r"label 'joy': a int"),
    ("d.json", '["joy"]', r"d\.json: expected a JSON object"),
    ("d.json", '{"joy": "a"', r"d\.json, line 1: malformed JSON"),
    ("d.csv", "joy,a\nglee,b\n", r"d\.csv, line 2: unknown label 'glee'"),
    ("d.tsv", "joy\ta\njoy\tb\n", r"d\.tsv, line 2: label 'joy' is given twice"),
    ("d.txt", "joy\n", r"d\.txt, line 1: expected label<TAB>description"),
    ("d.txt", "joy,   \n", r"d\.txt, line 1: label 'joy': empty description"),
    ("d.txt", "", r"d\.txt: empty file"),
    ("d.txt", "{}", r"d\.txt, line 1: expected label"),
    ("d.json", "{}", r"d\.json: no descriptions"),
    ("d.tsv", "anger\tmad\njoy\t" + "glad " * 500 + "\n", r"d\.tsv, line 2: label 'joy': a description of 2,[0-9]{3} "
                                                          r"characters; expected .* \(at most 2,000\)"),
    ("gone.json", None, r"gone\.json: file not found"),
])
def test_bad_description_files_are_clear_errors(tiny_root, tmp_path, recorder, name, content, message):
    path = tmp_path / name
    if content is not None:
        write(path, content)
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--label-descriptions", path,
                    "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2 and __import__("re").search(message, result.output), result.output
    assert not (tmp_path / "out").exists() and not recorder


def test_without_descriptions_the_family_gets_none(tiny_root, tmp_path, recorder):
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0 and recorder[0]["descriptions"] is None and recorder[0]["unlabeled"] is None


def test_the_options_are_not_offered_where_nothing_is_trained(tiny_root):
    for command in (["data", "audit"], ["evaluate", "x"]):
        result = invoke(*command, "--unlabeled", "rest")
        assert result.exit_code == 2 and "No such option" in result.output


# ---------------------------------------------------------------- generated


def test_any_bytes_as_unlabeled_or_descriptions_read_or_refused_clearly(tiny_root, tmp_path):
    from hypothesis import given
    from hypothesis import strategies as st

    from emobench.data.unlabeled import with_fit_inputs
    from emobench.errors import DataError
    from generated import COUNTS, bounded, counted

    corpus = load_dataset(DatasetConfig(data_dir=str(tiny_root)))
    pieces = st.sampled_from([b"text", b"joy", b"label", b",", b"\t", b";", b"\n", b"\r\n", b'"', b"{", b"}", b":",
                              b'"joy"', b" ", b"\xff", b"\xc3\xa9", b"[", b"]", b"a text"])

    @bounded(150)
    @given(st.sampled_from([".txt", ".csv", ".tsv", ".jsonl", ".json"]), st.lists(pieces, max_size=30).map(b"".join),
           st.booleans())
    def check(suffix, raw, descriptions):
        COUNTS["unlabeled bytes"] += 1
        path = tmp_path / f"input{suffix}"
        path.write_bytes(raw)
        option = {"label_descriptions": str(path)} if descriptions else {"unlabeled": str(path)}
        try:
            got = with_fit_inputs(corpus, DatasetConfig(data_dir=str(tiny_root), **option))
        except DataError as exc:
            COUNTS["unlabeled bytes:refused"] += 1
            assert str(exc).startswith(str(path)) and "\n" not in str(exc).strip()
            return
        COUNTS["unlabeled bytes:read"] += 1
        if descriptions:
            assert len(got.descriptions.descriptions) == len(LABELS) and all(d.strip() for d in got.descriptions.descriptions)
        else:
            assert got.unlabeled.count and all(isinstance(t, str) and t.strip() for t in got.unlabeled.texts)

    check()
    counted("unlabeled bytes", 100)


def test_well_formed_descriptions_read_back_exactly(tiny_root, tmp_path):
    from hypothesis import given
    from hypothesis import strategies as st

    from emobench.data.descriptions import read_descriptions
    from generated import bounded

    words = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), min_size=1,
                    max_size=12).filter(lambda w: "," not in w and '"' not in w)
    chosen = st.dictionaries(st.sampled_from(LABELS), st.lists(words, min_size=1, max_size=4).map(" ".join), min_size=1)

    @bounded(80)
    @given(chosen, st.sampled_from([".json", ".tsv", ".csv"]))
    def check(given_descriptions, suffix):
        path = tmp_path / f"d{suffix}"
        if suffix == ".json":
            path.write_text(json.dumps(given_descriptions), encoding="utf-8")
        else:
            sep = "\t" if suffix == ".tsv" else ","
            path.write_text("".join(f"{k}{sep}{v}\n" for k, v in given_descriptions.items()), encoding="utf-8")
        got = read_descriptions(path, LABELS)
        assert got.descriptions == [given_descriptions.get(name, name) for name in LABELS]
        assert got.defaulted == [name for name in LABELS if name not in given_descriptions]

    check()


def test_well_formed_unlabeled_files_read_back_exactly(tiny_root, tmp_path):
    import csv
    import io

    from hypothesis import given
    from hypothesis import strategies as st

    from emobench.data.unlabeled import with_fit_inputs
    from generated import bounded

    corpus = load_dataset(DatasetConfig(data_dir=str(tiny_root)))
    texts = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                             max_size=20).filter(lambda t: t.strip() and t == t.strip()), min_size=1, max_size=8)

    @bounded(80)
    @given(texts, st.sampled_from([".txt", ".csv", ".tsv", ".jsonl"]))
    def check(given_texts, suffix):
        path = tmp_path / f"u{suffix}"
        if suffix == ".txt":
            content = "".join(f"{t}\n" for t in given_texts)
        elif suffix == ".jsonl":
            content = "".join(json.dumps({"text": t}) + "\n" for t in given_texts)
        else:
            out = io.StringIO()
            writer = csv.writer(out, delimiter="," if suffix == ".csv" else "\t", lineterminator="\n")
            writer.writerows([["text"], *([t] for t in given_texts)])
            content = out.getvalue()
        path.write_text(content, encoding="utf-8")
        got = with_fit_inputs(corpus, DatasetConfig(data_dir=str(tiny_root), unlabeled=str(path)))
        assert got.unlabeled.texts == given_texts

    check()


def test_evaluate_needs_no_unlabeled_file_and_refuses_one_data_json_does_not_record(tiny_root, tmp_path, recorder):
    from emobench.records.run import RunRecord

    unlabeled = write(tmp_path / "u.txt", "some text\n")
    result = invoke("train", "-m", "recorder", "--data-dir", tiny_root, "--unlabeled", unlabeled, "-o", tmp_path / "out",
                    "-q", "--name", "r")
    assert result.exit_code == 0, result.output
    unlabeled.unlink()  # scoring a run reads its labelled data only
    result = invoke("evaluate", tmp_path / "out" / "r", "--split", "validation")
    assert result.exit_code == 0, result.output
    run = RunRecord.load(tmp_path / "out" / "r")
    run.config.dataset.unlabeled = str(tmp_path / "elsewhere.txt")
    with pytest.raises(EmobenchError, match="names the unlabeled file .*elsewhere.txt, which data.json does not record"):
        run.dataset_config()


def test_the_python_api_takes_them_through_the_dataset_config(tiny_root, tmp_path, recorder):
    import emobench

    unlabeled = write(tmp_path / "u.jsonl", '{"text": "api text"}\n')
    descriptions = write(tmp_path / "d.tsv", "love\tcaring about someone\n")
    dataset = DatasetConfig(data_dir=str(tiny_root), unlabeled=str(unlabeled), label_descriptions=str(descriptions))
    run = emobench.train(emobench.RunConfig(model="recorder", dataset=dataset, output_dir=str(tmp_path / "out")),
                         progress=False)
    assert recorder[0]["unlabeled"] == ["api text"] and recorder[0]["descriptions"][2] == "caring about someone"
    assert run.data.unlabeled.count == 1 and len(run.data.descriptions.sha256) == 64
    assert run.config.dataset.label_descriptions == str(descriptions.resolve())
    with pytest.raises(EmobenchError, match="unlabeled.*tfidf family does not learn"):
        emobench.RunConfig(model="tfidf", dataset=dataset).validate()
