"""Bad data files given to `train` and `data audit`: missing, empty, malformed, mis-encoded, of the wrong type or
shape; bad label maps, label sets and dataset options. Each must be refused naming the file, the line and the
column, or read correctly."""
from __future__ import annotations

import json
import pickle

from .harness import WORDS, Case
from .helpers import ok_output, rows, run_recorded_warning, train_args, write


def file_case(name, content, message, suffix=".csv", extra=(), expect="error", check=None, encoding="utf-8", group="data file"):
    """`train --dataset` on a file ``d{suffix}`` holding ``content``."""
    def setup(case_dir, ws):
        write(case_dir / f"d{suffix}", content, encoding)
    return Case(name, ["train", "--model", "tfidf", "--dataset", "{case}/d" + suffix, "-o", "{case}/out", "-q", *extra],
                expect, message, setup, check, group=group)


def _labelled(label_of, n=30):
    """A learnable CSV whose i-th label is ``label_of(i)``."""
    return "text,label\n" + "".join(f"i feel {WORDS[['sadness', 'joy', 'anger'][i % 3]][i % 4]} today,{label_of(i)}\n"
                                    for i in range(n))


def cases() -> list[Case]:
    c: list[Case] = []
    big = "x" * 1_200_000
    # -------- data files
    c += [
        Case("missing file", train_args("--dataset", "{case}/nope.csv"), message=r"nope\.csv: file not found", group="data file"),
        Case("dataset is a folder", train_args("--dataset", "{ws}/data"), message=r"data: is a folder|unknown dataset",
             group="data file"),
        Case("unknown dataset name", train_args("--dataset", "emotions"), message=r"unknown dataset 'emotions'; expected one of emotion, isear",
             group="data file"),
        file_case("empty csv", "", r"d\.csv, line 1: empty file"),
        file_case("header only", "text,label\n", r"d\.csv: no examples"),
        file_case("missing text column", "words,label\nhello,joy\n", r"d\.csv, line 2: missing column 'text'"),
        file_case("missing label column", "text,emotion\nhello,joy\n", r"d\.csv, line 2: missing column 'label'"),
        file_case("empty text", rows() + ",joy\n", r"d\.csv, line 32: empty text"),
        file_case("whitespace text", rows() + "   ,joy\n", r"d\.csv, line 32: empty text"),
        file_case("empty label", rows() + "hello,\n", r"d\.csv, line 32: empty label"),
        file_case("extra field", rows() + "hello,joy,extra\n", r"d\.csv, line 32: 3 fields, expected 2"),
        file_case("missing field", rows() + "hello\n", r"d\.csv, line 32: 1 fields, expected 2"),
        file_case("unclosed quote", rows() + "\"hello,joy\n" + rows(5)[11:], r"d\.csv, line 32: a quote opened in this row is never closed"),
        file_case("invalid utf-8", (rows() + "bad \xff\xfe,joy\n").encode("latin-1"), r"d\.csv, line 32: .*not valid UTF-8"),
        file_case("latin-1 without --encoding", (rows() + "caf\xe9 sad,sadness\n").encode("latin-1"),
                  r"d\.csv, line 32: .*not valid UTF-8.*--encoding"),
        file_case("latin-1 with --encoding", (rows() + "caf\xe9 sad,sadness\n").encode("latin-1"), "", extra=("--encoding", "latin-1"),
                  expect="ok", check=ok_output(r"run written to")),
        file_case("unknown encoding", rows(), r"unknown encoding 'klingon'", extra=("--encoding", "klingon")),
        file_case("excel file", b"PK\x03\x04 fake xlsx", r"d\.xlsx: Excel files are not supported", suffix=".xlsx"),
        file_case("parquet file", b"PAR1 fake", r"d\.parquet: Parquet files are not supported", suffix=".parquet"),
        file_case("zip bytes named .csv", b"PK\x03\x04 zipped", r"d\.csv: the file is a zip archive"),
        file_case("pickle named .csv", pickle.dumps({"a": 1}), r"d\.csv: the file is a pickle"),
        file_case("JSON array", '[{"text": "a", "label": "joy"}]', r"d\.json, line 1: the file is a JSON array", suffix=".json"),
        file_case("JSONL malformed line", '{"text": "a", "label": "joy"}\n{"text": "b", label}\n',
                  r"d\.jsonl, line 2: malformed JSON", suffix=".jsonl"),
        file_case("JSONL not an object", '{"text": "a", "label": "joy"}\n[1, 2]\n', r"d\.jsonl, line 2: expected a JSON object",
                  suffix=".jsonl"),
        file_case("JSONL text is a number", '{"text": 5, "label": "joy"}\n', r"d\.jsonl, line 1: column 'text': expected text",
                  suffix=".jsonl"),
        file_case("JSONL label is a nested list", '{"text": "a", "label": [["joy"], "love"]}\n',
                  r"d\.jsonl, line 1: label \['joy'\] is a list of labels inside a list", suffix=".jsonl"),
        file_case("JSONL label lists train multi-label", "".join(json.dumps({"text": f"i feel {w} {i}", "label": ls}) + "\n"
                                                                 for i in range(40) for w, ls in (("happy and sad", ["joy", "sadness"]),
                                                                                                  ("glad", ["joy"]),
                                                                                                  ("lonely", ["sadness"]))),
                  "", suffix=".jsonl", expect="ok", check=lambda d, ws, out: None if "micro-F1" in out else "not multi-label"),
        file_case("empty label between separators", rows(30, label=lambda i: "joy||sadness" if i == 3 else "joy|anger"),
                  r"d\.csv, line 5: label set 'joy\|\|sadness' has an empty label", extra=("--label-separator", "|")),
        file_case("a label twice in a set", rows(30, label=lambda i: "joy|joy" if i == 0 else "joy|anger"),
                  r"d\.csv, line 2: label set 'joy\|joy' names a label twice", extra=("--label-separator", "|")),
        file_case("a letter as label separator", rows(), r"--label-separator 'x': expected a separator",
                  extra=("--label-separator", "x")),
        file_case("--no-header with a named column", "hello,joy\n" * 30, r"--text-column 'text2': with --no-header, columns are positions",
                  extra=("--no-header", "--text-column", "text2")),
        Case("label map not JSON", train_args("--label-map", "{case}/m.json"), message=r"m\.json: the label map is not valid JSON",
             setup=lambda d, ws: write(d / "m.json", "{oops"), group="data file"),
        Case("label map with a key twice", train_args("--label-map", "{case}/m.json"),
             message=r"m\.json: the label map is not valid JSON \(key 'joy' appears twice\)",
             setup=lambda d, ws: write(d / "m.json", '{"joy": ["joy"], "sad": ["sadness"], "joy": ["anger"]}'), group="data file"),
        Case("label map nested 10,000 deep", train_args("--label-map", "{case}/m.json"),
             message=r"m\.json: the label map is JSON nested too deeply",
             setup=lambda d, ws: write(d / "m.json", "[" * 10_000 + "]" * 10_000), group="data file"),
        Case("label map not an object", train_args("--label-map", "{case}/m.json"), message=r"m\.json: expected a JSON object",
             setup=lambda d, ws: write(d / "m.json", "[1]"), group="data file"),
        Case("label map with an unknown source", train_args("--label-map", "{case}/m.json"),
             message=r"'joyful' not a label of emotion", setup=lambda d, ws: write(d / "m.json", '{"happy": ["joyful"]}'),
             group="data file"),
        Case("label map splitting one label in two", train_args("--label-map", "{case}/m.json"),
             message=r"'joy' map\(s\) to several targets, which single-label data cannot hold",
             setup=lambda d, ws: write(d / "m.json", '{"a": ["joy"], "b": ["joy", "anger"]}'), group="data file"),
        Case("label map missing", train_args("--label-map", "{case}/nope.json"),
             message=r"--label-map .*nope\.json: no such file, and not a built-in map", group="data file"),
        Case("unknown GoEmotions variant", train_args("--dataset", "goemotions:plutchik"),
             message=r"unknown GoEmotions variant 'goemotions:plutchik'", group="data file"),
        Case("a variant of a dataset without variants", train_args("--dataset", "emotion:ekman"),
             message=r"dataset 'emotion' has no variants", group="data file"),
        file_case("JSONL label is a fraction", '{"text": "a", "label": 1.5}\n', r"d\.jsonl, line 1: column .label.: label 1\.5 is a number with a fraction", suffix=".jsonl"),
        file_case("JSONL label is a boolean", '{"text": "a", "label": true}\n', r"d\.jsonl, line 1: column 'label'", suffix=".jsonl"),
        file_case("label set with commas", rows() + '"hello","joy,love"\n', r"d\.csv, line 32: label 'joy,love' looks like several"),
        file_case("label ids with commas", rows() + '"hello","0,3"\n', r"d\.csv, line 32: label '0,3' looks like several"),
        file_case("label as bracket list", rows() + '"hello","[1, 2]"\n', r"d\.csv, line 32: label '\[1, 2\]' looks like several"),
        file_case("names and ids mixed", rows() + "hello,3\n", r"mix integer ids \('3' at .*d\.csv, line 32\) and names"),
        file_case("ids not contiguous", rows(label=lambda i: [0, 2][i % 2]), r"d\.csv, line 2: integer labels must be the ids 0\.\.1"),
        file_case("one class only", rows(label=lambda i: "joy"), r"d\.csv: the training data has one label only \('joy'\)"),
        file_case("too few rows per class", rows() + "hello,fear\n", r"d\.csv: label 'fear' has 1 example.*at least 6"),
        file_case("duplicate header", "text,text\nhello,joy\n", r"d\.csv, line 1: column 'text' appears twice"),
        file_case("text column is label column", rows(), r"--text-column and --label-column are both 'label'",
                  extra=("--text-column", "label")),
        file_case("bad split value", "text,label,part\n" + "".join(f"t {i},{['a', 'b'][i % 2]},{['train', 'holdout'][i % 2]}\n"
                                                                  for i in range(10)),
                  r"d\.csv, line 3: split 'holdout' in column 'part'", extra=("--split-column", "part")),
        file_case("missing split column", rows(), r"d\.csv, line 2: missing column 'part'", extra=("--split-column", "part")),
        file_case("field over 1,000,000 characters", rows() + f"{big},joy\n", r"d\.csv, line 32: malformed row \(a field of more"),
        file_case("unknown suffix", rows(), r"d\.dat: unknown file type '\.dat'", suffix=".dat"),
        file_case("no suffix", rows(), r"unknown file type '\(no suffix\)'", suffix=""),
        file_case("text over 100,000 characters", rows(60) + ("y" * 150_000) + ",joy\n", "", expect="ok",
                  check=run_recorded_warning(r"truncated to 100,000")),
        file_case("labels differing only in case", _labelled(lambda i: ["sad", "Sad", "happy"][i % 3], 60), "", expect="ok",
                  check=run_recorded_warning(r"'Sad' and 'sad' differ only in case")),
        Case("validation file without train file", train_args("--validation-file", "{ws}/user/validation.csv"),
             message=r"--validation-file/--test-file need --train-file", group="data file"),
        Case("test label unseen in training",
             ["train", "--model", "tfidf", "--train-file", "{ws}/user/train.csv", "--test-file", "{case}/t.csv", "-o", "{case}/out", "-q"],
             message=r"t\.csv, line 2: label 'fear' in the test data never occurs in training",
             setup=lambda d, ws: write(d / "t.csv", "text,label\nscared,fear\n"), group="data file"),
        Case("ids in test file, names in training",
             ["train", "--model", "tfidf", "--train-file", "{ws}/user/train.csv", "--test-file", "{case}/t.csv", "-o", "{case}/out", "-q"],
             message=r"t\.csv, line 2: label '1' is an integer id, but the labels are names",
             setup=lambda d, ws: write(d / "t.csv", "text,label\ni feel happy,1\n"), group="data file"),
        Case("--label-names given a file", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--label-names",
                                            "{case}/labels.txt", "-o", "{case}/out", "-q"],
             message=r"--label-names .*labels\.txt: a file; expected the names themselves", group="data file",
             setup=lambda d, ws: write(d / "labels.txt", "sadness\njoy\nanger\n")),
        Case("--dataset-name with a slash", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--dataset-name",
                                             "a/b", "-o", "{case}/out", "-q"],
             message=r"--dataset-name 'a/b': expected a short plain name", group="data file"),
        Case("--dataset-name with emotion", train_args("--dataset-name", "tweets"),
             message=r"--dataset-name applies to your own data files", group="data file"),
        Case("--dataset-name names the run", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--dataset-name",
                                              "mydata", "-o", "{case}/out", "-q"], expect="ok",
             check=lambda d, ws, out: None if any(p.name.startswith("mydata-tfidf") for p in (d / "out").iterdir())
             else "the run is not named after --dataset-name", group="data file"),
        Case("duplicate --label-names", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--label-names", "a,a",
                                         "-o", "{case}/out", "-q"], message=r"--label-names a,a: expected distinct", group="data file"),
        Case("--drop-placeholders with emotion", train_args("--drop-placeholders"), message=r"--drop-placeholders applies to ISEAR",
             group="data file"),
        Case("--text-column with emotion", train_args("--text-column", "sentence"),
             message=r"--text-column applies to your own data files", group="data file"),
        Case("--split-seed with emotion", train_args("--split-seed", "3"), message=r"--split-seed applies to generated splits",
             group="data file"),
        Case("ISEAR without a data root", ["train", "--model", "tfidf", "--dataset", "isear", "-o", "{case}/out", "-q"],
             message=r"ISEAR: set EMOBENCH_DATA", env={"EMOBENCH_DATA": ""}, group="data file"),
        Case("ISEAR file missing", ["train", "--model", "tfidf", "--dataset", "isear", "--data-dir", "{case}", "-o", "{case}/out", "-q"],
             message=r"isear\.csv: file not found", group="data file"),
    ]
    # -------- audit
    c += [
        Case("audit --json into a folder", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--json", "{case}"],
             message=r"--json .*: is a folder", group="audit"),
        Case("audit --json into a missing folder", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--json", "{case}/no/a.json"],
             message=r"the folder .*no does not exist", group="audit"),
        Case("audit a missing file", ["data", "audit", "{case}/x.csv"], message=r"x\.csv: file not found", group="audit"),
        Case("audit --label-column on emotion", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--label-column", "y"],
             message=r"--label-column applies to your own data files", group="audit"),
        Case("audit a malformed CSV", ["data", "audit", "{case}/d.csv"], message=r"d\.csv, line 2: 3 fields",
             setup=lambda d, ws: write(d / "d.csv", "text,label\na,b,c\n"), group="audit"),
        Case("audit a file with markup labels", ["data", "audit", "{case}/d.csv"], expect="ok",
             setup=lambda d, ws: write(d / "d.csv", _labelled(lambda i: ["[bold]x", "[/]", "<b>"][i % 3], 60)),
             check=ok_output(r"(?=.*\[bold\]x)(?=.*\[/\])(?=.*<b>)"), group="audit"),
    ]
    # -------- parallel text and label files (TweetEval's train_text.txt + train_labels.txt)
    def _pair(n_labels=90, label=lambda i: str(i % 3), text=lambda i: f"i feel thing number {i}"):
        def setup(d, ws):
            write(d / "t.txt", "".join(text(i) + "\n" for i in range(90)))
            write(d / "l.txt", "".join(label(i) + "\n" for i in range(n_labels)))
        return setup
    pair = ["data", "audit", "--train-file", "{case}/t.txt", "--train-labels", "{case}/l.txt"]
    c += [
        Case("--train-labels with fewer lines", pair, message=r"t\.txt: 90 lines, but .*l\.txt has 80", setup=_pair(80),
             group="label files"),
        Case("--train-labels naming an id past --label-names", [*pair, "--label-names", "a,b"],
             message=r"l\.txt, line 3: label id 2 is out of range", setup=_pair(), group="label files"),
        Case("--train-labels with an empty text", pair, message=r"t\.txt, line 4: empty text",
             setup=_pair(text=lambda i: "" if i == 3 else f"text {i}"), group="label files"),
        Case("--train-labels with an empty label", pair, message=r"l\.txt, line 6",
             setup=_pair(label=lambda i: "" if i == 5 else str(i % 3)), group="label files"),
        Case("--train-labels missing", [*pair[:-1], "{case}/none.txt"], message=r"none\.txt: file not found",
             setup=_pair(), group="label files"),
        Case("--train-labels beside a CSV", ["data", "audit", "--train-file", "{ws}/user/train.csv", "--train-labels",
                                             "{case}/l.txt"], message=r"pairs with a text file of one text per line",
             setup=_pair(), group="label files"),
        Case("--train-labels with --text-column", [*pair, "--text-column", "x"], message=r"apply to table files",
             setup=_pair(), group="label files"),
        Case("train on --train-labels", ["train", "--model", "tfidf", "--train-file", "{case}/t.txt", "--train-labels",
                                         "{case}/l.txt", "--validation-split", "0.2", "-o", "{case}/out", "-q"],
             expect="ok", setup=_pair(label=lambda i: ["joy", "anger", "fear"][i % 3],
                                      text=lambda i: f"so {['happy', 'angry', 'scared'][i % 3]} {i}"),
             check=lambda d, ws, out: None if len(json.loads(next((d / "out").glob("*/data.json")).read_text())[
                 "source"]["files"]) == 2 else "both files' checksums not recorded", group="label files"),
    ]
    # -------- --limit: a quick first try
    c += [Case(f"--limit {value}", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--limit", value],
               message=rf"--limit {value}: expected|--limit '{value}'|Invalid value", group="limit")
          for value in ("0", "9", "x", "1e3", "99999999999")]
    c += [Case("train --limit", train_args("--limit", "20"), expect="ok", check=run_recorded_warning(
        r"every split cut to at most 20 texts"), group="limit")]
    # -------- a validation split held out of a training file
    own = ["--train-file", "{ws}/user/train.csv", "--test-file", "{ws}/user/test.csv"]
    c += [Case(f"--validation-split {value}", ["data", "audit", *own, "--validation-split", value], message=message,
               group="validation split") for value, message in [
        ("0", r"--validation-split '0': expected the share"), ("0.6", r"--validation-split '0.6': expected the share"),
        ("nan", r"--validation-split 'nan': expected the share"), ("a", r"--validation-split 'a': expected the share"),
        ("-0.1", r"--validation-split '-0.1': expected the share")]]
    c += [
        Case("--validation-split with a validation file", ["data", "audit", *own, "--validation-file",
                                                          "{ws}/user/validation.csv", "--validation-split", "0.1"],
             message=r"the data has a validation split of its own", group="validation split"),
        Case("--validation-split on one file", ["data", "audit", "{ws}/user/train.csv", "--validation-split", "0.1"],
             message=r"cut into train, validation and test already", group="validation split"),
        Case("--validation-split on emotion", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--validation-split",
                                               "0.1"], message=r"applies to your own data files", group="validation split"),
        Case("train --validation-split", ["train", "--model", "tfidf", *own, "--validation-split", "0.2", "-o", "{case}/out",
                                          "-q"], expect="ok", check=lambda d, ws, out: None if json.loads(next(
                                              (d / "out").glob("*/data.json")).read_text())["source"]["split"][
                                              "fractions"] == {"train": 0.8, "validation": 0.2} else "not recorded",
             group="validation split"),
    ]
    return c
