"""The stack family: bad members (a lone model, a baseline, a stack, unknown parameters, broken brackets), too few texts
for the folds, export and explain of a stack, and saved stacks whose members were swapped, removed, relabelled or whose
combiner does not fit them; a stack predicts, distils into an LSTM and serves like any model."""
from __future__ import annotations

import json
import shutil

from .harness import Case
from .helpers import ok_output, train_args, write

TINY_LSTM = "lstm[epochs=1,hidden_size=4,glove=none]"
MEMBERS = ["--set", f"members=tfidf+{TINY_LSTM}", "--set", "folds=2"]


def _stack(change=None):
    """A setup: a tiny stack trained into ``{case}/run`` (as emobench 0.2 saved folders: no manifests, so each case
    reaches the check of the file it breaks), then changed by ``change(model_folder)``."""
    def setup(case_dir, ws):
        from emobench.data import DatasetConfig
        from emobench.experiments.run import RunConfig, train

        train(RunConfig(model="stack", dataset=DatasetConfig(name="emotion", data_dir=str(ws.data)),
                        overrides={"members": f"tfidf+{TINY_LSTM}", "folds": "2"}, output_dir=str(case_dir), name="run"),
              progress=False)
        if change is not None:
            for manifest in (case_dir / "run").rglob("MANIFEST.json"):
                manifest.unlink()
            change(case_dir / "run" / "model")
    return setup


def _edit_json(name, **fields):
    def change(model):
        path = model / name
        write(path, json.dumps({**json.loads(path.read_text()), **fields}))
    return change


def _wrong_combiner(model):
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"coef": np.zeros((6, 5)), "intercept": np.zeros(6), "classes": np.arange(6)}, str(model / "stack.safetensors"))


def cases() -> list[Case]:
    g = "stack"
    c = [Case(f"stack members={members}", train_args("--set", f"members={members}", model="stack"), message=message,
              group=g)
         for members, message in [
             ("tfidf", r"parameters members='tfidf'.*two or more members"),
             ("tfidf+majority", r"majority is a baseline"),
             ("tfidf+stack", r"cannot hold a stack"),
             ("tfidf+lstm[bogus=1]", r"unknown parameter 'bogus'"),
             ("tfidf+lstm[epochs=0]", r"parameter epochs=.?0"),
             ("tfidf+lstm[epochs", r"expected \+ between members|expected two or more model names"),
             ("tfidf+nope", r"unknown model 'nope'"),
             ("tfidf[]+lstm", r"member tfidf: empty brackets")]]
    c += [
        Case("stack with folds=1", train_args("--set", "folds=1", model="stack"), message=r"folds=1.*>= 2", group=g),
        Case("stack with more folds than texts", train_args("--train-size", "1", "--set", f"members=tfidf+{TINY_LSTM}", "--set", "folds=5",
                                                          model="stack"),
             message=r"folds=5 needs at least 10 training texts, got \d+; lower folds=", group=g),
        Case("export a stack", ["export", "{case}/run", "-o", "{case}/e"], message=r"emobench distill", setup=_stack(),
             group=g),
        Case("explain a stack", ["explain", "{case}/run", "i feel happy"], expect="ok",
             check=ok_output(r"occlusion"), setup=_stack(), group=g),
        Case("a stack member of another family", ["predict", "{case}/run", "hi"],
             message=r"members/1-lstm/emobench_model\.json: field family: 'tfidf', but the stack's member lstm",
             setup=_stack(lambda m: (shutil.rmtree(m / "members" / "1-lstm"),
                                     shutil.copytree(m / "members" / "0-tfidf", m / "members" / "1-lstm"))), group=g),
        Case("a stack member removed", ["predict", "{case}/run", "hi"], message=r"members/1-lstm: no such model folder",
             setup=_stack(lambda m: shutil.rmtree(m / "members" / "1-lstm")), group=g),
        Case("a stack member with other labels", ["predict", "{case}/run", "hi"],
             message=r"members/0-tfidf/emobench_model\.json: field label_names",
             setup=_stack(lambda m: _edit_json("members/0-tfidf/emobench_model.json", label_names=[
                 "a", "b", "c", "d", "e", "f"])(m)), group=g),
        Case("a stack combiner that fits no members", ["predict", "{case}/run", "hi"],
             message=r"stack\.safetensors: coefficients of shape \(6, 5\) do not fit 2 members x 6 labels",
             setup=_stack(_wrong_combiner), group=g),
        Case("a stack combiner removed", ["predict", "{case}/run", "hi"], message=r"stack\.safetensors.*(missing|not found)",
             setup=_stack(lambda m: (m / "stack.safetensors").unlink()), group=g),
        Case("a stack predicts", ["predict", "{case}/run", "i feel so happy today"], expect="ok",
             check=ok_output(r"joy|sadness|anger|fear|love|surprise"), setup=_stack(), group=g),
        Case("a stack distilled into an LSTM", ["distill", "{case}/run", "-o", "{case}/out", "-q", "--set", "epochs=1",
                                                "--set", "hidden_size=4", "--set", "glove=none"],
             expect="ok", check=ok_output(r"run written to"), setup=_stack(), group=g),
    ]
    return c
