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
    assert set(corpus.source.files.values()) and corpus.source.kind == "dair-ai-files"


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
    lines = corpus.source.split.file_lines
    assert sorted(sum(lines.values(), [])) == list(range(2, 75))
    dropped = load_dataset("isear", data_dir=str(tmp_path), drop_placeholders=True)
    assert sum(len(s) for s in dropped.splits.values()) == 71
    assert dropped.source.dropped_placeholders == 2


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
    assert corpus.source.split.seed == 3


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
    assert corpus.source.kind == "hub" and len(corpus.source.files) == 3


# ---------------------------------------------------------------- scores are not classes

EMOBANK_VALENCE = ["2.54", "3.0", "3.2", "2.8", "3.6", "1.9", "4.1", "3.0", "2.54", "3.33", "2.67", "3.8"]


@pytest.mark.parametrize(
    "name, content, pattern",
    [
        # EmoBank: the valence column read as classes gave one "label" per distinct score
        ("emobank.csv", "id,text,V\n" + "".join(f"{i},sentence {i},{v}\n" for i, v in enumerate(EMOBANK_VALENCE)),
         r"emobank.csv, line 2: column 'V' holds scores, not classes: 10 distinct numbers from 1.9 to 4.1 \(e.g. '2.54'\)"),
        # WASSA-2017: tab-separated, the intensity a share of 1
        ("wassa.tsv", "id\ttweet\temotion\tintensity\n" + "".join(f"{i}\ttweet {i}\tjoy\t0.{500 + 7 * i}\n" for i in range(12)),
         r"wassa.tsv, line 2: column 'intensity' holds scores, not classes: 12 distinct numbers from 0.5 to 0.577"),
        # integer intensities 0..100: more integers than classes that are not the ids 0..K-1
        ("ints.csv", "text,score\n" + "".join(f"t {i},{i * 4}\n" for i in range(25)),
         r"ints.csv, line 2: column 'score' holds scores, not classes: 25 distinct numbers from 0 to 96"),
    ],
)
def test_a_column_of_scores_is_refused_with_how_to_bin_it(tmp_path, name, content, pattern):
    path = write(tmp_path / name, content)
    columns = {"emobank.csv": ("text", "V"), "wassa.tsv": ("tweet", "intensity"), "ints.csv": ("text", "score")}[name]
    with pytest.raises(DataError, match=pattern) as caught:
        load_dataset(DatasetConfig(name=path, text_column=columns[0], label_column=columns[1]))
    message = str(caught.value)
    assert "\n" not in message and "emobench classifies texts, it does not predict scores" in message
    # the example bins this very column, in thirds of the range read
    assert f"pd.cut(df[{columns[1]!r}]," in message and "label_column" in message and "label_map" in message


def test_a_json_number_with_a_fraction_is_a_score(tmp_path):
    path = write(tmp_path / "d.jsonl", "".join(json.dumps({"text": f"t {i}", "label": v}) + "\n"
                                               for i, v in enumerate([1, 2, 2.54, 3])))
    with pytest.raises(DataError, match=r"d.jsonl, line 3: column 'label': label 2.54 is a number with a fraction, a score "
                                        r"rather than a class; emobench classifies texts, .* bin the scores into "
                                        r"classes"):
        load_dataset(DatasetConfig(name=path))


def test_integer_class_ids_and_mapped_numbers_still_read_as_classes(tmp_path):
    ids = write(tmp_path / "ids.csv", "text,label\n" + "".join(f"t {i},{i % 6}\n" for i in range(36)))
    corpus = load_dataset(DatasetConfig(name=ids))
    assert corpus.label_names == ["0", "1", "2", "3", "4", "5"] and sum(map(len, corpus.splits.values())) == 36
    floats = write(tmp_path / "floats.csv", "text,label\n" + "".join(f"t {i},{i % 2}.0\n" for i in range(12)))
    assert load_dataset(DatasetConfig(name=floats)).label_names == ["0.0", "1.0"]  # a pandas-written id column
    # a label map says which numbers are which class: the user has said they are classes
    scores = write(tmp_path / "scores.csv", "text,V\n" + "".join(f"t {i},{v}\n" for i, v in enumerate(EMOBANK_VALENCE * 6)))
    mapped = load_dataset(DatasetConfig(name=scores, label_column="V", label_map={"low": ["1.9", "2.54", "2.67", "2.8"],
                                                                                   "high": ["3.6", "3.8", "4.1", "3.33"]}))
    assert mapped.label_names == ["low", "high"] and sum(map(len, mapped.splits.values())) == 72 - 18  # 3.0, 3.2 unmapped


def test_data_audit_refuses_scores_too(tmp_path):
    from typer.testing import CliRunner

    from emobench.cli import app

    path = write(tmp_path / "emobank.csv", "text,V\n" + "".join(f"s {i},{v}\n" for i, v in enumerate(EMOBANK_VALENCE)))
    result = CliRunner().invoke(app, ["data", "audit", path, "--label-column", "V"])
    assert result.exit_code == 2, result.output
    assert "emobank.csv, line 2: column 'V' holds scores, not classes" in result.output
    assert "--label-column" in result.output and "--label-map" in result.output and "Traceback" not in result.output
