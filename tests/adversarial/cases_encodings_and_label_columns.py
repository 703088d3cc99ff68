"""How files are read: encodings (Windows-1252, UTF-16, Shift-JIS, a bad byte, per-split ``--encoding``) and
labels spread over indicator columns (``--label-columns``)."""
from __future__ import annotations

import json

from .harness import WORDS, Case
from .helpers import csv_text, ok_output, run_recorded_warning, train_args, user_rows, write


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- encodings
    cp1252 = csv_text([(f"i feel \u2019so\u2019 {w} {i}", l) for i, (w, l) in enumerate(
        (word, label) for label in WORDS for word in WORDS[label] for _ in range(3))]).encode("cp1252")
    files = lambda *a: ["train", "--model", "tfidf", "--train-file", "{case}/train.csv", "--validation-file",
                        "{ws}/user/validation.csv", "--test-file", "{ws}/user/test.csv", "-o", "{case}/out", "-q", *a]
    c += [
        Case("a Windows-1252 file without --encoding", files(), message=r"train\.csv, line 2: .*looks like Windows-1252.*--encoding train=cp1252",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding train=cp1252", files("--encoding", "train=cp1252"), expect="ok", check=ok_output(r"run written"),
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("a UTF-8 file with one bad byte", files(), message=r"mixes encodings or is damaged",
             setup=lambda d, ws: write(d / "train.csv", csv_text(user_rows(36)).replace("i feel", "i \u2019feel").encode() + b"x\xe9,joy\n"),
             group="encodings"),
        Case("a UTF-8 file read as latin-1", files("--encoding", "latin-1"), expect="ok",
             setup=lambda d, ws: write(d / "train.csv", csv_text([(t.replace("feel", "f\u00e9el"), l) for t, l in user_rows(36)])),
             check=run_recorded_warning(r"is valid UTF-8"), group="encodings"),
        Case("--encoding dev=cp1252", files("--encoding", "dev=cp1252"), message=r"with the splits train, validation, test",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding train twice", files("--encoding", "train=cp1252,train=utf-8"), message=r"train is given twice",
             setup=lambda d, ws: write(d / "train.csv", cp1252), group="encodings"),
        Case("--encoding per split for one file", ["train", "--model", "tfidf", "--dataset", "{ws}/user/train.csv", "--encoding",
                                                    "train=cp1252", "-o", "{case}/out", "-q"],
             message=r"encodings per split apply to one file per split", group="encodings"),
        Case("a UTF-16 file", ["data", "audit", "{case}/d.csv"], message=r"UTF-16 byte-order mark: pass --encoding utf-16",
             setup=lambda d, ws: write(d / "d.csv", csv_text(user_rows()).encode("utf-16")), group="encodings"),
        Case("--encoding utf-16", ["data", "audit", "{case}/d.csv", "--encoding", "utf-16"], expect="ok",
             setup=lambda d, ws: write(d / "d.csv", csv_text(user_rows()).encode("utf-16")), check=ok_output(r"train"),
             group="encodings"),
        Case("a UTF-8 BOM", ["data", "audit", "{case}/d.csv", "--json", "{case}/a.json"], expect="ok",
             setup=lambda d, ws: write(d / "d.csv", "\ufeff" + csv_text(user_rows())),
             check=lambda d, ws, out: None if (d / "a.json").is_file() else "no audit", group="encodings"),
        Case("a Shift-JIS file", ["data", "audit", "{case}/d.csv"], message=r"multi-byte East Asian encoding.*shift_jis",
             setup=lambda d, ws: write(d / "d.csv", csv_text([(f"\u3046\u308c\u3057\u3044 {t}", l) for t, l in user_rows()]).encode("shift_jis")),
             group="encodings"),
        Case("--encoding rot13", ["data", "audit", "{ws}/user/test.csv", "--encoding", "rot13"],
             message=r"unknown encoding 'rot13'", group="encodings"),
        Case("--encoding on a built-in dataset per split", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--encoding",
                                                            "train=cp1252"], message=r"encodings per split apply",
             group="encodings"),
        Case("--encoding on a dataset read as published", ["data", "audit", "emotion", "--data-dir", "{ws}/data",
                                                            "--encoding", "cp1252"],
             message=r"--encoding does not apply to the built-in dataset 'emotion'", group="encodings"),
        Case("--data-format on a built-in dataset", ["data", "audit", "emotion", "--data-dir", "{ws}/data", "--data-format", "csv"],
             message=r"--data-format applies to your own data files", group="encodings"),
    ]
    # -------- multi-label inputs
    ind = lambda *a: ["train", "--model", "tfidf", "--dataset", "{ws}/user/indicators.csv", "--text-column", "Tweet", "-o",
                      "{case}/out", "-q", *a]
    c += [
        Case("--label-columns", ind("--label-columns", "sadness,joy,anger"), expect="ok", check=ok_output(r"micro-F1"),
             group="multi-label"),
        Case("--label-columns all with an id column", ind("--label-columns", "all"), expect="ok",
             check=run_recorded_warning(r"left out the column 'ID', which holds no 0/1 value"), group="multi-label"),
        Case("--label-columns with one column", ind("--label-columns", "joy"), message=r"expected two or more", group="multi-label"),
        Case("--label-columns with a missing column", ind("--label-columns", "joy,fear"), message=r"line 2: missing column 'fear'",
             group="multi-label"),
        Case("--label-columns and --label-separator", ind("--label-columns", "joy,anger", "--label-separator", "|"),
             message=r"give one way of reading labels", group="multi-label"),
        Case("--label-columns and --label-names", ind("--label-columns", "joy,anger", "--label-names", "a,b"),
             message=r"the column names are the labels", group="multi-label"),
        Case("--label-columns on emotion", train_args("--label-columns", "a,b"), message=r"--label-columns applies to your own",
             group="multi-label"),
        Case("--label-columns naming the text column", ind("--label-columns", "Tweet,joy"), message=r"'Tweet' is the text",
             group="multi-label"),
        Case("--label-columns with a 2", ["data", "audit", "{case}/d.csv", "--label-columns", "a,b"],
             message=r"d\.csv, line 3: column 'b': '2' is not 0 or 1",
             setup=lambda d, ws: write(d / "d.csv", "text,a,b\nhello,1,0\nhi,0,2\n"), group="multi-label"),
        Case("--label-columns as JSON booleans", ["data", "audit", "{case}/d.jsonl", "--label-columns", "a,b"], expect="ok",
             setup=lambda d, ws: write(d / "d.jsonl", "".join(json.dumps({"text": f"t {i}", "a": i % 2 == 0, "b": i % 3 == 0}) + "\n"
                                                                for i in range(40))),
             check=ok_output(r"multi-label"), group="multi-label"),
        Case("--label-columns with --no-header names", ["data", "audit", "{case}/d.csv", "--no-header", "--label-columns", "a,b"],
             message=r"--label-columns 'a': with --no-header, columns are positions",
             setup=lambda d, ws: write(d / "d.csv", "hello,1,0\n"), group="multi-label"),
    ]
    return c
