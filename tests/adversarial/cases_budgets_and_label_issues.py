"""Data budgets (``--train-sizes``, ``--train-size``), the Ray engine of `compare`, and label issues (``--label-issues``,
saved audits of other data, the audit's own options)."""
from __future__ import annotations

import json
from pathlib import Path

from .harness import Case
from .helpers import cmp, ev, ok_output, run_recorded_warning, train_args, tune, write


def _other_audit(case_dir: Path, ws) -> None:
    """A saved audit of another training split: the labels of the workspace's tiny data, other texts."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.experiments.label_issues import find_issues, save_issues

    corpus = load_dataset(DatasetConfig(name=str(ws.root / "user" / "train.csv"), files={
        "train": str(ws.root / "user" / "train.csv"), "test": str(ws.root / "user" / "test.csv")}))
    save_issues(case_dir / "a.json", find_issues(corpus, ["train"], folds=3))


def _edited_audit(change):
    """This data's own audit (the workspace's tiny emotion data, its training split), one field of its issues edited."""
    def setup(case_dir: Path, ws) -> None:
        from emobench.data import DatasetConfig, load_dataset
        from emobench.experiments.label_issues import find_issues, save_issues

        corpus = load_dataset(DatasetConfig(data_dir=str(ws.root / "data")))
        issues = find_issues(corpus, ["train"], folds=3).model_dump(mode="json")
        train = issues["splits"]["train"]
        if len(train["issues"]) < 2:  # the tiny data is clean: two issues of its own rows, as an audit would write them
            from emobench.records.run import gold_names

            golds = gold_names(corpus["train"], corpus.label_names)
            train["issues"] = [{"index": i, "text": corpus["train"].texts[i], "given": [golds[i]],
                                "suggested": [next(n for n in corpus.label_names if n != golds[i])],
                                "self_confidence": 0.1} for i in (0, 1)]
            train["flagged"] = 2
        change(train["issues"], corpus)
        train["flagged"] = len(train["issues"])
        write(case_dir / "a.json", json.dumps(issues))
    return setup


def _one_label_left(issues, corpus):
    """Every training text but those of one label flagged: dropping them leaves one label."""
    from emobench.records.run import gold_names

    golds = gold_names(corpus["train"], corpus.label_names)
    keep = golds[0]
    issues[:] = [{"index": i, "text": t, "given": [g], "suggested": [keep], "self_confidence": 0.1}
                 for i, (t, g) in enumerate(zip(corpus["train"].texts, golds)) if g != keep]


def _set_issue(field, value):
    def change(issues, corpus):
        issues[0][field] = value(issues[0]) if callable(value) else value
    return change


def _twice(issues, corpus):
    issues[1]["index"] = issues[0]["index"]


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- data budgets, baselines, the Ray engine
    c += [
        Case("--train-sizes 0 with no zero-shot model", cmp("--train-sizes", "0,4"),
             message=r"--train-sizes 0: none of the compared models \(tfidf\) learns from no labelled texts; families that "
                     r"do:", group="budgets"),
        Case("--train-sizes 0.0", cmp("--train-sizes", "0.0,4"), message=r"--train-sizes '0\.0,4': no labelled texts are "
                                                                         r"written 0", group="budgets"),
        Case("--train-sizes -1", cmp("--train-sizes", "-1"), message=r"--train-sizes '-1': .*an integer >= 0",
             group="budgets"),
        Case("--train-size 0 for a family that needs labels", train_args("--train-size", "0"),
             message=r"--train-size 0: the tfidf family does not learn from no labelled texts", group="budgets"),
        Case("--train-size 0.0", train_args("--train-size", "0.0"), message=r"--train-size '0\.0': no labelled texts are "
                                                                          r"written 0", group="budgets"),
        Case("--train-size -2", train_args("--train-size", "-2"), message=r"--train-size '-2': .*an integer >= 0",
             group="budgets"),
        Case("tune --train-size 0 for a family that needs labels", tune("--train-size", "0"),
             message=r"--train-size 0: the \w+ family does not learn from no labelled texts", group="budgets"),
        Case("--train-sizes x", cmp("--train-sizes", "8,x"), message=r"--train-sizes '8,x'", group="budgets"),
        Case("--train-sizes twice", cmp("--train-sizes", "8,8"), message=r"--train-sizes names a size twice", group="budgets"),
        Case("--train-sizes empty item", cmp("--train-sizes", "8,,all"), message=r"expected sizes separated by commas",
             group="budgets"),
        Case("--budget-validation alone", cmp("--budget-validation"), message=r"--budget-validation .*needs --train-sizes",
             group="budgets"),
        Case("--train-size 1.5", train_args("--train-size", "1.5"), message=r"--train-size '1\.5'", group="budgets"),
        Case("--train-size on a budget", train_args("--train-size", "4"), expect="ok", check=ok_output(r"run written"),
             group="budgets"),
        Case("a budget study", cmp("--train-sizes", "4,all", "--seeds", "2"), expect="ok",
             check=ok_output(r"best model at each data budget"), group="budgets"),
        Case("--engine spark", cmp("--engine", "spark"), message=r"--engine 'spark': expected local or ray", group="budgets"),
        Case("compare --ray-address without --engine ray", cmp("--ray-address", "127.0.0.1:9"),
             message=r"--ray-address applies to --engine ray", group="budgets"),
        Case("compare on Ray where none runs", cmp("--engine", "ray", "--ray-address", "127.0.0.1:9"),
             message=r"cannot start or reach Ray at 127\.0\.0\.1:9", group="budgets"),
        Case("a budget study cutting the validation split", cmp("--train-sizes", "4,all", "--budget-validation"), expect="ok",
             check=lambda d, ws, out: None if json.loads((d / "c" / "x" / "runs" / "tfidf-n4-s0" / "data.json").read_text())[
                 "source"]["budget"]["validation"] else "the validation split was not cut", group="budgets"),
        Case("--train-size 0.00001", train_args("--train-size", "0.00001"), expect="ok", check=ok_output(r"run written"),
             group="budgets"),  # a share keeps at least one text of each label
        Case("twelve texts make the promised steps", train_args("--train-size", "2", "--set", "epochs=2", "--set",
                                                                 "hidden_size=4", "--set", "glove=none", model="lstm"),
             expect="ok", check=lambda d, ws, out: None if sum(h["steps"] for h in json.loads(
                 next((d / "out").glob("*/history.json")).read_text())) >= 300 else "fewer than 300 steps", group="budgets"),
    ]
    # -------- label issues
    audit_ = lambda *a: ["data", "audit", "emotion", "--data-dir", "{ws}/data", *a]
    c += [
        Case("--label-issues burn", train_args("--label-issues", "burn"), message=r"--label-issues 'burn': expected drop or relabel",
             group="label issues"),
        Case("--label-issues-from alone", train_args("--label-issues-from", "{ws}/user/test.csv"),
             message=r"--label-issues-from gives the flags .*give both", group="label issues"),
        Case("--label-issues-from a missing file", train_args("--label-issues", "drop", "--label-issues-from", "{case}/no.json"),
             message=r"--label-issues-from .*no\.json: no such file", group="label issues"),
        Case("--label-issues-from not JSON", train_args("--label-issues", "drop", "--label-issues-from", "{case}/a.json"),
             message=r"a\.json: the label-issues audit is not valid JSON", setup=lambda d, ws: write(d / "a.json", "{oops"),
             group="label issues"),
        Case("--label-issues-from an audit without issues", train_args("--label-issues", "drop", "--label-issues-from",
                                                                          "{case}/a.json"),
             message=r"a\.json: field", setup=lambda d, ws: write(d / "a.json", '{"splits": {}}'), group="label issues"),
        Case("--label-issues-from an audit of other data", train_args("--label-issues", "drop", "--label-issues-from",
                                                                         "{case}/a.json"),
             message=r"the audit was made on other training data", setup=_other_audit, group="label issues"),
        Case("audit --label-issues --folds 1", audit_("--label-issues", "--folds", "1"), message=r"--folds 1: expected an integer from 2 to",
             group="label issues"),
        Case("audit --label-issues --splits dev", audit_("--label-issues", "--splits", "dev"), message=r"no split 'dev'",
             group="label issues"),
        Case("audit --folds without --label-issues", audit_("--folds", "3"), message=r"--folds applies to --label-issues",
             group="label issues"),
        Case("audit --label-issues --show -1", audit_("--label-issues", "--show", "-1"), message=r"--show -1: expected an integer from 0 to",
             group="label issues"),
        Case("audit --label-issues --model gpt9", audit_("--label-issues", "--model", "gpt9"), message=r"unknown model 'gpt9'",
             group="label issues"),
        Case("audit --label-issues with too many folds", audit_("--label-issues", "--folds", "40"),
             message=r"too few for 40 folds|cannot be made", group="label issues"),
        Case("audit --label-issues", audit_("--label-issues", "--json", "{case}/a.json", "-q"), expect="ok",
             check=lambda d, ws, out: None if "label_issues" in json.loads((d / "a.json").read_text()) else "no issues in the JSON",
             group="label issues"),
        Case("train --label-issues drop", train_args("--label-issues", "drop"), expect="ok",
             check=run_recorded_warning(r"cleaned training split"), group="label issues"),
        Case("tune --label-issues relabel", tune("--label-issues", "relabel"), expect="ok",
             check=ok_output(r"best configuration trained"), group="label issues"),
        Case("evaluate --data with --label-issues", ev("--data", "{ws}/user/test.csv", "--label-issues", "drop"),
             message=r"--label-issues does not apply", group="label issues"),
        Case("a saved audit suggesting a label the data lacks", train_args("--label-issues", "relabel", "--label-issues-from",
                                                                           "{case}/a.json"),
             message=r"a\.json: field splits\.train\.issues\[0\]\.suggested: 'ecstasy' is not a label",
             setup=_edited_audit(_set_issue("suggested", ["ecstasy"])), group="label issues"),
        Case("a saved audit with an empty suggestion", train_args("--label-issues", "relabel", "--label-issues-from",
                                                                   "{case}/a.json"),
             message=r"issues\[0\]\.suggested: \[\]; expected exactly one label",
             setup=_edited_audit(_set_issue("suggested", [])), group="label issues"),
        Case("a saved audit with two labels for a single-label text", train_args(
            "--label-issues", "relabel", "--label-issues-from", "{case}/a.json"), message=r"expected exactly one label",
             setup=_edited_audit(_set_issue("suggested", ["joy", "anger"])), group="label issues"),
        Case("a saved audit naming a row twice", train_args("--label-issues", "drop", "--label-issues-from", "{case}/a.json"),
             message=r"issues\[1\]\.index: row \d+ is named by two issues", setup=_edited_audit(_twice), group="label issues"),
        Case("a saved audit whose text is not the row's", train_args("--label-issues", "drop", "--label-issues-from",
                                                                    "{case}/a.json"),
             message=r"issues\[0\]\.text: not the text of training row", setup=_edited_audit(_set_issue("text", "other")),
             group="label issues"),
        Case("a saved audit whose given label is not the row's", train_args("--label-issues", "drop", "--label-issues-from",
                                                                           "{case}/a.json"),
             message=r"issues\[0\]\.given: .* is labelled", group="label issues",
             setup=_edited_audit(_set_issue("given", lambda issue: ["surprise" if issue["given"] != ["surprise"] else "joy"]))),
        Case("cleaning that leaves one label", train_args("--label-issues", "drop", "--label-issues-from", "{case}/a.json"),
             message=r"leaves one label \(\w+\); a classifier needs at least two", setup=_edited_audit(_one_label_left),
             group="label issues"),
        Case("compare without the noise audit", cmp("--no-noise-audit"), expect="ok",
             check=lambda d, ws, out: None if not (d / "c" / "x" / "label_issues.json").exists() else "audited anyway",
             group="label issues"),
    ]
    return c
