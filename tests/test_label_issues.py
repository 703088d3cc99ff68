"""Label noise: planted label flips are found by confident learning (cleanlab) on out-of-fold probabilities, shown by
the audit (terminal and JSON) and by a comparison's report, and training on the cleaned training split is recorded."""
import json
import os
import random
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import LABELS, MULTI_LABELS, multi_examples, tiny_examples, write_emotion_folder
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.experiments.label_issues import find_issues

runner = CliRunner()
pytest.importorskip("cleanlab")
FLIPS = 18  # of 180 training texts: 10%


@pytest.fixture
def noisy_root(tmp_path):
    """The tiny dataset with 18 training labels flipped to another label (seeded); returns (root, flipped rows)."""
    root = write_emotion_folder(tmp_path / "data")
    examples = tiny_examples(180, 1)
    rng = random.Random(7)
    flipped = set(rng.sample(range(len(examples)), FLIPS))
    rows = [(t, rng.choice([l for l in LABELS if l != label]) if i in flipped else label)
            for i, (t, label) in enumerate(examples)]
    (root / "emotion" / "train.txt").write_text("".join(f"{t};{l}\n" for t, l in rows), encoding="utf-8")
    return root, flipped


def _flip_rates(issues, flipped: set[int], n: int) -> tuple[set[int], float, float]:
    """The training rows flagged, the share of the planted flips among them (recall) and of the other rows (false flags)."""
    found = issues.flagged_rows("train")
    return found, len(found & flipped) / len(flipped), len(found - flipped) / (n - len(flipped))


def test_planted_flips_are_found(noisy_root):
    root, flipped = noisy_root
    corpus = load_dataset(DatasetConfig(data_dir=str(root)))
    issues = find_issues(corpus, ["train"], folds=5, seed=0)
    found, recall, false_rate = _flip_rates(issues, flipped, 180)
    # Measured on this fixture: recall 0.89, false flags 1.2% (seed 0). Asserted: at least 0.8 and at most 5%.
    assert recall >= 0.8 and false_rate <= 0.05, (recall, false_rate)
    train = issues.splits["train"]
    assert train.flagged == len(found) and sum(train.per_label.values()) == train.flagged
    assert len(train.noise_matrix) == len(LABELS) and all(abs(sum(row) - 1) < 1e-6 for row in zip(*train.noise_matrix))
    first = train.issues[0]
    assert first.index in flipped and first.suggested != first.given  # the most doubtful is a flip, with its real label
    assert [i.self_confidence for i in train.issues] == sorted(i.self_confidence for i in train.issues)


def test_a_large_share_flagged_is_a_loud_recorded_warning(noisy_root, tmp_path, monkeypatch):
    """Confident learning flags whatever the scoring model confidently disagrees with: when much of a split is flagged,
    the audit says how good that model is and warns, on the terminal, in the JSON and in a comparison's report."""
    import emobench.experiments.label_issues as label_issues

    root, _ = noisy_root
    corpus = load_dataset(DatasetConfig(data_dir=str(root)))
    quiet = find_issues(corpus, ["train"], folds=5, seed=0)
    assert quiet.warnings == [] and 0.5 < quiet.splits["train"].model_macro_f1 < 1.0  # 10% of the labels are flipped
    monkeypatch.setattr(label_issues, "MANY_FLAGGED", 0.05)  # the fixture's ~11% flagged is then "many"
    with pytest.warns(UserWarning, match=r"train: \d+ of 180 texts \(\d+%\) are flagged .* tfidf itself scores macro-F1"):
        loud = find_issues(corpus, ["train"], folds=5, seed=0)
    assert len(loud.warnings) == 1 and "score with a stronger family" in loud.warnings[0]
    result = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--label-issues", "--splits", "train",
                                 "--json", str(tmp_path / "a.json"), "-q"])
    assert result.exit_code == 0 and "are flagged as likely mislabelled" in result.output, result.output
    assert "tfidf's macro-F1 out of fold" in result.output and "score with a stronger family (--model)" in result.output
    saved = json.loads((tmp_path / "a.json").read_text())["label_issues"]
    assert saved["warnings"] == loud.warnings and saved["splits"]["train"]["model_macro_f1"] == quiet.splits["train"].model_macro_f1
    # training on the flags says it again, and data.json records it
    trained = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", "drop", "--label-issues-from",
                                  str(tmp_path / "a.json"), "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert trained.exit_code == 0 and "score with a stronger family" in trained.output, trained.output
    data = json.loads((tmp_path / "runs" / "r" / "data.json").read_text())
    assert loud.warnings[0] in data["warnings"] and data["source"]["label_issues"]["audit_warnings"] == loud.warnings


def test_cleanlab_leaves_the_process_warnings_on(noisy_root):
    """cleanlab turns every warning of the process off when imported (a blanket filterwarnings("ignore") in its
    datalab): after an audit, emobench's own warnings -- here the one that says the training split was cleaned -- must
    still be shown. A fresh process, as a user's, since the import happens once."""
    import subprocess
    import sys

    root, _ = noisy_root
    script = ("import warnings, sys\n"
              "from emobench.data import DatasetConfig, load_dataset\n"
              "from emobench.experiments.label_issues import find_issues\n"
              "warnings.simplefilter('ignore')\n"  # the dataset's checksum warnings are not the point
              "corpus = load_dataset(DatasetConfig(data_dir=sys.argv[1]))\n"
              "warnings.resetwarnings()\n"
              "before = list(warnings.filters)\n"
              "find_issues(corpus, ['train'], folds=3)\n"
              "assert warnings.filters == before, [f for f in warnings.filters if f not in before]\n"
              "warnings.warn('still heard', UserWarning)\n")
    done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "still heard" in done.stderr, done.stderr[-2000:]
    trained = subprocess.run([sys.executable, "-m", "emobench", "train", "--data-dir", str(root), "--label-issues", "drop",
                              "-o", str(root.parent / "runs"), "-q"], capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "warning: training on a cleaned training split" in trained.stderr, trained.stderr[-2000:]


FORKS: list[int] = []
watching = [False]
os.register_at_fork(before=lambda: FORKS.append(1) if watching[0] else None)


def test_label_noise_per_label_is_cleanlabs_summary():
    """The per-label noise computed without cleanlab's forking pool is what common_multilabel_issues says."""
    from cleanlab.multilabel_classification.dataset import common_multilabel_issues

    from emobench.experiments.label_issues import _label_noise

    rng = np.random.default_rng(3)
    labels = [sorted(rng.choice(4, size=rng.integers(1, 3), replace=False).tolist()) for _ in range(120)]
    probs = rng.uniform(size=(120, 4))
    names = ["a", "b", "c", "d"]
    ours = {n["label"]: n for n in _label_noise(labels, probs, names)}
    for row in common_multilabel_issues(labels, probs).to_dict("records"):
        kind = "spurious" if row["In Given Label"] else "missing"
        mine = ours[names[int(row["Class Index"])]]
        assert mine[kind] == row["Num Examples"] and mine[f"{kind}_share"] == pytest.approx(row["Issue Probability"])


def test_planted_flips_in_multi_label_data_are_found(tmp_path):
    """Multi-label data goes through cleanlab's multi-label API: a text whose label set was replaced by another label
    is found, and the suggestion is the set the text's words say."""
    rng = random.Random(5)
    files = {}
    for split, n, seed in (("train", 240, 1), ("validation", 80, 2), ("test", 80, 3)):
        rows = multi_examples(n, seed)
        if split == "train":
            flipped = set(rng.sample(range(n), 24))
            originals = {i: rows[i][1] for i in flipped}
            rows = [(t, [rng.choice([l for l in MULTI_LABELS if l not in ls])] if i in flipped else ls)
                    for i, (t, ls) in enumerate(rows)]
        files[split] = tmp_path / f"{split}.tsv"
        files[split].write_text("text\temotions\n" + "".join(f"{t}\t{'|'.join(ls)}\n" for t, ls in rows))
    corpus = load_dataset(DatasetConfig(name="multi", files={s: str(f) for s, f in files.items()}, label_column="emotions",
                                        label_separator="|"))
    assert corpus.multi_label
    FORKS.clear()
    watching[0] = True
    try:
        issues = find_issues(corpus, ["train"], folds=5, seed=0)
    finally:
        watching[0] = False
    # A fork beside torch's running threads hung 1 audit in 6 (cleanlab's worker pool): the audit forks nothing.
    assert not FORKS, f"the audit forked {len(FORKS)} process(es)"
    found, recall, false_rate = _flip_rates(issues, flipped, 240)
    # Measured on this fixture: recall 1.0, false flags 1.9% (4 of 216), the original set suggested for 22 of the 24
    # flips (seed 0). Asserted: recall at least 0.8, at most 5% false flags, three quarters of the suggestions right.
    assert recall >= 0.8 and false_rate <= 0.05, (recall, false_rate)
    train = issues.splits["train"]
    assert train.flagged == len(found) == len(train.issues)
    right = [i for i in train.issues if i.index in flipped and sorted(i.suggested) == originals[i.index]]
    assert len(right) >= 0.75 * len(found & flipped), [(i.given, i.suggested, originals.get(i.index)) for i in train.issues]
    # Every flip gave a label the text does not have and took away one it has: both kinds of per-label noise are seen.
    assert train.noise_matrix is None and [n.label for n in train.label_noise] == corpus.label_names
    assert sum(n.spurious for n in train.label_noise) >= 20 and sum(n.missing for n in train.label_noise) >= 20
    result = runner.invoke(app, ["data", "audit", "--train-file", str(files["train"]), "--test-file",
                                 str(files["test"]), "--label-column", "emotions", "--label-separator", "|", "--label-issues",
                                 "--splits", "train", "--json", str(tmp_path / "a.json"), "-q"])
    assert result.exit_code == 0, result.output
    assert "flagged texts per label, one against the rest" in result.output and "likely mislabelled texts" in result.output
    saved = json.loads((tmp_path / "a.json").read_text())["label_issues"]["splits"]["train"]
    assert {i["index"] for i in saved["issues"]} == found and len(saved["label_noise"]) == len(MULTI_LABELS)


def test_the_audit_command_shows_and_saves_the_issues(noisy_root, tmp_path):
    root, flipped = noisy_root
    result = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--label-issues", "--splits", "train",
                                 "--show", "5", "--json", str(tmp_path / "a.json"), "-q"])
    assert result.exit_code == 0, result.output
    assert "likely mislabelled texts (tfidf, 5 folds" in result.output and "the 5 least likely given labels" in result.output
    assert "estimated P(given label | true label)" in result.output
    saved = json.loads((tmp_path / "a.json").read_text())["label_issues"]
    assert saved["splits"]["train"]["flagged"] == len(saved["splits"]["train"]["issues"]) >= 15
    assert {i["index"] for i in saved["splits"]["train"]["issues"]} & flipped
    for args, message in ((["--folds", "1"], "--folds 1: expected an integer from 2 to 100"), (["--splits", "dev"], "no split 'dev'"),
                          (["--model", "gpt9"], "unknown model 'gpt9'")):
        bad = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--label-issues", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    stray = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--folds", "3"])
    assert stray.exit_code == 2 and "--folds applies to --label-issues" in stray.output


def test_training_on_the_cleaned_split_is_recorded_and_evaluated_again(noisy_root, tmp_path):
    root, flipped = noisy_root
    audit = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--label-issues", "--splits", "train",
                                "--json", str(tmp_path / "a.json"), "-q"])
    assert audit.exit_code == 0, audit.output
    flagged = len(json.loads((tmp_path / "a.json").read_text())["label_issues"]["splits"]["train"]["issues"])
    for action in ("drop", "relabel"):
        result = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", action, "--label-issues-from",
                                     str(tmp_path / "a.json"), "-o", str(tmp_path / "runs"), "--name", action, "-q"])
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / "runs" / action / "data.json").read_text())
        plan = data["source"]["label_issues"]
        assert plan["action"] == action and len(plan["rows"]) == flagged and plan["audit"].endswith("a.json")
        assert data["sizes"]["train"] == (180 - flagged if action == "drop" else 180)
        assert any("cleaned training split" in w for w in data["warnings"])
        again = runner.invoke(app, ["evaluate", str(tmp_path / "runs" / action)])  # the recorded rows, not flagged again
        assert again.exit_code == 0 and "NOTE" not in again.output, again.output
    computed = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", "drop", "-o", str(tmp_path / "runs"),
                                   "--name", "computed", "-q"])
    assert computed.exit_code == 0, computed.output
    assert json.loads((tmp_path / "runs" / "computed" / "data.json").read_text())["source"]["label_issues"]["audit"] is None
    # An audit of other data is refused, not applied to rows it was not made on.
    other = write_emotion_folder(tmp_path / "other")
    refused = runner.invoke(app, ["train", "--data-dir", str(other), "--label-issues", "drop", "--label-issues-from",
                                  str(tmp_path / "a.json"), "-o", str(tmp_path / "runs"), "--name", "x", "-q"])
    assert refused.exit_code == 2 and "the audit was made on other training data" in refused.output
    for args, message in ((["--label-issues", "burn"], "expected drop or relabel"),
                          (["--label-issues-from", str(tmp_path / "a.json")], "give both")):
        bad = runner.invoke(app, ["train", "--data-dir", str(root), *args, "-o", str(tmp_path / "runs"), "-q"])
        assert bad.exit_code == 2 and message in bad.output, bad.output


@pytest.fixture
def saved_audit(noisy_root, tmp_path):
    root, _ = noisy_root
    audit = runner.invoke(app, ["data", "audit", "emotion", "--data-dir", str(root), "--label-issues", "--splits", "train",
                                "--json", str(tmp_path / "a.json"), "-q"])
    assert audit.exit_code == 0, audit.output
    return root, tmp_path / "a.json"


def _edited(path, tmp_path, change, name="edited.json"):
    data = json.loads(path.read_text())
    change(data["label_issues"]["splits"]["train"]["issues"], data)
    out = tmp_path / name
    out.write_text(json.dumps(data))
    return out


def _set(field, value, k=0):
    def change(issues, data):
        issues[k][field] = value(issues[k]) if callable(value) else value
    return change


def _twice(issues, data):
    issues[1]["index"] = issues[0]["index"]


@pytest.mark.parametrize("change, action, message", [
    (_set("suggested", ["ecstasy"]), "relabel", r"splits.train.issues\[0\].suggested: 'ecstasy' is not a label"),
    (_set("suggested", []), "relabel", r"issues\[0\].suggested: \[\]; expected exactly one label"),
    (_set("suggested", ["joy", "anger"]), "relabel", "expected exactly one label .single-label data."),
    (_twice, "drop", r"issues\[1\].index: row \d+ is named by two issues"),
    (_set("text", "a text the row does not hold"), "drop", r"issues\[0\].text: not the text of training row"),
    (_set("given", lambda i: [next(l for l in LABELS if l not in i["given"])]), "drop", r"issues\[0\].given: .* is labelled"),
    (_set("index", 100_000), "drop", r"issues\[0\].index: row 100000, but the training split has 180 texts"),
])
def test_a_saved_audit_is_checked_issue_by_issue(saved_audit, tmp_path, change, action, message):
    """The digest says the audit was made on this data; every issue is also checked against the row it names."""
    root, audit = saved_audit
    edited = _edited(audit, tmp_path, change)
    result = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", action, "--label-issues-from",
                                 str(edited), "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert result.exit_code == 2 and re.search(message, result.output), result.output
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_cleaning_that_empties_labels_warns_or_refuses(saved_audit, tmp_path):
    root, audit = saved_audit
    corpus = load_dataset(DatasetConfig(data_dir=str(root)))
    train = corpus["train"]

    def flag_rows(keep_labels):
        def change(issues, data):
            issues[:] = [{"index": i, "text": t, "given": [LABELS[y]], "suggested": [LABELS[(y + 1) % len(LABELS)]],
                          "self_confidence": 0.1} for i, (t, y) in enumerate(zip(train.texts, train.labels))
                         if LABELS[y] not in keep_labels]
            data["label_issues"]["splits"]["train"]["flagged"] = len(issues)
        return change

    emptied = _edited(audit, tmp_path, flag_rows([l for l in LABELS if l != "fear"]), "emptied.json")
    result = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", "drop", "--label-issues-from",
                                 str(emptied), "-o", str(tmp_path / "runs"), "--name", "e", "-q"])
    assert result.exit_code == 0, result.output
    assert "took away every training text of fear: the model cannot learn it" in result.output
    data = json.loads((tmp_path / "runs" / "e" / "data.json").read_text())
    assert any("took away every training text of fear" in w for w in data["warnings"])
    one = _edited(audit, tmp_path, flag_rows(["joy"]), "one.json")
    refused = runner.invoke(app, ["train", "--data-dir", str(root), "--label-issues", "drop", "--label-issues-from",
                                  str(one), "-o", str(tmp_path / "runs"), "--name", "one", "-q"])
    assert refused.exit_code == 2 and "leaves one label (joy); a classifier needs at least two" in refused.output
    assert "Traceback" not in refused.output and not (tmp_path / "runs" / "one.partial").exists()


def test_a_cleaned_run_is_evaluated_and_exported_without_its_audit(saved_audit, tmp_path):
    """data.json holds the rows the audit flagged: the run is read again from it, the audit file is not needed."""
    root, audit = saved_audit
    result = runner.invoke(app, ["train", "--model", "lstm", "--set", "epochs=1", "--set", "hidden_size=4", "--set",
                                 "glove=none", "--data-dir", str(root), "--label-issues", "drop", "--label-issues-from",
                                 str(audit), "-o", str(tmp_path / "runs"), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    audit.unlink()
    again = runner.invoke(app, ["evaluate", str(tmp_path / "runs" / "r")])
    assert again.exit_code == 0 and "NOTE" not in again.output, again.output
    pytest.importorskip("onnxruntime")
    exported = runner.invoke(app, ["export", str(tmp_path / "runs" / "r"), "-o", str(tmp_path / "x")])
    assert exported.exit_code == 0, exported.output


def test_the_report_scores_every_model_without_the_flagged_test_texts(tmp_path, monkeypatch):
    import emobench.experiments.label_issues as label_issues

    monkeypatch.setattr(label_issues, "MANY_FLAGGED", 0.05)  # the report carries the audit's warnings
    root = write_emotion_folder(tmp_path / "data")
    test = tiny_examples(48, 3)
    rng = random.Random(3)
    flipped = set(rng.sample(range(48), 6))
    rows = [(t, rng.choice([l for l in LABELS if l != label]) if i in flipped else label) for i, (t, label) in enumerate(test)]
    (root / "emotion" / "test.txt").write_text("".join(f"{t};{l}\n" for t, l in rows), encoding="utf-8")
    result = runner.invoke(app, ["compare", "--models", "tfidf", "--data-dir", str(root), "-o", str(tmp_path), "--name", "c"])
    assert result.exit_code == 0, result.output
    assert "test texts flagged as likely mislabelled" in result.output
    report = (tmp_path / "c" / "report.md").read_text()
    assert "## Label noise in the test split" in report and "macro-F1, unflagged" in report
    assert "Warning: test:" in report and "tfidf, 5 folds out of fold (its own macro-F1 out of fold: 0." in report
    stats = json.loads((tmp_path / "c" / "statistics.json").read_text())["label_noise"]
    found = {e["index"] for e in stats["examples"]}
    assert stats["flagged"] >= 4 and found <= set(range(48)) and len(found & flipped) >= 3
    assert len(stats["warnings"]) == 1 and stats["warnings"][0].endswith("score with a stronger family")
    tfidf = next(s for s in stats["scores"] if s["name"] == "tfidf")
    assert tfidf["unflagged"]["accuracy"]["value"] > tfidf["all"]["accuracy"]["value"]
    # tfidf flagged them: its own family's score on the unflagged texts is favoured, and the report says so
    assert tfidf["flagger_kin"] and not any(s["flagger_kin"] for s in stats["scores"] if s["name"] != "tfidf")
    assert "Not a fair comparison for tfidf: the flags come from a model of the same family (tfidf)" in report
    assert "tfidf (the flagger's family)" in report
    rerendered = runner.invoke(app, ["report", str(tmp_path / "c")])
    assert rerendered.exit_code == 0 and "## Label noise in the test split" in (tmp_path / "c" / "report.md").read_text()


def test_folds_no_label_can_fill_are_a_clear_error():
    from emobench.data import Split
    from emobench.errors import EmobenchError
    from emobench.experiments.label_issues import _folds

    split = Split([f"text {i}" for i in range(24)], [i % 4 for i in range(24)])  # 6 texts a label
    assert sorted(np.concatenate(_folds(split, 4, 6, seed=0)).tolist()) == list(range(24))
    with pytest.raises(EmobenchError, match="no label has 10 texts .the most frequent has 6., so 10 stratified folds"):
        _folds(split, 4, 10, seed=0)
