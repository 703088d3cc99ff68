import json
import warnings

import pytest

from emobench.data import DataChecksumWarning, DatasetConfig, load_dataset
from emobench.data.readers import EMOTION_LABELS, ISEAR_LABELS
from emobench.errors import DataError

HEADER = ("ID|CITY|COUN|SUBJ|SEX|AGE|RELI|PRAC|FOCC|MOCC|FIEL|EMOT|WHEN|LONG|INTS|ERGO|TROPHO|TEMPER|EXPRES|"
          "MOVE|EXP1|EXP2|EXP10|PARAL|CON|EXPC|PLEA|PLAN|FAIR|CAUS|COPING|MORL|SELF|RELA|VERBAL|NEUTRO|"
          "Field1|Field3|Field2|MYKEY|SIT|STATE|")


def isear_row(i: int, label: str, sit: str) -> str:
    fixed = [str(10000 + i)] + ["1"] * 10 + [str(ISEAR_LABELS.index(label) + 1)] + ["2"] * 24
    fixed += [label, "3", "2", f"{i:07d}"]
    assert len(fixed) == 40
    return "|".join(fixed + [sit, "1", ""])


def write_isear(root, rows):
    folder = root / "isear"
    folder.mkdir(parents=True)
    (folder / "isear.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return folder / "isear.csv"


def test_emotion_splits_on_last_semicolon_and_warns_on_checksum(tmp_path):
    folder = tmp_path / "emotion"
    folder.mkdir()
    (folder / "train.txt").write_text("i feel a;b kind of sad;sadness\ni feel happy;joy\n")
    (folder / "val.txt").write_text("so scared;fear\n")
    (folder / "test.txt").write_text("love you;love\n")
    with pytest.warns(DataChecksumWarning, match="train.txt"):
        corpus = load_dataset("emotion", data_dir=str(tmp_path))
    assert corpus.label_names == EMOTION_LABELS
    assert corpus["train"].texts == ["i feel a;b kind of sad", "i feel happy"]
    assert corpus["train"].labels == [0, 1]
    assert corpus["validation"].labels == [4]
    assert set(corpus.source["files"].values()) and corpus.source["kind"] == "dair-ai-files"


def test_emotion_unknown_label_names_file_and_line(tmp_path):
    folder = tmp_path / "emotion"
    folder.mkdir()
    (folder / "train.txt").write_text("ok;joy\nbad;happiness\n")
    (folder / "val.txt").write_text("x;joy\n")
    (folder / "test.txt").write_text("y;joy\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match=r"train.txt, line 2: label 'happiness' is not one of"):
            load_dataset("emotion", data_dir=str(tmp_path))


def test_emotion_without_data_root_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("EMOBENCH_DATA", raising=False)
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(Exception, match="EMOBENCH_DATA"):
        load_dataset("emotion", data_dir=str(tmp_path))


def test_isear_traps(tmp_path):
    rows = []
    for i in range(70):
        label = ISEAR_LABELS[i % 7]
        rows.append(isear_row(i, label, f"When my {label} situation number {i} á happened."))
    rows.append(isear_row(70, "anger", "When he said a|b and then | left."))  # "|" inside SIT
    rows.append(isear_row(71, "joy", "[ No response.]"))
    rows.append(isear_row(72, "fear", "NO RESPONSE."))
    write_isear(tmp_path, rows)
    corpus = load_dataset("isear", data_dir=str(tmp_path))
    texts = [t for s in corpus.splits.values() for t in s.texts]
    assert len(texts) == 73
    assert "When he said a|b and then | left." in texts
    assert "When my joy situation number 0 happened." in texts  # á replaced, whitespace collapsed
    assert not any("\u00e1" in t for t in texts)
    assert corpus.label_names == ISEAR_LABELS
    # Stratified 80/10/10: every label in every split here (10 or 11 per label).
    for split in ("validation", "test"):
        assert set(corpus[split].labels) == set(range(7))
    # Recorded and deterministic.
    again = load_dataset("isear", data_dir=str(tmp_path))
    assert again["test"].texts == corpus["test"].texts
    other = load_dataset("isear", data_dir=str(tmp_path), split_seed=99)
    assert other["test"].texts != corpus["test"].texts
    lines = corpus.source["split"]["file_lines"]
    assert sorted(sum(lines.values(), [])) == list(range(2, 75))
    dropped = load_dataset("isear", data_dir=str(tmp_path), drop_placeholders=True)
    assert sum(len(s) for s in dropped.splits.values()) == 71
    assert dropped.source["dropped_placeholders"] == 2


def test_isear_short_row_is_reported(tmp_path):
    path = write_isear(tmp_path, [isear_row(0, "joy", "fine"), "1|2|3"])
    with pytest.raises(DataError, match=r"isear.csv, line 3: 3 fields, expected 43"):
        load_dataset("isear", data_dir=str(tmp_path))
    assert path.exists()


def write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_with_split_column_and_names(tmp_path):
    p = write(tmp_path / "d.csv", "sentence,emotion,part\n\"hi, there\",joy,train\nugh,anger,train\nyay,joy,dev\nno,anger,test\n")
    corpus = load_dataset(DatasetConfig(name=p, text_column="sentence", label_column="emotion", split_column="part"))
    assert corpus.label_names == ["anger", "joy"]
    assert corpus["train"].texts == ["hi, there", "ugh"] and corpus["train"].labels == [1, 0]
    assert corpus["validation"].texts == ["yay"] and corpus["test"].labels == [0]


def test_tsv_files_per_split_with_ids(tmp_path):
    files = {s: write(tmp_path / f"{s}.tsv", f"text\tlabel\na {s}\t0\nb {s}\t1\n") for s in ("train", "validation", "test")}
    corpus = load_dataset(DatasetConfig(name=files["train"], files=files))
    assert corpus.label_names == ["0", "1"] and corpus["test"].labels == [0, 1]
    named = load_dataset(DatasetConfig(name=files["train"], files=files, label_names=["neg", "pos"]))
    assert named.label_names == ["neg", "pos"] and named["train"].labels == [0, 1]


def test_jsonl_with_generated_split(tmp_path):
    lines = [json.dumps({"text": f"text {i}", "label": ["a", "b"][i % 2]}) for i in range(40)]
    p = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    corpus = load_dataset(DatasetConfig(name=p, split_seed=3))
    assert {n: len(s) for n, s in corpus.splits.items()} == {"train": 32, "validation": 4, "test": 4}
    assert corpus.source["split"]["seed"] == 3


@pytest.mark.parametrize(
    "content, suffix, pattern",
    [
        ("text,label\nhello,joy\n", ".csv", r"d.csv: label 'joy' has 1 example\(s\); a stratified split .* needs at least 6"),
        ("words,label\nhello,joy\n", ".csv", r"d.csv, line 2: missing column 'text'"),
        ("text,label\n  ,joy\n", ".csv", r"d.csv, line 2: empty text"),
        ("text,label\nhello,joy,extra\n", ".csv", r"d.csv, line 2: 3 fields, expected 2"),
        ('{"text": "a", "label": "joy"}\n{"text": "b", label}\n', ".jsonl", r"d.jsonl, line 2: malformed JSON"),
        (b"text,label\nok,joy\nbad \xff\xfe,joy\n", ".csv", r"d.csv, line 3: .* not valid UTF-8"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, content, suffix, pattern):
    p = write(tmp_path / f"d{suffix}", content)
    config = DatasetConfig(name=p)
    with pytest.raises(DataError, match=pattern):
        load_dataset(config)


def test_label_unseen_in_training(tmp_path):
    files = {"train": write(tmp_path / "train.csv", "text,label\na,joy\nb,anger\n"),
             "test": write(tmp_path / "test.csv", "text,label\nc,joy\nd,fear\n")}
    with pytest.raises(DataError, match=r"test.csv, line 3: label 'fear' in the test data never occurs in training"):
        load_dataset(DatasetConfig(name=files["train"], files=files))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: file not found"):
        load_dataset(DatasetConfig(name=str(tmp_path / "nope.csv")))


def test_emotion_from_the_hub_when_no_local_copy(monkeypatch, tmp_path):
    """The hub path, with a stand-in for `datasets` (the hub itself is unreachable here)."""
    import sys
    import types

    class FakeSplit(dict):
        features = {"label": types.SimpleNamespace(names=list(EMOTION_LABELS))}

    calls = []

    def load(name, config):
        calls.append((name, config))
        return {s: FakeSplit(text=[f"{s} text", f"{s} more"], label=[1, 0]) for s in ("train", "validation", "test")}

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load))
    monkeypatch.delenv("EMOBENCH_DATA", raising=False)
    corpus = load_dataset("emotion", data_dir=str(tmp_path))
    assert calls == [("dair-ai/emotion", "split")]
    assert corpus["validation"].texts == ["validation text", "validation more"] and corpus["test"].labels == [1, 0]
    assert corpus.source["kind"] == "hub" and len(corpus.source["files"]) == 3
