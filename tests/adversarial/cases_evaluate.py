"""`evaluate`: missing, unfinished and corrupt runs, unknown splits, changed data, ``--data`` files of every kind
(ids or names, label maps, unseen labels, positions, split columns, indicator columns) and other datasets."""
from __future__ import annotations

import json
import re
import shutil

from .harness import Case
from .helpers import corrupt, csv_text, ev, ok_output, rows, user_rows, write


def _accuracy_is(expected):
    def check(case_dir, ws, output):
        found = re.search(r"accuracy\s+([0-9.]+)", output)
        return None if found and abs(float(found.group(1)) - expected) < 1e-9 else f"accuracy is not {expected}: {output[-300:]}"
    return check


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- evaluate
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
             expect="ok", check=ok_output(r"NOTE: the data differs"),
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
             check=ok_output(r"labels shared with train: sadness, joy, anger.*dropped"), group="evaluate"),
    ]
    # -------- evaluate routes
    c += [
        Case("evaluate --data, no header, positions", ev("--data", "{case}/d.csv", "--no-header", "--text-column", "2",
                                                         "--label-column", "1"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", "".join(f"{l},{t}\n" for t, l in user_rows())),
             check=ok_output(r"every text of d \(d\.csv\) \(30 examples\)"), group="evaluate routes"),
        Case("evaluate --data with a label map", ev("--data", "{case}/d.csv", "--label-map", "{case}/m.json"), expect="ok",
             setup=lambda d, ws: (write(d / "d.csv", csv_text([(t, {"sadness": "down"}.get(l, l)) for t, l in user_rows()])),
                                  write(d / "m.json", json.dumps({"sadness": ["down"], "joy": ["joy"], "anger": ["anger"]}))),
             check=ok_output(r"0 of 30 examples dropped"), group="evaluate routes"),
        Case("evaluate --data, unknown labels counted", ev("--data", "{case}/d.csv"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", csv_text([(t, "calm" if i % 5 == 0 else l) for i, (t, l) in enumerate(user_rows())])),
             check=ok_output(r"6 of 30 examples dropped \(no label the run knows\) \(calm 6\)"), group="evaluate routes"),
        Case("evaluate --data, a split of a split column", ev("--data", "{ws}/user/parts.csv", "--text-column", "utterance",
                                                              "--label-column", "emotion", "--split-column", "part", "--split",
                                                              "train"), expect="ok",
             check=ok_output(r"the train split of parts"), group="evaluate routes"),
        Case("evaluate --data --split without a split column", ev("--data", "{ws}/user/test.csv", "--split", "validation"),
             message=r"test\.csv has no splits of its own", group="evaluate routes"),
        Case("evaluate --data, a label without texts", ev("--data", "{case}/d.csv"), expect="ok",
             setup=lambda d, ws: write(d / "d.csv", csv_text([(t, l) for t, l in user_rows() if l != "anger"])),
             check=ok_output(r"anger.*no text has this label"), group="evaluate routes"),
        Case("evaluate --data --data-format txt", ev("--data", "{case}/d.dat", "--data-format", "txt"), expect="ok",
             setup=lambda d, ws: write(d / "d.dat", "".join(f"{t};{l}\n" for t, l in user_rows())),
             check=ok_output(r"\(30 examples\)"), group="evaluate routes"),
        Case("evaluate --data --dataset-name", ev("--data", "{ws}/user/test.csv", "--dataset-name", "x"),
             message=r"--data evaluates on a file; --dataset-name does not apply", group="evaluate routes"),
        Case("evaluate --data --train-file", ev("--data", "{ws}/user/test.csv", "--train-file", "{ws}/user/train.csv"),
             message=r"--train-file does not apply", group="evaluate routes"),
        Case("evaluate --data with indicator columns", ev("--data", "{ws}/user/indicators.csv", "--text-column", "Tweet",
                                                          "--label-columns", "sadness,joy,anger"), expect="ok",
             check=ok_output(r"\(90 examples\)"), group="evaluate routes"),
        Case("evaluate --dataset that is the run's own", ev("--dataset", "emotion", "--data-dir", "{ws}/data"),
             message=r"is the run's own dataset", group="evaluate routes"),
        Case("evaluate a multi-label run on single-label data", ["evaluate", "{ws}/runs/multi-run", "--data", "{ws}/user/test.csv"],
             expect="ok", check=ok_output(r"micro"), group="evaluate routes"),
    ]
    return c
