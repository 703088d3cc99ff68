"""Comparisons and evaluations check what they reuse: configuration, data checksums and split."""
import json
import shutil

from typer.testing import CliRunner

from emobench.cli import app

runner = CliRunner()
LSTM = ["--set", "lstm.epochs=1", "--set", "lstm.hidden_size=4", "--set", "lstm.glove=none"]


def compare(tiny_root, out, *args):
    return runner.invoke(app, ["compare", "--data-dir", str(tiny_root), "-o", str(out), "--name", "study", "-q",
                               "--no-baselines", *args])


def tree(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_changed_configuration_is_never_reused(tiny_root, tmp_path):
    first = compare(tiny_root, tmp_path, "--models", "tfidf,lstm", *LSTM)
    assert first.exit_code == 0, first.output
    study = tmp_path / "study"
    recorded = json.loads((study / "comparison.json").read_text())
    assert recorded["runs"]["tfidf-s0"]["params"]["C"] == 0.2
    before = tree(study)

    again = compare(tiny_root, tmp_path, "--models", "tfidf,lstm", *LSTM)  # the same: reused
    assert again.exit_code == 0 and tree(study)["runs/tfidf-s0/metrics.json"] == before["runs/tfidf-s0/metrics.json"]

    changed = compare(tiny_root, tmp_path, "--models", "tfidf", "--set", "C=0.7")
    assert changed.exit_code == 2
    assert "tfidf-s0 was trained with another configuration" in changed.output and "params.C: 0.2 then, 0.7 now" in changed.output
    preset = compare(tiny_root, tmp_path, "--models", "lstm", "--preset", "paper", *LSTM)
    assert preset.exit_code == 2 and "params.architecture: 'pooled' then, 'paper' now" in preset.output
    assert {k: v for k, v in tree(study).items() if k.startswith("runs/")} == \
        {k: v for k, v in before.items() if k.startswith("runs/")}  # nothing touched

    retrained = runner.invoke(app, ["compare", "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "study",
                                    "--models", "tfidf", "--set", "C=0.7", "--retrain", "--no-baselines"])
    assert retrained.exit_code == 0, retrained.output
    assert "tfidf-s0: configuration or data changed (params.C: 0.2 then, 0.7 now); retraining" in retrained.output
    assert json.loads((study / "runs" / "tfidf-s0" / "config.json").read_text())["params"]["C"] == 0.7
    rows = json.loads((study / "results.json").read_text())["runs"]
    assert [r["model"] for r in rows] == ["tfidf"]


def test_changed_data_is_never_reused(tiny_root, tmp_path):
    assert compare(tiny_root, tmp_path, "--models", "tfidf").exit_code == 0
    data = tmp_path / "copy"
    shutil.copytree(tiny_root, data)
    with open(data / "emotion" / "train.txt", "a") as handle:
        handle.write("one more sad line;sadness\n")
    result = runner.invoke(app, ["compare", "--data-dir", str(data), "-o", str(tmp_path), "--name", "study", "--models", "tfidf", "-q"])
    assert result.exit_code == 2 and "train.txt: sha256" in result.output


def test_a_failed_compare_leaves_no_folder(tiny_root, tmp_path):
    for args in (["--models", "tfidf,nosuch"], ["--models", "tfidf", "--set", "C=-1"], ["--models", "tfidf", "--preset", "fast"]):
        result = compare(tiny_root, tmp_path / "out", *args)
        assert result.exit_code == 2, result.output
    assert not (tmp_path / "out").exists()


def test_evaluate_verifies_the_data_it_reads_again(tiny_root, tmp_path):
    assert runner.invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "r", "-q"]).exit_code == 0
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["dataset"]["data_dir"]
    assert recorded == str(tiny_root.resolve())  # stored resolved
    ok = runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--json", str(tmp_path / "m.json")])
    assert ok.exit_code == 0 and json.loads((tmp_path / "m.json").read_text())["data_verified"] is True
    moved = tmp_path / "moved"
    shutil.copytree(tiny_root, moved)
    assert runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--data-dir", str(moved)]).exit_code == 0  # same bytes elsewhere
    text = (moved / "emotion" / "test.txt").read_text().replace(";joy", ";anger", 1)
    (moved / "emotion" / "test.txt").write_text(text)
    refused = runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--data-dir", str(moved)])
    assert refused.exit_code == 2 and "the data differs from what the run was trained on: test.txt: sha256" in refused.output
    allowed = runner.invoke(app, ["evaluate", str(tmp_path / "r"), "--data-dir", str(moved), "--allow-changed-data",
                                  "--json", str(tmp_path / "n.json")])
    assert allowed.exit_code == 0 and "NOTE: the data differs" in allowed.output and "warning:" in allowed.output
    assert json.loads((tmp_path / "n.json").read_text())["data_changes"]


def test_resume_refuses_changed_data(tiny_root, tmp_path, monkeypatch):
    import emobench.training.loop as loop
    from emobench.data import DatasetConfig
    from emobench.errors import EmobenchError
    from emobench.experiments.run import RunConfig, train
    import pytest

    data = tmp_path / "copy"
    shutil.copytree(tiny_root, data)

    def stop(epoch):
        raise KeyboardInterrupt()

    monkeypatch.setattr(loop, "_after_epoch", stop)
    config = RunConfig(model="lstm", overrides={"epochs": "2", "hidden_size": "4", "glove": "none"}, output_dir=str(tmp_path),
                       name="r", dataset=DatasetConfig(name="emotion", data_dir=str(data)))
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    with open(data / "emotion" / "val.txt", "a") as handle:
        handle.write("extra;joy\n")
    with pytest.raises(EmobenchError, match="val.txt: sha256"):
        train(resume=tmp_path / "r.partial", progress=False)


def test_compared_runs_with_different_parameters_are_not_averaged(tiny_root, tmp_path):
    for name, c in (("a", "0.2"), ("b", "0.9")):
        assert runner.invoke(app, ["train", "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", name, "--set", f"C={c}", "-q"]).exit_code == 0
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "c"), "--name", "x"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "c" / "x" / "results.json").read_text())["runs"]
    assert [r["model"] for r in rows] == ["a", "b"]  # two models, not two seeds of "tfidf"
