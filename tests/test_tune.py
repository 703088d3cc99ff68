"""`emobench tune`: Optuna TPE with pruning, resumable, validation only, the best trained as an ordinary run."""
import json

import optuna
import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import EmobenchError
from emobench.models.tfidf import TfidfClassifier
from emobench.experiments.tune import TuneConfig, tune

runner = CliRunner()


def config(tiny_root, tmp_path, **kwargs):
    values = dict(model="tfidf", dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)), trials=4,
                  output_dir=str(tmp_path), name="t")
    values.update(kwargs)
    return TuneConfig(**values)


def test_tune_never_reads_the_test_split_and_writes_a_run(tiny_root, tmp_path, monkeypatch):
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    seen, real = [], TfidfClassifier.logits
    monkeypatch.setattr(TfidfClassifier, "logits", lambda self, texts: (seen.append(("call", list(texts))), real(self, texts))[1])
    folder = tune(config(tiny_root, tmp_path), progress=False).folder
    trial_calls = seen[:4]  # one validation scoring per trial, then the final run
    assert all(texts == corpus["validation"].texts for _, texts in trial_calls)
    assert any(texts[: len(corpus["test"])] == corpus["test"].texts for _, texts in seen[4:])  # the final run only
    trials = json.loads((folder / "trials.json").read_text())["trials"]
    assert len(trials) == 4 and trials[0]["default"] and trials[0]["params"]["C"] == 0.2
    best = max((t for t in trials if t["state"] == "complete"), key=lambda t: t["val_macro_f1"])
    run = json.loads((folder / "best" / "config.json").read_text())
    assert run["params"]["C"] == pytest.approx(best["params"]["C"])
    metrics = json.loads((folder / "best" / "metrics.json").read_text())["splits"]
    assert metrics["validation"]["macro"]["f1"] == pytest.approx(best["val_macro_f1"])  # the same model again
    assert "test" in metrics and (folder / "summary.md").read_text().count("| ") > 4
    assert (folder / "importance.png").stat().st_size > 1000


def test_tune_resumes_its_study_and_refuses_another(tiny_root, tmp_path):
    tune(config(tiny_root, tmp_path, trials=2), progress=False)
    folder = tune(config(tiny_root, tmp_path, trials=5), progress=False).folder  # three more
    assert len(json.loads((folder / "trials.json").read_text())["trials"]) == 5
    study = optuna.load_study(study_name="emobench", storage=f"sqlite:///{folder / 'study.db'}")
    assert len(study.trials) == 5
    with pytest.raises(EmobenchError, match="tunes another configuration"):
        tune(config(tiny_root, tmp_path, overrides={"max_iter": 100}), progress=False)


def test_an_interrupted_trial_is_marked_failed_and_not_counted(tiny_root, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    study = optuna.create_study(study_name="emobench", storage=f"sqlite:///{folder / 'study.db'}", direction="maximize")
    study.ask()  # a trial left RUNNING, as by a kill
    cfg = config(tiny_root, tmp_path, trials=2)
    from emobench.experiments.tune import plan

    _, space, _ = plan(config(tiny_root, tmp_path, trials=2, name="scratch"))
    asked = {**cfg.to_dict(), "dataset": cfg.dataset.resolved().to_dict(), "space": space}
    for key in ("trials", "timeout", "output_dir", "name"):
        asked.pop(key)
    (folder / "tune.json").write_text(json.dumps(asked))
    tune(cfg, progress=False)
    states = [t["state"] for t in json.loads((folder / "trials.json").read_text())["trials"]]
    assert states.count("fail") == 1 and states.count("complete") == 2


def test_epochs_are_reported_and_pruned_trials_stop_early(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: self.number >= 1)
    cfg = config(tiny_root, tmp_path, model="lstm", trials=3, overrides={"epochs": 4, "hidden_size": 8, "glove": "none"},
                 space={"learning_rate": ["float-log", 1e-3, 1e-2]})
    folder = tune(cfg, progress=False).folder
    trials = json.loads((folder / "trials.json").read_text())["trials"]
    assert [t["state"] for t in trials] == ["complete", "pruned", "pruned"]
    study = optuna.load_study(study_name="emobench", storage=f"sqlite:///{folder / 'study.db'}")
    assert sorted(study.trials[0].intermediate_values) == [1, 2, 3, 4]
    assert sorted(study.trials[1].intermediate_values) == [1]  # stopped after its first epoch
    assert not (folder / "trials").exists()  # trial checkpoints cleaned up


def test_tune_command_and_bad_spaces(tiny_root, tmp_path):
    result = runner.invoke(app, ["tune", "--model", "tfidf", "--trials", "2", "--data-dir", str(tiny_root), "-o", str(tmp_path),
                                 "--name", "c", "--space", "C=0.1:1:log", "-q"])
    assert result.exit_code == 0, result.output
    assert "best configuration trained as" in result.output
    for args, message in ((["--space", "C=1:0.1"], "expected low < high"), (["--space", "nope=1:2"], "expected name=low:high"),
                          (["--space", "C=-1:2:log"], "low > 0 for log"), (["--trials", "0"], "--trials 0: expected an integer from 1 to 100,000"),
                          (["--space", "classifier=svm,forest"], "parameter classifier='forest'"),
                          (["--timeout", "-5"], "--timeout -5: expected seconds > 0")):
        result = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(tiny_root), "-o", str(tmp_path / "bad"), *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert not (tmp_path / "bad").exists()


def test_failing_trials_empty_choices_and_multi_label_tuning(tiny_root, tmp_path):
    result = runner.invoke(app, ["tune", "--model", "tfidf", "--trials", "3", "--data-dir", str(tiny_root), "-o", str(tmp_path),
                                 "--name", "f", "--space", "min_df_char=5000,2", "--space", "word_ngram_max=1", "-q"])
    assert result.exit_code == 0, result.output
    trials = json.loads((tmp_path / "f" / "trials.json").read_text())["trials"]
    failed = [t for t in trials if t["state"] == "fail"]
    assert failed and all(t["params"]["min_df_char"] == 5000 for t in failed)  # recorded as failed, the study went on
    assert "leave no feature with these parameters" in result.output
    for spec in ("C=,", "classifier=", "C= , "):
        bad = runner.invoke(app, ["tune", "--model", "tfidf", "--space", spec, "--data-dir", str(tiny_root), "-o",
                                  str(tmp_path / "bad")])
        assert bad.exit_code == 2 and "no choices" in bad.output, (spec, bad.output)
    import random

    rng = random.Random(0)
    words = {"joy": ["happy", "glad"], "anger": ["angry", "mad"], "fear": ["scared", "afraid"]}
    for split, n in (("train", 90), ("validation", 30), ("test", 30)):
        rows = []
        for i in range(n):
            labels = sorted({list(words)[i % 3], list(words)[rng.randrange(3)]})
            rows.append(json.dumps({"text": "i am " + " and ".join(rng.choice(words[label]) for label in labels),
                                    "label": labels}))
        (tmp_path / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["tune", "--model", "tfidf", "--trials", "2", "--train-file", str(tmp_path / "train.jsonl"),
                                 "--validation-file", str(tmp_path / "validation.jsonl"), "--test-file",
                                 str(tmp_path / "test.jsonl"), "-o", str(tmp_path), "--name", "ml", "-q"])
    assert result.exit_code == 0, result.output
    assert all(t["state"] == "complete" for t in json.loads((tmp_path / "ml" / "trials.json").read_text())["trials"])


@pytest.mark.slow
def test_processes_share_one_study_through_a_storage_url(shared_root, tmp_path):
    """Two processes, each with its own folder, reach one study of 5 trials; asking for another space is refused."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    base = [sys.executable, "-m", "emobench.cli", "tune", "--model", "tfidf", "--data-dir", str(shared_root), "--name",
            "joint", "--storage", url, "--space", "C=0.05:5:log", "-q"]
    first = subprocess.run([*base, "--trials", "3", "-o", str(tmp_path / "a")], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([*base, "--trials", "5", "-o", str(tmp_path / "b")], capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    study = optuna.load_study(study_name="joint", storage=url)
    assert len(study.trials) == 5
    owners = [t.user_attrs["emobench_folder"] for t in study.trials]
    assert owners.count(str((tmp_path / "a" / "joint").resolve())) == 3 and len(set(owners)) == 2
    recorded = json.loads((tmp_path / "b" / "joint" / "tune.json").read_text())
    assert recorded["storage"] == url and recorded["study"] == "joint"
    other = subprocess.run([*base[:-3], "--space", "C=0.1:1", "-q", "--trials", "6", "-o", str(tmp_path / "c")],
                           capture_output=True, text=True, timeout=600)
    assert other.returncode == 2 and "tunes another configuration (space differ)" in other.stderr
    assert not (tmp_path / "c" / "joint" / "best").exists()


def test_storage_urls_are_checked_before_any_work(shared_root, tmp_path):
    for args, message in ((["--storage", "not a url"], "not a database URL"),
                          (["--storage", "redis://localhost/0"], "'redis' is not a database"),
                          (["--storage", "sqlite://"], "in-memory SQLite"),
                          (["--storage", f"sqlite:///{tmp_path / 'x.db'}"], "--storage needs --name")):
        name = [] if "needs" in message else ["--name", "s"]
        result = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "o"),
                                     *name, *args])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "o").exists()
    hidden = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "o"),
                                 "--name", "s", "--storage", "postgresql://me:secret@127.0.0.1:9/db", "--trials", "1"])
    assert hidden.exit_code == 2 and "secret" not in hidden.output and "***" in hidden.output, hidden.output


def test_a_study_with_pruned_trials_continues(tiny_root, tmp_path, monkeypatch):
    """Optuna keeps a pruned trial's last reported value; the ledger records the same, so a rerun continues the study
    (it was refused as tampered when the ledger said None)."""
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: self.number >= 1)
    cfg = config(tiny_root, tmp_path, model="lstm", trials=2, overrides={"epochs": 2, "hidden_size": 4, "glove": "none"},
                 space={"learning_rate": ["float-log", 1e-3, 1e-2]})
    folder = tune(cfg, progress=False).folder
    ledger = json.loads((folder / "ledger.json").read_text())["trials"]
    assert ledger[1]["state"] == "pruned" and ledger[1]["value"] is not None
    folder = tune(config(tiny_root, tmp_path, model="lstm", trials=3, overrides=cfg.overrides, space=cfg.space),
                  progress=False).folder
    assert [t["state"] for t in json.loads((folder / "trials.json").read_text())["trials"]] == ["complete", "pruned", "pruned"]
    # a ledger written before 0.3 (a pruned trial's value left out) still continues
    old = json.loads((folder / "ledger.json").read_text())
    for entry in old["trials"]:
        if entry["state"] == "pruned":
            entry["value"] = None
    (folder / "ledger.json").write_text(json.dumps(old))
    again = tune(config(tiny_root, tmp_path, model="lstm", trials=3, overrides=cfg.overrides, space=cfg.space),
                 progress=False, allow_modified=True)
    assert len(again.trials.trials) == 3


def test_a_folder_another_process_is_tuning_is_named_as_such(tiny_root, tmp_path):
    """Two identical commands at once: the second finds the first's lock, and says who holds it."""
    import os
    import socket

    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "LOCK").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}))
    with pytest.raises(EmobenchError, match=f"is being tuned by process {os.getpid()}"):
        tune(config(tiny_root, tmp_path), progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["LOCK"]  # the other process's folder is left alone


def test_a_storage_that_cannot_be_used_leaves_no_folder(shared_root, tmp_path):
    for url, message in ((f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}", "does not exist"),
                         ("postgresql://me:secret@127.0.0.1:9/db", "cannot connect to the database"),
                         ("postgresql+pg8000://me:secret@127.0.0.1:9/db", "driver is not installed (pg8000); pip install pg8000"),
                         ("mysql://me@127.0.0.1:9/db", "driver is not installed")):
        result = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(shared_root), "-o", str(tmp_path / "o"),
                                     "--name", "s", "--storage", url, "--trials", "1"])
        assert result.exit_code == 2 and message in result.output and "secret" not in result.output, result.output
        assert not (tmp_path / "o").exists()


def test_a_shared_study_refuses_other_data_under_the_same_name(tiny_root, tmp_path):
    """Processes are compared by what their trials see (labels, digests of the training and validation splits), not by
    the dataset's name: the same name with other texts is another study."""
    from conftest import write_emotion_folder

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    tune(config(tiny_root, tmp_path / "a", trials=1, storage=url, name="joint"), progress=False)
    other = write_emotion_folder(tmp_path / "other", sizes=(150, 40, 40))
    with pytest.raises(EmobenchError, match="the training or validation texts or labels differ"):
        tune(config(other, tmp_path / "b", trials=2, storage=url, name="joint"), progress=False)
    assert not (tmp_path / "b" / "joint").exists()
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(tiny_root, moved)  # the same files elsewhere: the same study
    record = tune(config(moved, tmp_path / "c", trials=2, storage=url, name="joint"), progress=False)
    assert len(record.trials.trials) == 2  # the study holds both processes' trials


def test_a_trial_past_the_shared_limit_is_not_run(tmp_path):
    from emobench.experiments.tune_trials import TrialFailed, check_not_surplus

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", direction="maximize")
    for _ in range(3):
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    study.ask()  # another process's trial, still running: with it the study holds 4
    study.optimize(lambda trial: check_not_surplus(trial, 4) or 1.0, n_trials=3, catch=(TrialFailed,))
    added = study.trials[4:]
    assert len(added) == 1 and added[0].state == optuna.trial.TrialState.FAIL  # not run, and the process stopped
    assert added[0].user_attrs.get("surplus") is True
    study.optimize(lambda trial: check_not_surplus(trial, 6) or 1.0, n_trials=5, catch=(TrialFailed,))
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 5  # 3 + 2 more: with the running one, 6


def test_a_storage_inside_a_finished_folder_is_refused(tfidf_run, tiny_root, tmp_path):
    """A database written into a run's model folder left the run unusable (its manifest refused the new file)."""
    result = runner.invoke(app, ["tune", "--model", "tfidf", "--data-dir", str(tiny_root), "-o", str(tmp_path / "o"),
                                 "--name", "s", "--storage", f"sqlite:///{tfidf_run / 'model' / 'y.db'}"])
    assert result.exit_code == 2 and "--storage" in result.output and "a folder emobench wrote" in result.output
    assert not (tfidf_run / "model" / "y.db").exists()


@pytest.mark.slow
def test_two_processes_create_one_shared_study_at_once(shared_root, tmp_path):
    """Both join: the one that loses the race to create the study's tables retries (it stopped with an
    IntegrityError or 'table studies already exists')."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'new.db'}"
    command = [sys.executable, "-m", "emobench.cli", "tune", "--model", "tfidf", "--data-dir", str(shared_root), "--name",
               "race", "--storage", url, "--trials", "4", "-q"]
    processes = [subprocess.Popen([*command, "-o", str(tmp_path / str(i))], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    study = optuna.load_study(study_name="race", storage=url)
    assert len([t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]) == 4
