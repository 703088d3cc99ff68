"""Bad inputs, bad arguments and hostile files driven through the command line, each outcome classified.

    .venv/bin/python benchmarks/bad_inputs.py            # every case as a real `emobench` process

Outcomes: "clear error" (exit 2, a message naming the file / line / key, nothing written or destroyed),
"correct" (a bad-looking input emobench handles, with the right result), and the failures: "traceback",
"wrong result" (exit 0 where an error was due, or a wrong answer), "code execution" (a hostile file ran
code), "lost run" (a finished run was changed or removed), "half-written" (an error left files behind).
The same table runs in-process in CI (tests/test_bad_inputs.py).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
WORDS = {
    "sadness": ["sad", "lonely", "miserable", "heartbroken"], "joy": ["happy", "glad", "cheerful", "delighted"],
    "anger": ["angry", "furious", "irritated", "annoyed"],
}
PROTECTED = ("runs/tfidf-run", "runs/lstm-run", "cmp/study")


def _examples(n: int, seed: int) -> list[tuple[str, str]]:
    import random

    rng = random.Random(seed)
    labels = list(WORDS)
    return [(f"i feel {rng.choice(WORDS[labels[i % 3]])} today {rng.choice(['', 'really', 'lol'])}".strip(), labels[i % 3])
            for i in range(n)]


class Marker:
    """A pickle that, if ever unpickled, creates a marker file (evidence of code execution)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@dataclass
class Workspace:
    root: Path

    def __post_init__(self):
        self.data = self.root / "data"
        self.marker = self.root / "EXECUTED"

    def p(self, *parts) -> str:
        return str(self.root.joinpath(*parts))


def build_workspace(root: Path, invoke: Callable[[list[str]], tuple[int, str]]) -> Workspace:
    """Tiny datasets, finished runs (tfidf, LSTM, lstm-paper, a tiny BERT, multi-label), an int8 export and a finished
    comparison."""
    ws = Workspace(root)
    (ws.data / "emotion").mkdir(parents=True)
    for name, n, seed in (("train.txt", 90, 1), ("val.txt", 30, 2), ("test.txt", 30, 3)):
        (ws.data / "emotion" / name).write_text("".join(f"{t};{l}\n" for t, l in _examples(n, seed)))
    (ws.root / "user").mkdir()
    for split, n, seed in (("train", 90, 4), ("validation", 30, 5), ("test", 30, 6)):
        with open(ws.root / "user" / f"{split}.csv", "w", newline="") as handle:
            import csv

            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(_examples(n, seed))
    common = ["--data-dir", str(ws.data), "-q"]
    steps = [["train", "--model", "tfidf", "-o", ws.p("runs"), "--name", "tfidf-run", *common],
             ["train", "--model", "lstm", "-o", ws.p("runs"), "--name", "lstm-run", "--set", "epochs=2", "--set",
              "hidden_size=8", "--set", "glove=none", *common],
             ["compare", "--models", "tfidf,lstm", "-o", ws.p("cmp"), "--name", "study", "--set", "lstm.epochs=1", "--set",
              "lstm.hidden_size=4", "--set", "lstm.glove=none", *common],
             ["train", "--model", "tfidf", "--train-file", ws.p("user", "train.csv"), "--validation-file",
              ws.p("user", "validation.csv"), "--test-file", ws.p("user", "test.csv"), "-o", ws.p("runs"),
              "--name", "user-run", "-q"]]
    for args in steps:
        code, output = invoke(args)
        if code != 0:
            raise RuntimeError(f"workspace step failed: {args}\n{output}")
    from bad_inputs_surface import build_surface

    build_surface(ws, invoke)
    return ws


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    # kind "cli": arguments ("{ws}" is replaced by the workspace root, "{case}" by the case's own folder); "http": a
    # request spec (bad_inputs_surface.http); "process": a function (ws, case_dir) -> (exit code, output) that runs
    # several processes itself (concurrent writers, a kill).
    args: list | dict | Callable
    expect: str = "error"  # "error" or "ok"
    message: str = ""  # regex the output must match (errors: names the file / line / key)
    setup: Callable | None = None  # setup(case_dir, ws)
    check: Callable | None = None  # check(case_dir, ws, output) -> problem or None, for "ok" cases
    env: dict = field(default_factory=dict)
    group: str = ""
    kind: str = "cli"


def write(path: Path, content, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    return path


def rows(n=30, label=lambda i: ["sadness", "joy", "anger"][i % 3], text=lambda i: f"i feel thing number {i}"):
    return "text,label\n" + "".join(f"{text(i)},{label(i)}\n" for i in range(n))


def file_case(name, content, message, suffix=".csv", extra=(), expect="error", check=None, encoding="utf-8", group="data file"):
    def setup(case_dir, ws):
        write(case_dir / f"d{suffix}", content, encoding)
    return Case(name, ["train", "--model", "tfidf", "--dataset", "{case}/d" + suffix, "-o", "{case}/out", "-q", *extra],
                expect, message, setup, check, group=group)


def copy_run(name, mutate, manifests=False):
    """A copy of a finished run, changed by ``mutate``. Without ``manifests`` the copy is a folder as emobench
    0.2 wrote it (no MANIFEST.json), so each case reaches the validation of the file it breaks; the manifest's
    own checks are benchmarks/tampered.py's."""
    def setup(case_dir, ws):
        shutil.copytree(ws.root / "runs" / name, case_dir / "run")
        if not manifests:
            for manifest in (case_dir / "run").rglob("MANIFEST.json"):
                manifest.unlink()
        mutate(case_dir / "run", ws)
    return setup


def hostile_pickle(relative):
    def mutate(run, ws):
        with open(run / relative, "wb") as handle:
            pickle.dump(Marker(str(ws.marker)), handle)
    return mutate


def train_args(*extra, model="tfidf"):
    return ["train", "--model", model, "--data-dir", "{ws}/data", "-o", "{case}/out", "-q", *extra]


def lstm_set(*pairs):
    out = []
    for pair in ("epochs=1", "hidden_size=4", "glove=none", *pairs):
        out += ["--set", pair]
    return out


def _ok_output(pattern):
    def check(case_dir, ws, output):
        return None if re.search(pattern, output, re.S) else f"output lacks {pattern!r}"
    return check


def _run_recorded_warning(pattern):
    def check(case_dir, ws, output):
        runs = list((case_dir / "out").glob("*/data.json"))
        if not runs:
            return "no run written"
        warnings = json.loads(runs[0].read_text()).get("warnings", [])
        return None if any(re.search(pattern, w) for w in warnings) else f"data.json warnings lack {pattern!r}: {warnings}"
    return check


def _accuracy_is(expected):
    def check(case_dir, ws, output):
        found = re.search(r"accuracy\s+([0-9.]+)", output)
        return None if found and abs(float(found.group(1)) - expected) < 1e-9 else f"accuracy is not {expected}: {output[-300:]}"
    return check


def _labelled(label_of, n=30):
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
        file_case("unclosed quote", rows() + "\"hello,joy\n" + rows(5)[11:], r"d\.csv, line 32: 1 fields.*quote left open"),
        file_case("invalid utf-8", (rows() + "bad \xff\xfe,joy\n").encode("latin-1"), r"d\.csv, line 32: .*not valid UTF-8"),
        file_case("latin-1 without --encoding", (rows() + "caf\xe9 sad,sadness\n").encode("latin-1"),
                  r"d\.csv, line 32: .*not valid UTF-8.*--encoding"),
        file_case("latin-1 with --encoding", (rows() + "caf\xe9 sad,sadness\n").encode("latin-1"), "", extra=("--encoding", "latin-1"),
                  expect="ok", check=_ok_output(r"run written to")),
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
        file_case("JSONL label is a fraction", '{"text": "a", "label": 1.5}\n', r"d\.jsonl, line 1: label 1\.5", suffix=".jsonl"),
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
                  check=_run_recorded_warning(r"truncated to 100,000")),
        file_case("labels differing only in case", _labelled(lambda i: ["sad", "Sad", "happy"][i % 3], 60), "", expect="ok",
                  check=_run_recorded_warning(r"'Sad' and 'sad' differ only in case")),
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
    # -------- training options
    bad_sets = [
        ("tfidf", "C=0", r"parameter C=0\.0 .*expected a number > 0"),
        ("tfidf", "C=-1", r"parameter C=-1\.0 .*> 0"),
        ("tfidf", "C=abc", r"parameter C='abc' .*expected a number"),
        ("tfidf", "char_ngram_min=7", r"char_ngram_min=7 and char_ngram_max=6: expected char_ngram_min <= char_ngram_max"),
        ("tfidf", "word_ngram_max=0", r"parameter word_ngram_max=0 .*>= 1"),
        ("tfidf", "classifier=forest", r"parameter classifier='forest' .*'svm' or 'logreg'"),
        ("tfidf", "class_weight=weird", r"parameter class_weight='weird' .*'balanced' or none"),
        ("tfidf", "hidden_size=8", r"unknown parameter 'hidden_size' for TfidfParams"),
        ("tfidf", "max_iter=0", r"parameter max_iter=0"),
        ("lstm", "learning_rate=0", r"parameter learning_rate=0\.0 .*> 0"),
        ("lstm", "learning_rate=-1", r"parameter learning_rate=-1\.0"),
        ("lstm", "learning_rate=nan", r"parameter learning_rate=nan"),
        ("lstm", "learning_rate=inf", r"parameter learning_rate=inf"),
        ("lstm", "batch_size=0", r"parameter batch_size=0 .*>= 1"),
        ("lstm", "batch_size=2.5", r"parameter batch_size='2\.5' .*an integer"),
        ("lstm", "epochs=0", r"parameter epochs=0 .*>= 1"),
        ("lstm", "dropout=1", r"parameter dropout=1\.0 .*< 1"),
        ("lstm", "dropout=-0.5", r"parameter dropout=-0\.5 .*>= 0"),
        ("lstm", "metric=auc", r"parameter metric='auc' .*'macro_f1' or 'accuracy'"),
        ("lstm", "optimizer=sgd", r"parameter optimizer='sgd' .*'adamw' or 'adam'"),
        ("lstm", "scheduler=cosine", r"parameter scheduler='cosine'"),
        ("lstm", "warmup_ratio=1.5", r"parameter warmup_ratio=1\.5"),
        ("lstm", "patience=-1", r"parameter patience=-1"),
        ("lstm", "architecture=gru", r"parameter architecture='gru'"),
        ("lstm", "num_layers=0", r"parameter num_layers=0"),
        ("lstm", "cpu=maybe", r"parameter cpu='maybe' .*true or false"),
        ("minilm", "mode=zero-shot", r"parameter mode='zero-shot' .*'finetune' or 'features'"),
        ("minilm", "pooling=max", r"parameter pooling='max'"),
        ("minilm", "max_length=0", r"parameter max_length=0"),
    ]
    for model, pair, message in bad_sets:
        c.append(Case(f"--set {pair} ({model})", train_args("--set", pair, model=model), message=message, group="training options"))
    c += [
        Case("unknown model", train_args(model="bert-large-magic"), message=r"unknown model 'bert-large-magic'", group="training options"),
        Case("hf: without a name", train_args(model="hf:"), message=r"model 'hf:' needs a hub id", group="training options"),
        Case("hf: missing directory", train_args(model="hf:{case}/no-model"), message=r"cannot load '.*no-model'",
             env={"HF_HUB_OFFLINE": "1"}, group="training options"),
        Case("--set without =", train_args("--set", "nonsense"), message=r"--set 'nonsense': expected key=value", group="training options"),
        Case("unknown preset", train_args("--preset", "turbo"), message=r"model 'tfidf' has no preset 'turbo'", group="training options"),
        Case("negative seed", train_args("--seed", "-1"), message=r"--seed -1: expected an integer >= 0", group="training options"),
        Case("--name with a slash", train_args("--name", "a/b"), message=r"--name 'a/b': expected a plain folder name", group="run folders"),
        Case("--name ..", train_args("--name", ".."), message=r"--name '\.\.': expected a plain folder name", group="run folders"),
        Case("--name absolute", train_args("--name", "/tmp/evil"), message=r"--name '/tmp/evil'", group="run folders"),
        Case("--name empty", train_args("--name", ""), message=r"--name '': expected a plain folder name", group="run folders"),
        Case("--name ending in .partial", train_args("--name", "x.partial"), message=r"not ending in '\.partial'", group="run folders"),
        Case("-o is a file", ["train", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/file", "-q"],
             message=r"--output-dir .*file: is a file", setup=lambda d, ws: write(d / "file", "x"), group="run folders"),
        Case("--name of a finished run", ["train", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{ws}/runs", "--name",
                                          "tfidf-run", "-q"], message=r"tfidf-run already exists", group="run folders"),
        Case("--resume a finished run", ["train", "--resume", "{ws}/runs/tfidf-run"], message=r"is a finished run; there is nothing to resume",
             group="run folders"),
        Case("--resume a missing folder", ["train", "--resume", "{case}/nothing.partial"], message=r"nothing\.partial: not an unfinished run",
             group="run folders"),
        Case("--resume a folder that is no run", ["train", "--resume", "{case}"], message=r"not an unfinished run", group="run folders"),
        Case("--resume with --model", ["train", "--resume", "{ws}/runs/tfidf-run", "--model", "lstm"],
             message=r"--model cannot be combined with it", group="run folders"),
        Case("--resume a run locked by a live process", ["train", "--resume", "{case}/r.partial"],
             message=r"r\.partial: the run is being trained by process",
             setup=lambda d, ws: (write(d / "r.partial" / "config.json", json.dumps(
                 {"model": "tfidf", "seed": 0, "dataset": {"name": "emotion", "data_dir": str(ws.data)}})),
                 write(d / "r.partial" / "LOCK", json.dumps({"pid": 1, "host": os.uname().nodename, "started": "now"}))),
             group="run folders"),
        Case("a stale lock on a new name", train_args("--name", "r"), message=r"r\.partial holds an unfinished run",
             setup=lambda d, ws: write(d / "out" / "r.partial" / "LOCK", json.dumps(
                 {"pid": 999_999_999, "host": os.uname().nodename, "started": "then"})), group="run folders"),
        Case("missing GloVe file", train_args(*lstm_set(), "--set", "glove={case}/none.txt", model="lstm"),
             message=r"GloVe file .*none\.txt not found", group="training options"),
    ]
    # -------- evaluate
    corrupt = lambda name, text: copy_run("tfidf-run", lambda run, ws: write(run / name, text))
    c += [
        Case("evaluate a missing run", ["evaluate", "{case}/nope"], message=r"nope: no such run directory", group="evaluate"),
        Case("evaluate an unfinished run", ["evaluate", "{case}/r.partial"], message=r"r\.partial: not a finished emobench run",
             setup=lambda d, ws: (d / "r.partial").mkdir(), group="evaluate"),
        Case("evaluate an unknown split", ["evaluate", "{ws}/runs/tfidf-run", "--split", "dev"],
             message=r"has no split 'dev' \(it has: train, validation, test\)", group="evaluate"),
        Case("evaluate a missing --data file", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{case}/x.csv"],
             message=r"x\.csv: file not found", group="evaluate"),
        Case("evaluate ids against names", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{case}/ids.csv"],
             message=r"ids\.csv, line 2: label '1' is an integer id, but the labels are names",
             setup=lambda d, ws: write(d / "ids.csv", "text,label\ni feel happy,1\n"), group="evaluate"),
        Case("evaluate ids with --label-names", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{case}/ids.csv", "--label-names",
                                                 "sadness,joy,love,anger,fear,surprise"], expect="ok",
             setup=lambda d, ws: write(d / "ids.csv", "text,label\ni feel so happy and glad,1\ni feel sad and lonely,0\n"),
             check=_accuracy_is(1.0), group="evaluate"),
        Case("evaluate with an unknown --label-names entry", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{case}/ids.csv",
                                                               "--label-names", "happy,sad"],
             message=r"the run's labels \(sadness, .*\) and ids's \(happy, sad\) have none in common",
             setup=lambda d, ws: write(d / "ids.csv", "text,label\ni feel happy,1\n"), group="evaluate"),
        Case("evaluate only unseen labels", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{case}/d.csv"],
             message=r"every text of d \(d\.csv\): no text has a label the run knows .*the data's labels: pride",
             setup=lambda d, ws: write(d / "d.csv", "text,label\ni am proud,pride\n"), group="evaluate"),
        Case("evaluate --data with --split", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{ws}/data/emotion/test.txt", "--split",
                                              "validation"], message=r"test\.txt has no splits of its own, so every text is scored",
             group="evaluate"),
        Case("evaluate --json into a folder", ["evaluate", "{ws}/runs/tfidf-run", "--json", "{case}"],
             message=r"--json .*: is a folder", group="evaluate"),
        Case("evaluate changed data", ["evaluate", "{case}/run", "--data-dir", "{case}/data"],
             message=r"the data differs from what the run was trained on: test\.txt: sha256",
             setup=lambda d, ws: (shutil.copytree(ws.root / "runs" / "tfidf-run", d / "run"), shutil.copytree(ws.data, d / "data"),
                                  write(d / "data" / "emotion" / "test.txt",
                                        (d / "data" / "emotion" / "test.txt").read_text().replace(";joy", ";sadness", 3))),
             group="evaluate"),
        Case("evaluate changed data, allowed", ["evaluate", "{case}/run", "--data-dir", "{case}/data", "--allow-changed-data"],
             expect="ok", check=_ok_output(r"NOTE: the data differs"),
             setup=lambda d, ws: (shutil.copytree(ws.root / "runs" / "tfidf-run", d / "run"), shutil.copytree(ws.data, d / "data"),
                                  write(d / "data" / "emotion" / "test.txt",
                                        (d / "data" / "emotion" / "test.txt").read_text().replace(";joy", ";sadness", 3))),
             group="evaluate"),
        Case("evaluate a truncated metrics.json", ["evaluate", "{case}/run"], message=r"metrics\.json: the run metrics is not valid JSON",
             setup=corrupt("metrics.json", '{"splits": {"test"'), group="evaluate"),
        Case("evaluate a corrupt config.json", ["evaluate", "{case}/run"], message=r"config\.json: the run configuration is not valid JSON",
             setup=corrupt("config.json", "\x00\x01garbage"), group="evaluate"),
        Case("evaluate a config.json without keys", ["evaluate", "{case}/run"], message=r"config\.json: field model: Field required",
             setup=corrupt("config.json", "{}"), group="evaluate"),
        Case("evaluate --text-column without --data", ["evaluate", "{ws}/runs/tfidf-run", "--text-column", "x"],
             message=r"dataset options other than --data-dir apply to --data FILE or --dataset NAME", group="evaluate"),
        Case("evaluate --data with --dataset", ["evaluate", "{ws}/runs/tfidf-run", "--data", "{ws}/user/test.csv", "--dataset", "isear"],
             message=r"give --data FILE or --dataset NAME, not both", group="evaluate"),
        Case("evaluate on a dataset sharing no label", ["evaluate", "{ws}/runs/tfidf-run", "--dataset", "{case}/d.csv"],
             message=r"have none in common; map them with --label-map",
             setup=lambda d, ws: write(d / "d.csv", rows(30, label=lambda i: ["calm", "bored"][i % 2])), group="evaluate"),
        Case("evaluate on another dataset", ["evaluate", "{ws}/runs/tfidf-run", "--dataset", "{ws}/user/train.csv"], expect="ok",
             check=_ok_output(r"labels shared with train: sadness, joy, anger.*dropped"), group="evaluate"),
        Case("--transfer-label-map without --transfer", ["compare", "--models", "tfidf", "--transfer-label-map", "emotion-ekman",
                                                         "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--transfer-label-map needs --transfer", group="compare"),
    ]
    # -------- predict and hostile model folders
    c += [
        Case("predict with a missing run", ["predict", "{case}/nope", "hi"], message=r"nope: no such run or model directory", group="predict"),
        Case("predict with an unfinished run", ["predict", "{case}/r.partial", "hi"], message=r"r\.partial.*unfinished run",
             setup=lambda d, ws: (shutil.copytree(ws.root / "runs" / "tfidf-run", d / "r.partial")), group="predict"),
        Case("predict without texts", ["predict", "{ws}/runs/tfidf-run"], message=r"no text given", group="predict"),
        Case("predict an empty text", ["predict", "{ws}/runs/tfidf-run", ""], message=r"text 1 is empty", group="predict"),
        Case("predict rich markup [/]", ["predict", "{ws}/runs/tfidf-run", "i feel [/] so sad"], expect="ok",
             check=_ok_output(r"i feel \[/\] so.*sadness"), group="predict"),
        Case("predict rich markup [sad]", ["predict", "{ws}/runs/tfidf-run", "[sad] really"], expect="ok",
             check=_ok_output(r"\[sad\] really"), group="predict"),
        Case("predict --json", ["predict", "{ws}/runs/tfidf-run", "so sad and lonely", "--json"], expect="ok",
             check=lambda d, ws, out: None if '"label": "sadness"' in out else "wrong label", group="predict"),
        Case("predict a missing --file", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt"], message=r"t\.txt: file not found",
             group="predict"),
        Case("predict --file CSV without the column", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.csv"],
             message=r"t\.csv, line 2: missing column 'text'", setup=lambda d, ws: write(d / "t.csv", "sentence\nhello\n"), group="predict"),
        Case("predict --file CSV column", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.csv", "--text-column", "sentence",
                                           "--json"], expect="ok", setup=lambda d, ws: write(d / "t.csv", "sentence\ni am so angry and furious\n"),
             check=lambda d, ws, out: None if out.count('"label"') == 1 and '"anger"' in out else "header read as a text?",
             group="predict"),
        Case("predict a binary --file", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt"], message=r"t\.txt: the file is gzip-compressed, not text",
             setup=lambda d, ws: write(d / "t.txt", b"\x1f\x8b\x08binary"), group="predict"),
        Case("hostile tfidf.pkl", ["predict", "{case}/run", "hi"], message=r"tfidf\.pkl: this model was saved by emobench 0\.1 with pickle",
             setup=copy_run("tfidf-run", hostile_pickle("model/tfidf.pkl")), group="hostile files"),
        Case("hostile features_head.pkl", ["predict", "{case}/model", "hi"], message=r"features_head\.pkl: .*pickle",
             setup=lambda d, ws: (write(d / "model" / "emobench_model.json", json.dumps(
                 {"format": 1, "family": "transformer", "params": {"pretrained": "x", "mode": "features"}, "label_names": ["a", "b"]})),
                 hostile_pickle("features_head.pkl")(d / "model", ws)), group="hostile files"),
        Case("remote code in a model folder", ["train", "--model", "hf:{case}/model", "--data-dir", "{ws}/data", "-o", "{case}/out", "-q"],
             message=r"cannot load .*model", setup=_remote_code_model, env={"HF_HUB_OFFLINE": "1"}, group="hostile files"),
        Case("corrupt emobench_model.json", ["predict", "{case}/run", "hi"], message=r"emobench_model\.json: the model description is not valid JSON",
             setup=corrupt("model/emobench_model.json", "{oops"), group="hostile files"),
        Case("unknown model family", ["predict", "{case}/run", "hi"], message=r"emobench_model\.json: field family: unknown model family 'evil'",
             setup=corrupt("model/emobench_model.json", json.dumps({"format": 2, "family": "evil", "params": {}, "task": "single_label",
                                                                     "label_names": ["a", "b"], "temperature": 1.0})),
             group="hostile files"),
        Case("truncated tfidf weights", ["predict", "{case}/run", "hi"], message=r"tfidf\.safetensors: the weights file cannot be read .*truncated or corrupt",
             setup=copy_run("tfidf-run", lambda run, ws: write(run / "model" / "tfidf.safetensors",
                                                                (run / "model" / "tfidf.safetensors").read_bytes()[:200])),
             group="hostile files"),
        Case("truncated LSTM weights", ["predict", "{case}/run", "hi"], message=r"lstm\.safetensors: the weights file cannot be read",
             setup=copy_run("lstm-run", lambda run, ws: write(run / "model" / "lstm.safetensors",
                                                               (run / "model" / "lstm.safetensors").read_bytes()[:100])),
             group="hostile files"),
        Case("corrupt LSTM vocabulary", ["predict", "{case}/run", "hi"], message=r"vocab\.json: the LSTM vocabulary",
             setup=copy_run("lstm-run", lambda run, ws: write(run / "model" / "vocab.json", "[1, 2")), group="hostile files"),
        Case("parameters out of range in a saved model", ["predict", "{case}/run", "hi"], message=r"emobench_model\.json: field params: parameter C=-5",
             setup=copy_run("tfidf-run", lambda run, ws: write(run / "model" / "emobench_model.json", json.dumps(
                 {**json.loads((run / "model" / "emobench_model.json").read_text()),
                  "params": {**json.loads((run / "model" / "emobench_model.json").read_text())["params"], "C": -5}}))),
             group="hostile files"),
    ]
    # -------- compare and report
    c += [
        Case("--seeds 0", ["compare", "--models", "tfidf", "--seeds", "0", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--seeds 0: expected at least 1", group="compare"),
        Case("--seeds -2", ["compare", "--models", "tfidf", "--seeds", "-2", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--seeds -2", group="compare"),
        Case("--models ''", ["compare", "--models", "", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--models '': no model names", group="compare"),
        Case("--models ' , '", ["compare", "--models", " , ", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"no model names", group="compare"),
        Case("--models unknown", ["compare", "--models", "tfidf,gpt9", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"unknown model 'gpt9'", group="compare"),
        Case("--models twice", ["compare", "--models", "tfidf,tfidf", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--models names tfidf more than once", group="compare"),
        Case("--format pdf", ["compare", "--models", "tfidf", "--format", "pdf", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--format 'pdf'", group="compare"),
        Case("compare -o is a file", ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/f", "-q"],
             message=r"--output-dir .*f: is a file", setup=lambda d, ws: write(d / "f", "x"), group="compare"),
        Case("compare --name with a slash", ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/c",
                                             "--name", "../x", "-q"], message=r"--name '\.\./x'", group="compare"),
        Case("compare --set for a model not compared", ["compare", "--models", "tfidf", "--set", "lstm.epochs=1", "--data-dir",
                                                        "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"'lstm' is not among the compared models", group="compare"),
        Case("compare --set nobody has", ["compare", "--models", "tfidf", "--set", "flux=1", "--data-dir", "{ws}/data", "-o",
                                          "{case}/c", "-q"], message=r"no compared model has a parameter 'flux'", group="compare"),
        Case("compare --set for a model with a dash in its name", ["compare", "--models", "lstm-paper", "--set",
                                                                  "lstm-paper.epoch=1", "--data-dir", "{ws}/data", "-o",
                                                                  "{case}/c", "-q"],
             message=r"unknown parameter 'epoch' for LstmParams", group="compare"),
        Case("compare --set a bad value", ["compare", "--models", "tfidf", "--set", "C=-1", "--data-dir", "{ws}/data", "-o",
                                           "{case}/c", "-q"], message=r"parameter C=-1\.0", group="compare"),
        Case("compare again with another configuration", ["compare", "--models", "tfidf", "--set", "C=0.9", "--data-dir", "{ws}/data",
                                                          "-o", "{ws}/cmp", "--name", "study", "-q"],
             message=r"tfidf-s0 was trained with another configuration .*params\.C: 0\.2 then, 0\.9 now", group="compare"),
        Case("compare again with another preset", ["compare", "--models", "lstm", "--preset", "paper", "--data-dir", "{ws}/data",
                                                   "-o", "{ws}/cmp", "--name", "study", "--set", "lstm.epochs=1", "--set",
                                                   "lstm.hidden_size=4", "--set", "lstm.glove=none", "-q"],
             message=r"lstm-s0 was trained with another configuration .*params\.architecture: 'pooled' then, 'paper' now",
             group="compare"),
        Case("compare again on changed data", ["compare", "--models", "tfidf", "--data-dir", "{case}/data", "-o", "{ws}/cmp",
                                               "--name", "study", "-q"],
             message=r"tfidf-s0 was trained with another configuration or data .*train\.txt: sha256",
             setup=lambda d, ws: (shutil.copytree(ws.data, d / "data"), write(d / "data" / "emotion" / "train.txt",
                                  (d / "data" / "emotion" / "train.txt").read_text() + "one more line;joy\n")),
             group="compare"),
        Case("compare the same run twice", ["compare", "{ws}/runs/tfidf-run", "{ws}/runs/tfidf-run", "-o", "{case}/c"],
             message=r"tfidf-run is given more than once", group="compare"),
        Case("compare runs on different data", ["compare", "{ws}/runs/tfidf-run", "{ws}/runs/user-run", "-o", "{case}/c"],
             message=r"the runs were evaluated on different data", group="compare"),
        Case("compare runs with --models", ["compare", "{ws}/runs/tfidf-run", "--models", "lstm", "-o", "{case}/c"],
             message=r"--models cannot be combined with run directories", group="compare"),
        Case("compare a missing run", ["compare", "{case}/nope", "-o", "{case}/c"], message=r"nope: no such run directory",
             group="compare"),
        Case("report a folder that is no comparison", ["report", "{case}"], message=r"not a comparison directory", group="compare"),
        Case("report with corrupt results.json", ["report", "{case}"], message=r"results\.json: the comparison results is not valid JSON",
             setup=lambda d, ws: write(d / "results.json", "{"), group="compare"),
        Case("compare a folder that is not a comparison", ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{ws}",
                                                           "--name", "runs", "-q"], message=r"runs exists and is not a comparison",
             group="compare"),
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
             check=_ok_output(r"(?=.*\[bold\]x)(?=.*\[/\])(?=.*<b>)"), group="audit"),
    ]
    from bad_inputs_surface import cases as surface_cases

    return c + surface_cases()


def _remote_code_model(case_dir: Path, ws) -> None:
    """A model folder whose config asks to run its own Python code (which would create the marker)."""
    folder = case_dir / "model"
    write(folder / "config.json", json.dumps({"model_type": "evil", "auto_map": {
        "AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel", "AutoTokenizer": ["evil.Tok", None]}}))
    write(folder / "tokenizer_config.json", json.dumps({"auto_map": {"AutoTokenizer": ["evil.Tok", None]}}))
    write(folder / "evil.py", f"open({str(ws.marker)!r}, 'w').write('ran')\n")


# ---------------------------------------------------------------- running and classifying


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _substitute(values, ws: Workspace, case_dir: Path):
    return [str(v).replace("{ws}", str(ws.root)).replace("{case}", str(case_dir)) for v in values]


def refusal(message: str, code: int, output: str, case_dir: Path, before: dict, wrong: str = "wrong result",
            said=lambda output: output[-400:]) -> tuple[str, str]:
    """The outcome of a case that must be refused: exit 2 with a message matching ``message``, nothing changed."""
    if code == 0:
        return wrong, "exit 0 where an error was due: " + said(output)[-300:]
    if message and not re.search(message, output, re.S):
        return "unclear error", f"message does not match {message!r}: {said(output)}"
    after = _digest(case_dir)
    if after != before:
        new = sorted(set(after) - set(before)) or sorted(k for k in after if after[k] != before.get(k))
        return "half-written", f"left behind or changed: {new[:3]}"
    return "clear error", ""


def classify(case: Case, code: int, output: str, ws: Workspace, case_dir: Path, before: dict, protected_before: dict) -> tuple[str, str]:
    if ws.marker.exists():
        ws.marker.unlink()
        return "code execution", "a hostile file ran code"
    for name, digest in protected_before.items():
        if _digest(ws.root / name) != digest:
            return "lost run", f"{name} was changed or removed"
    if "Traceback" in output or code not in (0, 2):
        return "traceback", output[-3000:]
    if case.expect == "error":
        return refusal(case.message, code, output, case_dir, before)
    if code != 0:
        return "wrong result", f"exit {code} where it should work: {output[-400:]}"
    problem = case.check(case_dir, ws, output) if case.check else None
    return ("wrong result", problem) if problem else ("correct", "")


def run_cases(ws: Workspace, invoke, selected: list[Case] | None = None, log=print, service=None) -> list[dict]:
    """Every case, classified. ``service``: what HTTP cases are sent to (``send(requests) -> [(status, text)]``,
    ``healthy() -> bool``); without it they are left out."""
    from bad_inputs_surface import outcome_http

    results = []
    env_before = dict(os.environ)
    chosen = [case for case in (selected or cases()) if case.kind != "http" or service is not None]
    for i, case in enumerate(chosen):
        case_dir = ws.root / "cases" / f"{i:03d}"
        case_dir.mkdir(parents=True)
        if case.setup:
            case.setup(case_dir, ws)
        protected = {name: _digest(ws.root / name) for name in PROTECTED if (ws.root / name).exists()
                     and not (case.expect == "ok" and name.startswith("cmp"))}
        before = _digest(case_dir)
        started = time.perf_counter()
        if case.kind == "http":
            requests = case.args.get("requests") or [case.args["request"]]
            try:
                responses = service.send(requests)
                outcome, detail = outcome_http(case, responses, service.healthy(), ws, case_dir)
            except Exception as exc:  # noqa: BLE001 - a service that cannot answer is the finding
                code, outcome, detail = None, "crash", f"{type(exc).__name__}: {exc}"
            code = None
        else:
            if case.kind == "process":
                code, output = case.args(ws, case_dir)
            else:
                code, output = invoke(_substitute(case.args, ws, case_dir), case.env)
            outcome, detail = classify(case, code, output, ws, case_dir, before, protected)
        results.append({"case": case.name, "group": case.group, "expected": case.expect, "exit_code": code,
                        "outcome": outcome, "detail": detail, "seconds": round(time.perf_counter() - started, 2)})
        log(f"[{i + 1:3d}] {outcome:13s} {case.name}" + (f"  -- {detail}" if detail else ""))
        os.environ.clear()
        os.environ.update(env_before)
    return results


def subprocess_invoker(base_env: dict):
    def invoke(args, env=None):
        merged = {**base_env, **(env or {})}
        merged = {k: v for k, v in merged.items() if v != ""}
        done = subprocess.run([sys.executable, "-m", "emobench.cli", *args], capture_output=True, text=True, env=merged,
                              timeout=600)
        return done.returncode, done.stdout + done.stderr
    return invoke


def summary(results: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    return counts


FAILURES = ("traceback", "wrong result", "code execution", "lost run", "half-written", "unclear error", "crash")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the workspace folder")
    parser.add_argument("--group", default=None,
                        help="only the cases of these groups (comma-separated); a partial run writes no result file")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from common import print_table, write_results

    root = Path(tempfile.mkdtemp(prefix="emobench-bad-inputs-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    invoke = subprocess_invoker(env)
    ws = build_workspace(root, lambda a: invoke(a))
    from bad_inputs_surface import ProcessService

    service = ProcessService(ws, env)
    started = time.perf_counter()
    try:
        selected = None
        if args.group:
            wanted = set(args.group.split(","))
            selected = [c for c in cases() if c.group in wanted]
            if not selected:
                sys.exit(f"--group {args.group}: no such group (groups: {', '.join(sorted({c.group for c in cases()}))})")
        results = run_cases(ws, invoke, selected=selected, service=service)
    finally:
        service.close()
    seconds = time.perf_counter() - started
    counts = summary(results)
    groups = sorted({r["group"] for r in results})
    rows = [{"group": g, "cases": sum(r["group"] == g for r in results),
             **{o: sum(r["group"] == g and r["outcome"] == o for r in results)
                for o in ("clear error", "correct", *FAILURES)}} for g in groups]
    rows.append({"group": "all", "cases": len(results), **{o: counts.get(o, 0) for o in ("clear error", "correct", *FAILURES)}})
    print_table(f"{len(results)} bad inputs through the CLI, the HTTP service and several processes ({seconds:.0f} s)", rows,
                ["group", "cases", "clear error", "correct", *FAILURES])
    if not args.group:
        print("results:", write_results("bad_inputs", results, counts=counts, seconds=seconds))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if any(counts.get(o) for o in FAILURES) else 0)


if __name__ == "__main__":
    main()
