"""Experiment tracking through Accelerate's trackers, read back from MLflow's local store and TensorBoard's event files."""
import json

import pytest
from typer.testing import CliRunner

from emobench.cli import app

runner = CliRunner()
LSTM = ["--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=8", "--set", "glove=none"]


def mlflow_runs(uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = client.search_experiments()
    runs = [r for e in experiments for r in client.search_runs([e.experiment_id])]
    return client, experiments, runs


def test_train_tracked_in_mlflow(tiny_root, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "runs"
    result = runner.invoke(app, ["train", *LSTM, "--data-dir", str(tiny_root), "-o", str(out), "--name", "r", "--track", "mlflow", "-q"])
    assert result.exit_code == 0, result.output
    client, experiments, runs = mlflow_runs(f"sqlite:///{out / 'tracking' / 'mlflow.db'}")
    assert [e.name for e in experiments if e.name != "Default"] == ["emobench"] and len(runs) == 1
    run = runs[0]
    assert run.info.run_name == "r" and run.info.status == "FINISHED"
    assert run.data.params["model"] == "lstm" and run.data.params["params.hidden_size"] == "8"
    assert run.data.params["dataset.name"] == "emotion"
    history = client.get_metric_history(run.info.run_id, "val_macro_f1")
    recorded = json.loads((out / "r" / "history.json").read_text())
    assert [m.step for m in history][:3] == [1, 2, 3]
    assert [round(m.value, 6) for m in history][:3] == [round(h["val_macro_f1"], 6) for h in recorded]
    final = json.loads((out / "r" / "metrics.json").read_text())["splits"]["test"]
    assert run.data.metrics["final.test.accuracy"] == pytest.approx(final["accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "run")}
    assert {"run/metrics.json", "run/config.json", "run/model"} <= artifacts


def test_mlflow_file_store_when_asked(tiny_root, tmp_path, monkeypatch):
    """MLFLOW_TRACKING_URI is honoured, the plain file store included (MLflow 3 needs MLFLOW_ALLOW_FILE_STORE)."""
    store = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    result = runner.invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(tmp_path / "runs"), "--name", "t",
                                 "--track", "mlflow", "-q"])
    assert result.exit_code == 0, result.output
    _, _, runs = mlflow_runs(store.as_uri())
    assert len(runs) == 1 and runs[0].data.params["params.C"] == "0.2" and "final.test.macro.f1" in runs[0].data.metrics
    assert any(store.rglob("meta.yaml"))


def test_tensorboard_event_files(tiny_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "runs"
    result = runner.invoke(app, ["train", *LSTM, "--data-dir", str(tiny_root), "-o", str(out), "--name", "r",
                                 "--track", "tensorboard", "-q"])
    assert result.exit_code == 0, result.output
    folder = next((out / "tracking" / "tensorboard").rglob("events.out.tfevents.*")).parent
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0}).Reload()
    scalars = events.Tags()["scalars"]
    assert "val_macro_f1" in scalars and "train_loss" in scalars and "final.test.accuracy" in scalars
    assert [e.step for e in events.Scalars("val_macro_f1")] == [1, 2, 3]
    texts = events.Tags()["tensors"]
    assert any("run_directory" in t for t in texts)


def test_compare_tracks_every_run_and_the_report(tiny_root, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = runner.invoke(app, ["compare", "--models", "tfidf,lstm", "--no-baselines", "--set", "lstm.epochs=2", "--set", "lstm.glove=none",
                                 "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "c", "--track", "mlflow", "-q"])
    assert result.exit_code == 0, result.output
    client, _, runs = mlflow_runs(f"sqlite:///{tmp_path / 'c' / 'tracking' / 'mlflow.db'}")
    by_name = {r.info.run_name: r for r in runs}
    assert set(by_name) == {"tfidf-s0", "lstm-s0", "report"}
    report = {a.path for a in client.list_artifacts(by_name["report"].info.run_id)}
    assert {"report.md", "report.html", "results.json"} <= report
    assert "tfidf.s0.macro_f1" in by_name["report"].data.metrics


def test_unknown_tracker_is_refused_before_work(tiny_root, tmp_path):
    result = runner.invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(tmp_path / "r"), "--track", "wandb"])
    assert result.exit_code == 2 and "--track 'wandb': expected one of mlflow, tensorboard" in result.output
    assert not (tmp_path / "r").exists()


def test_an_unreachable_or_bogus_tracking_target_is_refused_before_training(tiny_root, tmp_path):
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    started = time.time()
    result = CliRunner().invoke(app, ["train", "--track", "mlflow", "--data-dir", str(tiny_root), "-o", str(tmp_path / "runs"),
                                      "--name", "r", "-q"], env={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"})
    assert result.exit_code == 2 and "the tracking server does not answer" in result.output
    assert time.time() - started < 30 and not (tmp_path / "runs").exists()  # nothing claimed, the name stays free
    result = CliRunner().invoke(app, ["train", "--track", "mlflow", "--data-dir", str(tiny_root), "-o", str(tmp_path / "runs"),
                                      "--name", "r", "-q"], env={"MLFLOW_TRACKING_URI": "bogus://somewhere"})
    assert result.exit_code == 2 and "unknown scheme 'bogus'" in result.output and not (tmp_path / "runs").exists()
