"""Tampered folders: run, model, export, comparison and tuning folders edited, swapped or truncated as users do,
driven through the command line and the Python API (Predictor, the service), each outcome classified.

    .venv/bin/python benchmarks/tampered.py        # every case, in-process, an audit hook watching every open()

Every case works on a copy of a folder emobench wrote (tfidf, lstm, lstm-paper and a tiny BERT runs, a
multi-label run, fp32 and int8 exports, a comparison, a tuning folder), in one of three modes: the folder as
saved (its manifest catches the edit), with ``--allow-modified`` / ``allow_modified=True`` (past the
manifest, the file's own validation must catch it), or as emobench 0.2 saved it (no manifest at all).

Outcomes: "clear error" (exit 2 or a RecordError/EmobenchError whose message names the file and the field,
nothing written), "correct" (a harmless edit, or one allowed loudly, giving the right answer), and the
failures: "traceback", "silent wrong" (an answer where a refusal was due, or a wrong answer), "opened outside"
(a file outside the folder was opened: decoys lie in ``outside/``), "unclear error" (a refusal that does not
name the file and the field), "half-written" (an error that left files behind or changed the folder).
The audit hook sees the opens Python makes; libraries with native readers (safetensors, tokenizers, ONNX
Runtime) are handed only paths that were checked first, and the decoys would change the answer if read.
The CI runs a part of the table (tests/test_tampered.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_inputs import _digest, refusal, summary  # noqa: E402  (one classification for both tables)
WORDS = {"sadness": ["sad", "lonely", "miserable", "heartbroken"], "joy": ["happy", "glad", "cheerful", "delighted"],
         "anger": ["angry", "furious", "irritated", "annoyed"]}
FAILURES = ("traceback", "silent wrong", "opened outside", "unclear error", "half-written")
TEXT = "i feel so happy and glad today"


def _examples(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    labels = list(WORDS)
    return [(f"i feel {rng.choice(WORDS[labels[i % 3]])} today {rng.choice(['', 'really', 'lol'])}".strip(), labels[i % 3])
            for i in range(n)]


# ---------------------------------------------------------------- the workspace


@dataclass
class Workspace:
    root: Path

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def p(self, *parts) -> str:
        return str(self.root.joinpath(*parts))


def build_workspace(root: Path, invoke) -> Workspace:
    """Tiny data; runs of every family; exports (fp32, int8); a comparison; a tuning folder; decoys outside."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_models import build_bert

    ws = Workspace(root)
    data = root / "data" / "emotion"
    data.mkdir(parents=True)
    for name, n, seed in (("train.txt", 120, 1), ("val.txt", 36, 2), ("test.txt", 36, 3)):
        (data / name).write_text("".join(f"{t};{l}\n" for t, l in _examples(n, seed)))
    multi = root / "multi"
    multi.mkdir()
    rng = random.Random(0)
    for split, n in (("train", 90), ("validation", 30), ("test", 30)):
        rows = []
        for i in range(n):
            labels = sorted({list(WORDS)[i % 3], list(WORDS)[rng.randrange(3)]})
            rows.append(json.dumps({"text": "i am " + " and ".join(rng.choice(WORDS[l]) for l in labels), "label": labels}))
        (multi / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    bert = build_bert([t for t, _ in _examples(300, 9)], root / "tiny-bert")
    common = ["--data-dir", ws.p("data"), "-o", ws.p("runs"), "-q"]
    tiny = ["--set", "glove=none", "--set", "hidden_size=8"]
    steps = [
        ["train", "--model", "tfidf", "--name", "tfidf", *common],
        ["train", "--model", "lstm", "--name", "lstm", "--set", "epochs=3", "--set", "learning_rate=0.01", *tiny, *common],
        ["train", "--model", "lstm-paper", "--name", "paper", "--set", "epochs=2", "--set", "max_vocab=12", *tiny, *common],
        ["train", "--model", f"hf:{bert}", "--name", "bert", "--set", "epochs=2", "--set", "batch_size=16", "--set",
         "learning_rate=0.003", *common],
        ["train", "--model", "setfit", "--name", "setfit", "--set", f"body={bert}", "--set", "max_steps=10", *common],
        ["train", "--model", "static", "--name", "static", "--set", f"body={bert}", *common],
        ["train", "--model", "majority", "--name", "majority", *common],
        ["train", "--model", "tfidf", "--name", "multi", "--train-file", str(multi / "train.jsonl"), "--validation-file",
         str(multi / "validation.jsonl"), "--test-file", str(multi / "test.jsonl"), "-o", ws.p("runs"), "-q"],
        ["export", ws.p("runs", "lstm"), "--quantize", "int8", "-o", ws.p("exports", "lstm")],
        ["export", ws.p("runs", "paper"), "-o", ws.p("exports", "paper")],
        ["export", ws.p("runs", "bert"), "--quantize", "int8", "-o", ws.p("exports", "bert")],
        ["compare", "--models", "tfidf,lstm", "--set", "lstm.epochs=1", "--set", "lstm.glove=none", "--set",
         "lstm.hidden_size=4", "--data-dir", ws.p("data"), "-o", ws.p("cmp"), "--name", "study", "-q"],
        ["tune", "--model", "tfidf", "--trials", "3", "--data-dir", ws.p("data"), "-o", ws.p("tuning"), "--name", "t", "-q"],
    ]
    for args in steps:
        code, output = invoke(args)
        if code != 0:
            raise RuntimeError(f"workspace step failed: {args}\n{output}")
    ws.outside.mkdir()
    for name in ("vocab.json", "emobench_model.json"):
        shutil.copy(root / "exports" / "lstm" / name, ws.outside / name)
    shutil.copy(root / "exports" / "bert" / "tokenizer.json", ws.outside / "tokenizer.json")
    shutil.copy(root / "exports" / "bert" / "model.onnx", ws.outside / "model.onnx")
    (ws.outside / "secret.json").write_text('{"words": ["<pad>", "<unk>", "secret"], "length": 3}')
    return ws


# ---------------------------------------------------------------- edits


def json_edit(name: str, change: Callable[[dict], object]):
    """Load a JSON file of the copied folder and change it in place."""
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return edit


def raw(name: str, content):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return edit


def truncate(name: str, keep: float = 0.5):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return edit


def symlink_out(name: str, target: str):
    def edit(folder: Path, ws: Workspace) -> None:
        (folder / name).unlink()
        (folder / name).symlink_to(ws.outside / target)
    return edit


def copy_from(source: str, name: str, target: str | None = None):
    def edit(folder: Path, ws: Workspace) -> None:
        shutil.copy(ws.root / source / name, folder / (target or name))
    return edit


def both(*edits):
    def edit(folder: Path, ws: Workspace) -> None:
        for e in edits:
            e(folder, ws)
    return edit


def deep(name: str):
    return raw(name, "[" * 10_000 + "]" * 10_000)


def _tensor_edit(name: str, key: str, change):
    """A tensor of a safetensors file changed (``change`` None: removed), the file's metadata kept."""
    def edit(folder: Path, ws: Workspace) -> None:
        from safetensors import safe_open
        from safetensors.numpy import save_file

        path = folder / name
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata()
            arrays = {k: handle.get_tensor(k) for k in handle.keys()}
        if change is None:
            arrays.pop(key)
        else:
            arrays[key] = np.ascontiguousarray(change(arrays[key]))
        save_file(arrays, str(path), metadata=metadata)
    return edit


def labels(change):
    return json_edit("emobench_model.json", lambda d: d.__setitem__("label_names", change(d["label_names"])))


def in_model(edit):
    """An edit of a run's model folder."""
    return lambda folder, ws: edit(folder / "model", ws)


def field_of(name: str, key: str, value):
    return json_edit(name, lambda d: d.__setitem__(key, value))


def onnx_prep(key: str, value):
    return json_edit("emobench_model.json", lambda d: d["onnx"]["preprocess"].__setitem__(key, value))


def predictions_rows(split: str, change):
    def edit(folder: Path, ws: Workspace) -> None:
        path = folder / "predictions" / f"{split}.csv"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join([lines[0], *change(lines[1:])]))
    return edit


def _swap_rows(rows: list[str]) -> list[str]:
    """Two rows exchanged, the index column renumbered so each file looks consistent on its own."""
    rows = list(rows)
    rows[0], rows[1] = rows[1], rows[0]
    return [re.sub(r"^\d+,", f"{i},", row) for i, row in enumerate(rows)]


def _flip_prediction(rows: list[str]) -> list[str]:
    first = rows[0].split(",")
    labels = ["sadness", "joy", "anger"]
    first[3] = labels[(labels.index(first[3]) + 1) % 3]
    return [",".join(first), *rows[1:]]


def inject_trial(params: dict, value: float):
    """A trial written into study.db by something other than emobench (Optuna's own API)."""
    def edit(folder: Path, ws: Workspace) -> None:
        import optuna

        study = optuna.load_study(study_name="emobench", storage=f"sqlite:///{folder / 'study.db'}")
        distributions = dict(study.trials[0].distributions)
        if not distributions["C"]._contains(distributions["C"].to_internal_repr(params["C"])):
            distributions["C"] = optuna.distributions.FloatDistribution(1e-3, 1e3, log=True)  # a C outside the space
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
    return edit


def swap_run(folder: Path, ws: Workspace) -> None:
    """A comparison's first run replaced by another finished run (named by its absolute folder)."""
    json_edit("results.json", lambda d: d["runs"][0].__setitem__("run", str((ws.root / "runs" / "lstm").resolve())))(folder, ws)


def empty_study(folder: Path, ws: Workspace) -> None:
    with sqlite3.connect(folder / "study.db") as db:
        db.execute("DELETE FROM trial_values")
        db.execute("DELETE FROM trial_params")
        db.execute("DELETE FROM trials")


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    group: str  # run, model, export, comparison, tuning
    source: str  # the folder copied, relative to the workspace
    edit: Callable | None
    via: str  # "cli", "api" or "service"
    args: list = field(default_factory=list)  # CLI arguments ("{f}": the copied folder, "{ws}": the workspace)
    call: Callable | None = None  # api/service: call(folder, allow_modified) -> result
    expect: str = "error"  # "error" or "ok"
    message: str = ""  # a refusal's message must match (names the file and the field)
    mode: str = "allow"  # "manifest" (as saved), "allow" (--allow-modified), "legacy" (no manifests)
    check: Callable | None = None  # ok cases: check(output or result) -> problem or None


def predictor(folder: Path, allow: bool):
    from emobench.serving import Predictor

    return Predictor(folder, allow_modified=allow).predict([TEXT, "i am so furious and angry"])


def service(folder: Path, allow: bool):
    from fastapi.testclient import TestClient

    from emobench.serving.service import create_app

    with TestClient(create_app(folder, allow_modified=allow)) as client:
        return client.post("/predict", json={"texts": [TEXT]}).json(), client.get("/model").json()


def compare_with(other: str):
    def call(folder: Path, allow: bool):
        from emobench.experiments.study import compare_runs

        ws_root = folder.parents[2]
        return compare_runs([ws_root / other, folder], folder.parent / "out", allow_modified=allow)
    return call


def continue_tuning(folder: Path, allow: bool):
    from emobench.data import DatasetConfig
    from emobench.experiments.tune import TuneConfig, tune

    ws_root = folder.parents[2]
    return tune(TuneConfig(model="tfidf", trials=4, dataset=DatasetConfig(name="emotion", data_dir=str(ws_root / "data")),
                           output_dir=str(folder.parent), name=folder.name), progress=False, allow_modified=allow)


def _labels_are(expected: list[str]):
    def check(result) -> str | None:
        predictions = result if isinstance(result, list) else None
        if predictions is None:
            return "no predictions"
        got = [p["label"] for p in predictions]
        return None if got == expected else f"labels {got}, expected {expected}"
    return check


def cases() -> list[Case]:
    c: list[Case] = []
    model_runs = {"tfidf": "runs/tfidf", "lstm": "runs/lstm", "lstm-paper": "runs/paper", "bert": "runs/bert",
                  "setfit": "runs/setfit", "static": "runs/static", "majority": "runs/majority"}
    mj = "emobench_model.json"
    # -------- model folders of every family, through `predict` and the Predictor
    for family, source in model_runs.items():

        c += [
            Case(f"{family}: label names permuted (manifest)", "model", source, in_model(labels(lambda n: n[::-1])), "cli",
                 ["predict", "{f}", TEXT], mode="manifest", message=r"emobench_model\.json: .*(sha256 differs|bytes, but)"),
            Case(f"{family}: label names permuted", "model", source, in_model(labels(lambda n: n[::-1])), "api", call=predictor,
                 message=r"emobench_model\.json: field label_names: .*differ from the (labels the weights|outputs of the saved)"),
            Case(f"{family}: label names a string", "model", source, in_model(labels(lambda n: "joy")), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: Input should be a valid list"),
            Case(f"{family}: label names numbers", "model", source, in_model(labels(lambda n: list(range(len(n))))), "api",
                 call=predictor, message=r"emobench_model\.json: field label_names\[0\]: Input should be a valid string"),
            Case(f"{family}: one label name too many", "model", source, in_model(labels(lambda n: [*n, "pride"])), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: .*(outputs|differ)"),
            Case(f"{family}: temperature 1e-320", "model", source, in_model(field_of(mj, "temperature", 1e-320)), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field temperature"),
        ]
    c += [
        Case("tfidf: temperature Infinity", "model", "runs/tfidf", in_model(field_of(mj, "temperature", float("inf"))),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: the model description is not valid JSON \(Infinity"),
        Case("tfidf: temperature negative (no manifest)", "model", "runs/tfidf",
             in_model(field_of(mj, "temperature", -2.0)), "api", call=predictor, mode="legacy",
             message=r"emobench_model\.json: field temperature"),
        Case("tfidf: temperature as text", "model", "runs/tfidf", in_model(field_of(mj, "temperature", "1.0")),
             "api", call=predictor, message=r"emobench_model\.json: field temperature: Input should be a valid number"),
        Case("tfidf: duplicate label name", "model", "runs/tfidf", in_model(labels(lambda n: [n[0], *n[:-1]])),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: .*appears twice"),
        Case("tfidf: empty label name", "model", "runs/tfidf", in_model(labels(lambda n: ["", *n[1:]])),
             "api", call=predictor, message=r"emobench_model\.json: field label_names\[0\]"),
        Case("tfidf: task says multi-label", "model", "runs/tfidf", in_model(field_of(mj, "task", "multi_label")),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field .*decision|thresholds"),
        Case("tfidf: unknown family", "model", "runs/tfidf", in_model(field_of(mj, "family", "evil")), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field family: unknown model family 'evil'"),
        Case("tfidf: parameter out of range", "model", "runs/tfidf",
             in_model(json_edit(mj, lambda d: d["params"].__setitem__("C", -1.0))), "api", call=predictor,
             message=r"emobench_model\.json: field params: parameter C=-1\.0"),
        Case("tfidf: an unknown key", "model", "runs/tfidf", in_model(field_of(mj, "labels", ["a"])), "api",
             call=predictor, message=r"emobench_model\.json: field labels: Extra inputs are not permitted"),
        Case("tfidf: JSON nested 10,000 deep", "model", "runs/tfidf", in_model(deep(mj)), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: the model description is JSON nested too deeply"),
        Case("tfidf: vocabulary terms dropped", "model", "runs/tfidf",
             in_model(json_edit("tfidf_vocabulary.json", lambda d: d["vocabularies"]["word"].pop())), "api",
             call=predictor, message=r"tfidf_vocabulary\.json: field vocabularies\.word: .* terms, but the weights hold"),
        Case("tfidf: vocabulary kind unknown", "model", "runs/tfidf",
             in_model(field_of("tfidf_vocabulary.json", "kind", "forest")), "cli", ["predict", "{f}", TEXT],
             message=r"tfidf_vocabulary\.json: field kind"),
        Case("tfidf: weights truncated (manifest)", "model", "runs/tfidf", in_model(truncate("tfidf.safetensors")),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"tfidf\.safetensors: .*bytes, but .* when the model was saved"),
        Case("tfidf: weights truncated", "model", "runs/tfidf", in_model(truncate("tfidf.safetensors")),
             "api", call=predictor, message=r"tfidf\.safetensors: the weights file cannot be read"),
        Case("tfidf: a pickle added", "model", "runs/tfidf", lambda f, ws: raw("model/tfidf.pkl", b"\x80\x04\x95")(f, ws), "cli",
             ["predict", "{f}", TEXT], mode="manifest", message=r"tfidf\.pkl: not written by emobench"),
        Case("tfidf: the model folder swapped for another run's", "run", "runs/tfidf",
             lambda f, ws: (shutil.rmtree(f / "model"), shutil.copytree(ws.root / "runs" / "multi" / "model", f / "model")),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"model/MANIFEST\.json: its sha256 differs"),
        Case("tfidf: an edit that changes nothing, allowed", "model", "runs/tfidf",
             in_model(json_edit(mj, lambda d: None)), "api", call=predictor, expect="ok",
             check=_labels_are(["joy", "anger"])),
        Case("multi-label: thresholds removed", "model", "runs/multi",
             in_model(json_edit(mj, lambda d: d["decision"].__setitem__("thresholds", d["decision"]["thresholds"][:1]))),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field decision\.thresholds: 1 thresholds for 3 labels"),
        Case("multi-label: a threshold above 1", "model", "runs/multi",
             in_model(json_edit(mj, lambda d: d["decision"]["thresholds"].__setitem__(0, 1.5))), "api",
             call=predictor, message=r"emobench_model\.json: field decision\.thresholds\[0\]: Input should be less than or equal to 1"),
        Case("multi-label: no decision rule", "model", "runs/multi", in_model(field_of(mj, "decision", {})),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field .*a multi-label model needs its thresholds"),
        Case("lstm: vocabulary words a string", "model", "runs/lstm",
             in_model(field_of("vocab.json", "words", "happy sad")), "cli", ["predict", "{f}", TEXT],
             message=r"vocab\.json: field words: Input should be a valid list"),
        Case("lstm: vocabulary one word short", "model", "runs/lstm",
             in_model(json_edit("vocab.json", lambda d: d["words"].pop())), "api", call=predictor,
             message=r"vocab\.json: field words: .* words, but the weights embed"),
        Case("lstm: vocabulary with a word twice", "model", "runs/lstm",
             in_model(json_edit("vocab.json", lambda d: d["words"].append(d["words"][2]))), "api",
             call=predictor, message=r"vocab\.json: field .*appears twice"),
        Case("lstm: vocabulary length negative", "model", "runs/lstm", in_model(field_of("vocab.json", "length", -3)),
             "cli", ["predict", "{f}", TEXT], message=r"vocab\.json: field length: Input should be greater than or equal to 1"),
        Case("lstm: vocabulary a symlink outside", "model", "runs/lstm", in_model(symlink_out("vocab.json", "secret.json")),
             "api", call=predictor, message=r"vocab\.json: .*symlink"),
        Case("lstm-paper: weights of another shape", "model", "runs/paper",
             in_model(copy_from("runs/lstm/model", "lstm.safetensors")), "cli", ["predict", "{f}", TEXT],
             message=r"lstm\.safetensors: .*(vocabulary|shape|tensors)"),
        Case("bert: config.json id2label permuted", "model", "runs/bert",
             lambda f, ws: json_edit("config.json", lambda d: d.__setitem__("id2label", dict(zip(sorted(d["id2label"]),
                                                                                                reversed(list(d["id2label"].values()))))))(f / "model", ws),
             "api", call=predictor, message=r"emobench_model\.json: field label_names: .*config\.json id2label"),
        Case("bert: problem_type contradicts the task", "model", "runs/bert",
             in_model(field_of("config.json", "problem_type", "multi_label_classification")), "cli",
             ["predict", "{f}", TEXT], message=r"config\.json: field problem_type"),
        Case("bert: tokenizer.json is {}", "model", "runs/bert", in_model(raw("tokenizer.json", "{}")), "api",
             call=predictor, message=r"tokenizer\.json: field model: expected a tokenizers tokenizer"),
        Case("bert: tokenizer.json not JSON", "model", "runs/bert", in_model(raw("tokenizer.json", "{oops")),
             "cli", ["predict", "{f}", TEXT], message=r"tokenizer\.json: the tokenizer is not valid JSON"),
        Case("bert: tokenizer_config.json nested 10,000 deep", "model", "runs/bert",
             in_model(deep("tokenizer_config.json")), "api", call=predictor,
             message=r"(tokenizer_config\.json|transformers cannot load)"),
        Case("static: token mapping out of bounds", "model", "runs/static",
             in_model(_tensor_edit("static.safetensors", "token_mapping", lambda a: a + 100_000)), "api", call=predictor,
             message=r"static\.safetensors: the token mapping points outside"),
        Case("static: classes that are not labels", "model", "runs/static",
             in_model(json_edit(mj, lambda d: d["info"].__setitem__("classes", ["pride", "shame", "awe"]))), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field info\.classes"),
        Case("static: tokenizer.json is {}", "model", "runs/static", in_model(raw("tokenizer.json", "{}")), "api",
             call=predictor, message=r"tokenizer\.json: field model: expected a tokenizers tokenizer"),
        Case("static: embeddings of NaN", "model", "runs/static",
             in_model(_tensor_edit("static.safetensors", "embeddings.weight", lambda a: a * float("nan"))), "cli",
             ["predict", "{f}", TEXT], message=r"static\.safetensors: .*non-finite"),
        Case("setfit: a modules.json added", "model", "runs/setfit",
             lambda f, ws: raw("model/modules.json", '[{"type": "evil.Module", "path": ""}]')(f, ws), "api", call=predictor,
             mode="manifest", message=r"modules\.json: not written by emobench"),
        Case("setfit: head of another shape", "model", "runs/setfit",
             in_model(_tensor_edit("features_head.safetensors", "coef", lambda a: a[:, :5])), "cli", ["predict", "{f}", TEXT],
             message=r"(features_head\.safetensors|cannot be loaded)"),
        Case("majority: label shares above 1", "model", "runs/majority",
             in_model(_tensor_edit("baseline.safetensors", "shares", lambda a: a + 2)), "api", call=predictor,
             message=r"baseline\.safetensors: label shares .* are not shares"),
        Case("majority: a tensor missing", "model", "runs/majority",
             in_model(_tensor_edit("baseline.safetensors", "seed", None)), "cli", ["predict", "{f}", TEXT],
             message=r"baseline\.safetensors: expected the tensors shares"),
        Case("bert: a file added to the model folder", "model", "runs/bert",
             lambda f, ws: raw("model/added_tokens.json", '{"hello": 5}')(f, ws), "api", call=predictor, mode="manifest",
             message=r"added_tokens\.json: not written by emobench"),
    ]
    # -------- run folders: evaluate, compare, the service's model card
    c += [
        Case("run: metrics.json accuracy edited (manifest)", "run", "runs/tfidf",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.5)), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], mode="manifest",
             message=r"metrics\.json: .*(sha256 differs|bytes, but)"),
        Case("run: metrics.json accuracy edited", "run", "runs/lstm",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.99)), "api",
             call=compare_with("runs/tfidf"), message=r"metrics\.json: field splits\.test\.accuracy: 0\.99 recorded, but the predictions"),
        Case("run: metrics.json macro-F1 edited (no manifest)", "run", "runs/lstm",
             json_edit("metrics.json", lambda d: d["splits"]["test"]["macro"].__setitem__("f1", 0.99)), "cli",
             ["compare", "{ws}/runs/tfidf", "{f}", "-o", "{f}/..", "--name", "out"], mode="legacy",
             message=r"metrics\.json: field splits\.test\.macro\.f1: 0\.99 recorded"),
        Case("run: test predictions with rows missing", "run", "runs/tfidf", predictions_rows("test", lambda r: r[:-3]), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"],
             message=r"test\.csv: field rows: .* rows, but the test split has"),
        Case("run: test predictions reordered", "run", "runs/tfidf", predictions_rows("test", _swap_rows), "api",
             call=compare_with("runs/lstm"), message=r"test\.csv: field text, label: the texts and labels are not the test split's"),
        Case("run: test predictions reordered, no digests (emobench 0.2)", "run", "runs/tfidf",
             both(predictions_rows("test", _swap_rows), json_edit("data.json", lambda d: d.pop("split_digests"))), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], mode="legacy",
             message=r"not the same texts with the same labels in the same order"),
        Case("run: a prediction changed", "run", "runs/tfidf", predictions_rows("test", _flip_prediction), "api",
             call=compare_with("runs/lstm"), message=r"test\.csv, row 0: the prediction is not the most probable label"),
        Case("run: index column broken", "run", "runs/tfidf",
             predictions_rows("test", lambda r: [re.sub(r"^0,", "7,", r[0]), *r[1:]]), "cli",
             ["compare", "{f}", "{ws}/runs/lstm", "-o", "{f}/..", "--name", "out"], message=r"test\.csv, line 2: index '7', expected 0"),
        Case("run: data.json labels renamed", "run", "runs/tfidf",
             json_edit("data.json", lambda d: d.__setitem__("labels", ["a", "b", "c"])), "cli", ["evaluate", "{f}"],
             message=r"metrics\.json: field splits\.validation\.per_class: labels .* but data\.json says"),
        Case("run: config.json seed a string", "run", "runs/tfidf", field_of("config.json", "seed", "0"), "cli", ["evaluate", "{f}"],
             message=r"config\.json: field seed: Input should be a valid integer"),
        Case("run: history.json epoch 0", "run", "runs/lstm", json_edit("history.json", lambda d: d[0].__setitem__("epoch", 0)),
             "cli", ["evaluate", "{f}"], message=r"history\.json: field \[0\]\.epoch"),
        Case("run: environment.json removed (no manifest)", "run", "runs/tfidf", lambda f, ws: (f / "environment.json").unlink(),
             "cli", ["evaluate", "{f}"], mode="legacy", message=r"environment\.json: the run environment is missing"),
        Case("run: environment.json removed (manifest)", "run", "runs/tfidf", lambda f, ws: (f / "environment.json").unlink(),
             "cli", ["evaluate", "{f}"], mode="manifest", message=r"environment\.json: listed in .*MANIFEST\.json but missing"),
        Case("run: metrics.json nested 10,000 deep", "run", "runs/tfidf", deep("metrics.json"), "cli", ["evaluate", "{f}"],
             message=r"metrics\.json: the run metrics is JSON nested too deeply"),
        Case("run: metrics edited, seen by the service", "run", "runs/tfidf",
             json_edit("metrics.json", lambda d: d["splits"]["test"].__setitem__("accuracy", 0.123)), "service", call=service,
             message=r"metrics\.json: field splits\.test\.accuracy: 0\.123 recorded"),
        Case("run: a report-like file added, allowed", "run", "runs/tfidf", raw("notes.txt", "my notes"), "cli",
             ["evaluate", "{f}"], mode="manifest", expect="ok", check=lambda out: None if "macro avg" in out else "no report"),
    ]
    # -------- exports (fp32 and int8), through predict, the Predictor and the service
    ex = "exports/lstm"
    c += [
        Case("export: label names permuted (manifest)", "export", ex, labels(lambda n: n[::-1]), "cli", ["predict", "{f}", TEXT],
             mode="manifest", message=r"emobench_model\.json: .*(sha256 differs|bytes, but)"),
        Case("export: label names permuted", "export", ex, labels(lambda n: n[::-1]), "api", call=predictor,
             message=r"emobench_model\.json: field label_names: .* differ from the labels model\.int8\.onnx was exported with"),
        Case("export: one label name too many", "export", ex, labels(lambda n: [*n, "pride"]), "cli", ["predict", "{f}", TEXT],
             message=r"emobench_model\.json: field label_names: 7 label names, but the model computes 6 outputs"),
        Case("export: label names numbers", "export", "exports/bert", labels(lambda n: [1, 2, 3]), "service", call=service,
             message=r"emobench_model\.json: field label_names\[0\]: Input should be a valid string"),
        Case("export: temperature Infinity", "export", ex, field_of(mj, "temperature", float("inf")), "api", call=predictor,
             message=r"emobench_model\.json: the model description is not valid JSON \(Infinity"),
        Case("export: temperature 1e-320", "export", "exports/bert", field_of(mj, "temperature", 1e-320), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field temperature"),
        Case("export: model.onnx from another export (manifest)", "export", "exports/paper", copy_from("exports/lstm", "model.onnx"),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"model\.onnx: .*(sha256 differs|bytes, but)"),
        Case("export: model.onnx from another export", "export", "exports/paper", copy_from("exports/lstm", "model.onnx"), "api",
             call=predictor, message=r"model\.onnx: not a graph of this export"),
        Case("export: int8 graph from the BERT export", "export", ex, copy_from("exports/bert", "model.int8.onnx"), "cli",
             ["predict", "{f}", TEXT], message=r"field onnx\.inputs: the graph model\.int8\.onnx needs|not the vocabulary"),
        Case("export: vocabulary words a string", "export", ex, field_of("vocab.json", "words", "happy"), "api", call=predictor,
             message=r"vocab\.json: (field words: Input should be a valid list|not the vocabulary)"),
        Case("export: vocabulary from another run", "export", "exports/paper", copy_from("exports/lstm", "vocab.json"), "cli",
             ["predict", "{f}", TEXT], message=r"vocab\.json: not the vocabulary model\.onnx was exported with"),
        Case("export: vocabulary an absolute path", "export", ex, onnx_prep("vocabulary", "/etc/passwd"), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.vocabulary: .*plain file name"),
        Case("export: vocabulary ../outside", "export", ex, onnx_prep("vocabulary", "../../outside/secret.json"), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.vocabulary: .*plain file name"),
        Case("export: vocabulary a symlink outside", "export", ex, symlink_out("vocab.json", "secret.json"), "api", call=predictor,
             mode="legacy", message=r"vocab\.json: .*symlink"),
        Case("export: tokenizer ../outside", "export", "exports/bert", onnx_prep("tokenizer", "../../outside/tokenizer.json"),
             "api", call=predictor, message=r"emobench_model\.json: field onnx\.preprocess\.tokenizer\.tokenizer: .*plain file name"),
        Case("export: tokenizer an absolute path", "export", "exports/bert", onnx_prep("tokenizer", "/tmp/tokenizer.json"),
             "cli", ["predict", "{f}", TEXT], message=r"field onnx\.preprocess\.tokenizer\.tokenizer: .*plain file name"),
        Case("export: onnx.file absolute", "export", ex,
             json_edit(mj, lambda d: d["onnx"].update(file="/work/outside/model.onnx")), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.file: .*plain file name"),
        Case("export: onnx.files ../outside", "export", ex,
             json_edit(mj, lambda d: d["onnx"].update(file="../outside.onnx", files={"fp32": "../outside.onnx"})), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.files?(\.fp32)?: .*plain file name"),
        Case("export: pad values missing", "export", ex, onnx_prep("pad_values", {}), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess\.pad_values: no pad value for input_ids"),
        Case("export: fixed length negative", "export", "exports/paper", onnx_prep("length", -5), "cli", ["predict", "{f}", TEXT],
             message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.length: Input should be greater than or equal to 1"),
        Case("export: unknown preprocessing kind", "export", ex, onnx_prep("kind", "sentencepiece"), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess: Input tag 'sentencepiece'"),
        Case("export: an unknown graph input", "export", ex, json_edit(mj, lambda d: d["onnx"]["inputs"].append("pixels")), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.inputs\[2\]"),
        Case("export: task contradicts export.json", "export", ex, field_of("export.json", "task", "multi_label"), "api",
             call=predictor, message=r"export\.json: field task: 'multi_label', but emobench_model\.json says 'single_label'"),
        Case("export: export.json says the checks failed", "export", ex, field_of("export.json", "passed", False), "cli",
             ["predict", "{f}", TEXT], message=r"export\.json: field passed: the export did not pass its checks"),
        Case("export: export.json nested 10,000 deep", "export", ex, deep("export.json"), "api", call=predictor,
             message=r"export\.json: the export record is JSON nested too deeply"),
        Case("export: tokenizer.json is {}", "export", "exports/bert", raw("tokenizer.json", "{}"), "cli",
             ["predict", "{f}", TEXT], message=r"tokenizer\.json: (field model: expected a tokenizers tokenizer|not the tokenizer)"),
        Case("export: tokenizer.json not JSON", "export", "exports/bert", raw("tokenizer.json", "not json"), "api",
             call=predictor, message=r"tokenizer\.json: (the tokenizer is not valid JSON|not the tokenizer)"),
        Case("export: tokenizer from another model", "export", "exports/bert",
             lambda f, ws: shutil.copy(ws.root / "tiny-bert" / "tokenizer.json", f / "tokenizer.json"), "service", call=service,
             message=r"tokenizer\.json: not the tokenizer model\.int8\.onnx was exported with"),
        Case("export: int8 graph truncated (manifest)", "export", ex, truncate("model.int8.onnx"), "cli", ["predict", "{f}", TEXT],
             mode="manifest", message=r"model\.int8\.onnx: .*bytes, but"),
        Case("export: int8 graph truncated", "export", ex, truncate("model.int8.onnx"), "api", call=predictor,
             message=r"model\.int8\.onnx: ONNX Runtime cannot load it"),
        Case("export: graph removed (no manifest)", "export", ex, lambda f, ws: (f / "model.int8.onnx").unlink(), "cli",
             ["predict", "{f}", TEXT], mode="legacy", message=r"model\.int8\.onnx: the ONNX model is missing"),
        Case("export: a file added", "export", ex, raw("extra.onnx", b"x"), "api", call=predictor, mode="manifest",
             message=r"extra\.onnx: not written by emobench"),
        Case("export: unfinished (.partial)", "export", ex, None, "cli", ["predict", "{f}.partial", TEXT], mode="manifest",
             message=r"\.partial: an unfinished run or export"),
    ]
    # -------- comparisons, through `report` and compare's reuse
    cm = "cmp/study"
    c += [
        Case("comparison: results.json accuracy edited (manifest)", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("accuracy", 0.99)), "cli", ["report", "{f}"],
             mode="manifest", message=r"results\.json: .*(sha256 differs|bytes, but)"),
        Case("comparison: results.json accuracy edited", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("accuracy", 0.99)), "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]: the scores \(0\.99"),
        Case("comparison: a run path ../outside", "comparison", cm,
             json_edit("results.json", lambda d: d["runs"][0].__setitem__("run", "../../outside")), "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]\.run: '\.\./\.\./outside': expected a file name inside the folder"),
        Case("comparison: a run swapped for another", "comparison", cm, swap_run, "cli", ["report", "{f}"],
             message=r"results\.json: field runs\[0\]"),
        Case("comparison: a run's predictions edited", "comparison", cm,
             lambda f, ws: predictions_rows("test", _flip_prediction)(f / "runs" / "tfidf-s0", ws), "cli", ["report", "{f}"],
             mode="manifest", message=r"runs/tfidf-s0/predictions/test\.csv: .*(sha256 differs|bytes, but)"),
        Case("comparison: results.json nested deep", "comparison", cm, deep("results.json"), "cli", ["report", "{f}"],
             message=r"results\.json: the comparison results is JSON nested too deeply"),
        Case("comparison: results.json rows a string", "comparison", cm, field_of("results.json", "runs", "all"), "cli",
             ["report", "{f}"], message=r"results\.json: field runs: Input should be a valid list"),
        Case("comparison: report.md edited, re-rendered", "comparison", cm, raw("report.md", "# mine"), "cli", ["report", "{f}"],
             mode="manifest", expect="ok", check=lambda out: None if "report:" in out else "not re-rendered"),
        Case("comparison: a run's metrics edited, compare continued", "comparison", cm,
             lambda f, ws: json_edit("metrics.json", lambda d: d.__setitem__("train_seconds", 0.0))(f / "runs" / "tfidf-s0", ws),
             "cli", ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "study", "-q"],
             mode="manifest", message=r"tfidf-s0/metrics\.json: .*(sha256 differs|bytes, but)"),
    ]
    # -------- tuning folders, continued
    tu = "tuning/t"
    c += [
        Case("tuning: study.db emptied (manifest)", "tuning", tu, empty_study, "api", call=continue_tuning, mode="manifest",
             message=r"study\.db: .*(sha256 differs|bytes, but)"),
        Case("tuning: study.db emptied", "tuning", tu, empty_study, "api", call=continue_tuning,
             message=r"study\.db: emobench ran trial\(s\) 0, 1, 2 here, but the database no longer holds them"),
        Case("tuning: an injected best trial", "tuning", tu,
             inject_trial({"C": 0.3, "word_ngram_max": 1, "char_ngram_max": 0, "classifier": "svm", "class_weight": None}, 9.0),
             "api", call=continue_tuning, message=r"study\.db: trial 3 .* was not run by emobench"),
        Case("tuning: an injected trial, no ledger (emobench 0.2)", "tuning", tu,
             both(lambda f, ws: (f / "ledger.json").unlink(), inject_trial({"C": 50.0, "word_ngram_max": 1, "char_ngram_max": 0,
                                                                            "classifier": "svm", "class_weight": None}, 9.0)),
             "api", call=continue_tuning, mode="legacy", message=r"study\.db: trial 3 sets C outside the search space"),
        Case("tuning: a ledger entry changed", "tuning", tu,
             json_edit("ledger.json", lambda d: d["trials"][1].__setitem__("value", 0.123)), "api", call=continue_tuning,
             message=r"study\.db: trial 1 differs from what emobench recorded"),
        Case("tuning: study.db garbage", "tuning", tu, raw("study.db", b"garbage" * 100), "cli",
             ["tune", "--model", "tfidf", "--trials", "4", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "t", "-q"],
             message=r"study\.db: not an SQLite database"),
        Case("tuning: study.db truncated", "tuning", tu, truncate("study.db", 0.3), "api", call=continue_tuning,
             message=r"study\.db: (the SQLite database|Optuna cannot use)"),
        Case("tuning: ledger.json nested deep", "tuning", tu, deep("ledger.json"), "api", call=continue_tuning,
             message=r"ledger\.json: the trial ledger is JSON nested too deeply"),
        Case("tuning: tune.json space changed", "tuning", tu,
             json_edit("tune.json", lambda d: d["space"].__setitem__("C", ["float-log", 1.0, 2.0])), "cli",
             ["tune", "--model", "tfidf", "--trials", "4", "--data-dir", "{ws}/data", "-o", "{f}/..", "--name", "t", "-q"],
             message=r"t tunes another configuration \(space differ\)"),
    ]
    return c


# ---------------------------------------------------------------- running and classifying


class OpenWatch:
    """An audit hook recording every file Python opens under ``outside``."""

    def __init__(self, outside: Path):
        self.outside = str(outside.resolve())
        self.seen: list[str] = []
        self.active = False
        sys.addaudithook(self)

    def __call__(self, event: str, args) -> None:
        if not self.active or event != "open" or not args:
            return
        target = args[0]
        if isinstance(target, int):
            return
        try:
            path = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError):
            return
        if path.startswith(self.outside):
            self.seen.append(path)


def _prepare(case: Case, ws: Workspace, case_dir: Path) -> Path:
    folder = case_dir / Path(case.source).name  # the copy keeps its name (a study continued by name finds it)
    shutil.copytree(ws.root / case.source, folder, symlinks=True)
    if case.mode == "legacy":
        for manifest in folder.rglob("MANIFEST.json"):
            manifest.unlink()
    if case.edit is not None:
        case.edit(folder, ws)
    return folder


def run_case(case: Case, ws: Workspace, case_dir: Path, invoke, watch: OpenWatch) -> dict:
    import warnings

    from emobench.errors import EmobenchError

    folder = _prepare(case, ws, case_dir)
    before = _digest(case_dir)
    allow = case.mode == "allow"
    output, result = "", None
    watch.seen.clear()
    watch.active = True
    started = time.perf_counter()
    try:
        if case.via == "cli":
            args = [str(a).replace("{f}", str(folder)).replace("{ws}", str(ws.root)) for a in case.args]
            if allow:
                args.insert(1, "--allow-modified")
            code, output = invoke(args)
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = case.call(folder, allow)
                    code = 0
                except EmobenchError as exc:
                    code, output = 2, str(exc)
                except Exception as exc:  # noqa: BLE001 - a traceback is what the benchmark counts
                    import traceback

                    code, output = 1, "Traceback\n" + "".join(traceback.format_exception(exc))
                if case.via == "service" and code == 0:
                    response, card = result
                    if "detail" in response:
                        code, output = 2, json.dumps(response)
                output = "\n".join(str(w.message) for w in caught) + "\n" + output
    finally:
        watch.active = False
    seconds = time.perf_counter() - started
    outcome, detail = classify(case, code, output, result, watch.seen, case_dir, before)
    return {"case": case.name, "group": case.group, "via": case.via, "mode": case.mode, "expected": case.expect,
            "exit_code": code, "outcome": outcome, "detail": detail, "seconds": round(seconds, 2), "output": output}


def _said(output: str) -> str:
    """The output without warnings and data notes: what the refusal said."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("warning:") and
             "used anyway because" not in line and "differs from the published dair-ai" not in line]
    return "\n".join(lines)[-700:]


def classify(case: Case, code: int, output: str, result, opened: list[str], case_dir: Path, before: dict) -> tuple[str, str]:
    if opened:
        return "opened outside", f"opened {sorted(set(opened))[:3]}"
    if "Traceback" in output or code not in (0, 2):
        return "traceback", output[-3000:]
    if case.expect == "error":
        return refusal(case.message, code, output or str(result), case_dir, before, "silent wrong", _said)
    if code != 0:
        return "silent wrong", f"exit {code} where it should work: {output[-600:]}"
    problem = case.check(result if case.via != "cli" else output) if case.check else None
    if case.mode == "allow" and "allow_modified" not in output and "--allow-modified" not in output:
        problem = problem or "the allowed modification was not reported"
    return ("silent wrong", problem) if problem else ("correct", "")


def run_cases(ws: Workspace, invoke, selected: list[Case] | None = None, log=print) -> list[dict]:
    watch = OpenWatch(ws.outside)
    watch.active = True  # the hook must see an open outside, or its zero means nothing
    (ws.outside / "secret.json").read_bytes()
    watch.active = False
    if not watch.seen:
        raise RuntimeError("the audit hook did not see a file opened in outside/")
    watch.seen.clear()
    results = []
    for i, case in enumerate(selected or cases()):
        case_dir = ws.root / "cases" / f"{i:03d}"
        case_dir.mkdir(parents=True)
        row = run_case(case, ws, case_dir, invoke, watch)
        results.append(row)
        row["said"] = _said(row.pop("output", ""))
        log(f"[{i + 1:3d}] {row['outcome']:14s} {case.name} ({case.via}, {case.mode})" +
            (f"  -- {row['detail'][:400]}" if row["detail"] else ""))
        shutil.rmtree(case_dir, ignore_errors=True)
    return results


def cli_invoker():
    from typer.testing import CliRunner

    from emobench.cli import app

    def invoke(args, env=None):
        result = CliRunner().invoke(app, args, env={"HF_HUB_OFFLINE": "1", **(env or {})})
        output = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            output += "Traceback\n" + "".join(traceback.format_exception(result.exception))
        return result.exit_code, output
    return invoke


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the workspace folder")
    parser.add_argument("-k", default=None, help="only cases whose name contains this")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from common import print_table, write_results

    import logging

    from emobench.logs import configure

    configure("warning")
    logging.getLogger("emobench").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="emobench-tampered-"))
    os.environ.setdefault("EMOBENCH_CACHE", str(root / "cache"))  # the static family's distillations stay in the workspace
    invoke = cli_invoker()
    started = time.perf_counter()
    ws = build_workspace(root, invoke)
    built = time.perf_counter() - started
    chosen = [c for c in cases() if args.k is None or args.k in c.name]
    started = time.perf_counter()
    results = run_cases(ws, invoke, chosen)
    seconds = time.perf_counter() - started
    counts = summary(results)
    rows = []
    for key, values in (("group", sorted({r["group"] for r in results})), ("via", sorted({r["via"] for r in results})),
                        ("mode", sorted({r["mode"] for r in results}))):
        for value in values:
            subset = [r for r in results if r[key] == value]
            rows.append({"by": f"{key}: {value}", "cases": len(subset),
                         **{o: sum(r["outcome"] == o for r in subset) for o in ("clear error", "correct", *FAILURES)}})
    rows.append({"by": "all", "cases": len(results), **{o: counts.get(o, 0) for o in ("clear error", "correct", *FAILURES)}})
    print_table(f"{len(results)} tampered folders ({seconds:.0f} s, workspace {built:.0f} s)", rows,
                ["by", "cases", "clear error", "correct", *FAILURES])
    path = write_results("tampered", results, counts=counts, seconds=seconds, workspace_seconds=built)
    print("results:", path)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("workspace:", root)
    sys.exit(1 if any(counts.get(o) for o in FAILURES) else 0)


if __name__ == "__main__":
    main()
