"""`compare` and `report`: bad seeds, model lists, formats, names and ``--set``s, a comparison continued with
another configuration or on changed data, run folders that cannot be compared, corrupt results; and
``--transfer`` to other data."""
from __future__ import annotations

import shutil

from .harness import Case
from .helpers import cmp, csv_text, user_rows, write


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- compare and report
    c += [
        Case("--seeds 0", ["compare", "--models", "tfidf", "--seeds", "0", "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--seeds 0: expected an integer from 1 to", group="compare"),
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
                                           "{case}/c", "-q"], message=r"parameter C=-1 ", group="compare"),
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
        Case("--transfer-label-map without --transfer", ["compare", "--models", "tfidf", "--transfer-label-map", "emotion-ekman",
                                                         "--data-dir", "{ws}/data", "-o", "{case}/c", "-q"],
             message=r"--transfer-label-map needs --transfer", group="compare"),
    ]
    # -------- transfer
    c += [
        Case("--transfer a missing file", cmp("--transfer", "{case}/nope.csv"), message=r"nope\.csv: file not found",
             group="transfer"),
        Case("--transfer without shared labels", cmp("--transfer", "{case}/t.csv"), message=r"none in common",
             setup=lambda d, ws: write(d / "t.csv", csv_text([(f"text {i}", ["calm", "bored"][i % 2]) for i in range(20)])),
             group="transfer"),
        Case("--transfer-split-column missing", cmp("--transfer", "{ws}/user/parts.csv", "--transfer-text-column", "utterance",
                                                    "--transfer-label-column", "emotion", "--transfer-split-column", "nope"),
             message=r"parts\.csv, line 2: missing column 'nope'", group="transfer"),
        Case("--transfer-split-column without test rows", cmp("--transfer", "{case}/t.csv", "--transfer-split-column", "part"),
             message=r"no split 'test'", group="transfer",
             setup=lambda d, ws: write(d / "t.csv", csv_text([(t, l, "train") for t, l in user_rows()], ("text", "label", "part")))),
        Case("--transfer the training dataset", cmp("--transfer", "emotion"),
             message=r"that is the dataset the models are trained on", group="transfer"),
        Case("--transfer-text-column without --transfer", cmp("--transfer-text-column", "x"),
             message=r"--transfer-text-column needs --transfer", group="transfer"),
        Case("--transfer-label-map that is no file", cmp("--transfer", "{ws}/user/test.csv", "--transfer-label-map", "{case}/m.json"),
             message=r"m\.json: no such file", group="transfer"),
        Case("--transfer-encoding unknown", cmp("--transfer", "{ws}/user/test.csv", "--transfer-encoding", "klingon"),
             message=r"unknown encoding 'klingon'", group="transfer"),
        Case("--transfer-text-column on a built-in dataset", cmp("--transfer", "goemotions", "--transfer-text-column", "x"),
             message=r"--transfer-text-column applies to your own data files", group="transfer"),
        Case("--transfer a file's test split", cmp("--transfer", "{ws}/user/parts.csv", "--transfer-text-column", "utterance",
                                                   "--transfer-label-column", "emotion", "--transfer-split-column", "part"),
             expect="ok", check=lambda d, ws, out: None if "transfer: the test split of parts (parts.csv)" in out
             else f"no transfer summary: {out[-400:]}", group="transfer"),
    ]
    return c
