"""Run directories have one owner, are never clobbered, and survive a kill at any instant."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import emobench.training.checkpoint as checkpoint
import emobench.training.loop as loop
from emobench.cli import app
from emobench.data import DatasetConfig
from emobench.errors import EmobenchError
from emobench.claims import Lock
from emobench.files import LOCK_FILE
from emobench.records.checkpoint import CheckpointState
from emobench.experiments.run import RunConfig, default_run_name, train

LSTM = ["--set", "epochs=3", "--set", "hidden_size=8", "--set", "glove=none", "--set", "batch_size=16"]


def cli(*args):
    return [sys.executable, "-m", "emobench.cli", *map(str, args)]


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.slow
def test_two_parallel_trains_with_one_name_never_share_a_run(tiny_root, tmp_path):
    """Started together, one claims the name and the other refuses; the finished run is the winner's."""
    out = tmp_path / "runs"
    args = {"tfidf": ["--model", "tfidf"], "lstm": ["--model", "lstm", *LSTM]}
    procs = {name: subprocess.Popen(cli("train", *a, "--data-dir", tiny_root, "-o", out, "--name", "same", "-q"),
                                    env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name, a in args.items()}
    results = {name: (p.wait(timeout=300), p.stdout.read()) for name, p in procs.items()}
    winners = [name for name, (code, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    loser = next(name for name in results if name not in winners)
    code, output = results[loser]
    assert code == 2 and "Traceback" not in output
    assert "same" in output and ("already exists" in output or "being trained by process" in output
                                 or "holds an unfinished run" in output), output
    config = json.loads((out / "same" / "config.json").read_text())
    assert config["model"] == winners[0]
    info = json.loads((out / "same" / "metrics.json").read_text())["model_info"]
    assert ("features" in info) == (winners[0] == "tfidf")  # the metrics belong to the model in config.json
    assert sorted(p.name for p in out.iterdir()) == ["same"]


@pytest.mark.slow
def test_parallel_trains_without_a_name_get_distinct_runs(tiny_root, tmp_path):
    out = tmp_path / "runs"
    procs = [subprocess.Popen(cli("train", "--model", "tfidf", "--data-dir", tiny_root, "-o", out, "-q"), env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0], [p.stdout.read() for p in procs]
    runs = sorted(p.name for p in out.iterdir())
    assert len(runs) == 3 and not any(r.endswith(".partial") for r in runs)
    names = {default_run_name(RunConfig()) for _ in range(200)}
    assert len(names) == 200  # unique within one second


@pytest.mark.slow
def test_a_live_owner_keeps_its_run(tiny_root, tmp_path):
    """While one process trains, a second with the same name refuses and names the owner."""
    out = tmp_path / "runs"
    first = subprocess.Popen(cli("train", "--model", "lstm", *LSTM[2:], "--set", "epochs=30", "--data-dir", tiny_root, "-o", out,
                                 "--name", "busy", "-q"), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lock = out / "busy.partial" / LOCK_FILE
        for _ in range(600):
            if lock.is_file():
                break
            time.sleep(0.05)
        assert lock.is_file(), first.communicate(timeout=60)[0] if first.poll() is not None else "no lock after 30 s"
        second = CliRunner().invoke(app, ["train", "--model", "tfidf", "--data-dir", str(tiny_root), "-o", str(out),
                                          "--name", "busy", "-q"])
        assert second.exit_code == 2 and f"being trained by process {first.pid}" in second.output
        resumed = CliRunner().invoke(app, ["train", "--resume", str(out / "busy.partial")])
        assert resumed.exit_code == 2 and "is being trained by process" in resumed.output
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    assert first.returncode == 143  # SIGTERM: the lock is released, the unfinished run kept
    assert not lock.exists() and (out / "busy.partial" / "config.json").is_file()


def test_resume_refuses_a_finished_run_and_touches_nothing(tiny_root, tmp_path):
    out = tmp_path / "runs"
    assert CliRunner().invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(out), "--name", "done", "-q"]).exit_code == 0
    before = snapshot(out)
    for target in (out / "done", out / "done.partial"):
        result = CliRunner().invoke(app, ["train", "--resume", str(target)])
        assert result.exit_code == 2
        assert "is a finished run; there is nothing to resume" in result.output or "not an unfinished run" in result.output
    assert snapshot(out) == before


def test_stale_lock_is_explained_and_taken_over_by_resume(tiny_root, tmp_path):
    config = RunConfig(model="lstm", seed=1, overrides={"epochs": "2", "hidden_size": "8", "glove": "none"}, output_dir=str(tmp_path),
                       name="r", dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)))

    def stop(epoch):
        raise KeyboardInterrupt()

    loop._after_epoch, original = stop, loop._after_epoch
    try:
        with pytest.raises(KeyboardInterrupt):
            train(config, progress=False)
    finally:
        loop._after_epoch = original
    partial = tmp_path / "r.partial"
    assert not (partial / LOCK_FILE).exists()  # released on the way out
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (partial / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename, "started": "t"}))
    with pytest.raises(EmobenchError, match="holds an unfinished run; resume it"):
        train(config, progress=False)
    with pytest.raises(EmobenchError, match="stale lock of process"):
        Lock.of(partial).acquire()
    with pytest.warns(UserWarning, match="took over the stale lock"):
        final = train(resume=partial, progress=False).folder
    assert (final / "metrics.json").is_file() and not (final / LOCK_FILE).exists()


class Crash(Exception):
    pass


def _straight_and_crashed(tiny_root, tmp_path, monkeypatch, crash_point):
    def config(name):
        return RunConfig(model="lstm", seed=3, overrides={"epochs": "3", "hidden_size": "8", "learning_rate": "0.01"},
                         output_dir=str(tmp_path), name=name, dataset=DatasetConfig(name="emotion", data_dir=str(tiny_root)))

    straight = train(config("straight"), progress=False).folder
    crash_point(monkeypatch)
    with pytest.raises(Crash):
        train(config("crashed"), progress=False)
    monkeypatch.undo()
    resumed = train(resume=tmp_path / "crashed.partial", progress=False).folder
    for name in ("metrics.json", "history.json"):
        a, b = json.loads((straight / name).read_text()), json.loads((resumed / name).read_text())
        if name == "metrics.json":
            a, b = a["splits"], b["splits"]
            for split in a.values():
                split.pop("eval_seconds"), split.pop("examples_per_second")
            for split in b.values():
                split.pop("eval_seconds"), split.pop("examples_per_second")
        else:
            a, b = [{k: v for k, v in h.items() if "seconds" not in k} for h in a], [{k: v for k, v in h.items() if "seconds" not in k} for h in b]
        assert a == b, name
    assert (straight / "predictions" / "test.csv").read_text() == (resumed / "predictions" / "test.csv").read_text()


def _crash_on_epoch(function, epoch):
    def point(monkeypatch):
        real = getattr(checkpoint, function)

        def crashing(*args, **kwargs):
            if function == "commit" and args[1] == epoch:
                raise Crash()
            if function == "write_part" and f"ckpt-{epoch:04d}" in str(args[0]):
                real(*args, **kwargs)
                raise Crash()
            if function == "save_weights" and f"best-{epoch:04d}" in str(args[1]):
                real(*args, **kwargs)
                raise Crash()
            return real(*args, **kwargs)

        monkeypatch.setattr(checkpoint, function, crashing)
    return point


@pytest.mark.parametrize("point", [("write_part", 2), ("commit", 2), ("save_weights", 1), ("write_part", 1)])
def test_a_crash_at_any_checkpoint_step_resumes_exactly(tiny_root, tmp_path, monkeypatch, point):
    _straight_and_crashed(tiny_root, tmp_path, monkeypatch, _crash_on_epoch(*point))


def test_commit_replaces_the_previous_checkpoint_atomically(tmp_path):
    """Between any two steps of a commit there is a complete checkpoint on disk."""
    work = tmp_path / "ck"
    work.mkdir()
    for epoch in (1, 2):
        checkpoint.write_part(work / f"ckpt-{epoch:04d}.tmp", {"w": __import__("torch").ones(2) * epoch}, {"state": {}, "param_groups": []}, 0)
        assert checkpoint.latest(work) == (work / "ckpt-0001" if epoch == 2 else None)
        checkpoint.commit(work, epoch, CheckpointState(epoch=epoch, best_file=None, history=[]))
        assert checkpoint.latest(work) == work / f"ckpt-{epoch:04d}"
    assert sorted(p.name for p in work.iterdir()) == ["ckpt-0002"]


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_resumable_run(tiny_root, tmp_path):
    """Real kills (SIGKILL) during training; every resume continues and the result equals an uninterrupted run."""
    out = tmp_path / "runs"
    base = ["--model", "lstm", "--set", "epochs=6", "--set", "hidden_size=8", "--set", "glove=none", "--seed", "5",
            "--data-dir", tiny_root, "-o", out, "-q"]
    assert subprocess.run(cli("train", *base, "--name", "straight"), env=env(), capture_output=True).returncode == 0
    proc = subprocess.Popen(cli("train", *base, "--name", "killed"), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kills = 0
    for _ in range(1200):  # the first kill once the run folder is claimed
        if (out / "killed.partial" / "config.json").is_file():
            break
        time.sleep(0.05)
    for delay in (0.4, 1.7, 1.1):
        time.sleep(delay)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        assert (out / "killed.partial" / "config.json").is_file()
        proc = subprocess.Popen(cli("train", "--resume", out / "killed.partial", "-q"), env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.wait(timeout=300) == 0
    assert kills >= 1
    a = json.loads((out / "straight" / "metrics.json").read_text())["splits"]["test"]
    b = json.loads((out / "killed" / "metrics.json").read_text())["splits"]["test"]
    assert a["confusion_matrix"] == b["confusion_matrix"] and a["accuracy"] == b["accuracy"]
