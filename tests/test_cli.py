import json

from typer.testing import CliRunner

from emobench.cli import app
from emobench.serving import Predictor

runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def test_train_evaluate_predict_end_to_end(tiny_root, tmp_path):
    out = tmp_path / "runs"
    result = invoke("train", "--model", "tfidf", "--dataset", "emotion", "--data-dir", tiny_root, "-o", out,
                    "--name", "r1", "--set", "C=1.0", "--quiet")
    assert result.exit_code == 0, result.output
    run = out / "r1"
    for name in ("config.json", "environment.json", "data.json", "metrics.json", "model/emobench_model.json",
                 "predictions/test.csv", "predictions/validation.csv"):
        assert (run / name).is_file(), name
    assert not list(out.glob("*.partial"))
    config = json.loads((run / "config.json").read_text())
    assert config["params"]["C"] == 1.0 and config["seed"] == 0 and config["family"] == "tfidf"
    data = json.loads((run / "data.json").read_text())
    assert len(data["source"]["files"]) == 3 and all(len(v) == 64 for v in data["source"]["files"].values())
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["splits"]["test"]["accuracy"] > 0.9  # the tiny data is separable by its emotion words
    assert len((run / "predictions/test.csv").read_text().splitlines()) == 49

    result = invoke("evaluate", run, "--split", "validation", "--data-dir", tiny_root)
    assert result.exit_code == 0, result.output
    assert "macro avg" in result.output and "weighted avg" in result.output

    test_file = tiny_root / "emotion" / "test.txt"
    result = invoke("evaluate", run, "--data", test_file, "--json", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["accuracy"] == metrics["splits"]["test"]["accuracy"]

    result = invoke("predict", run, "i feel so furious and angry", "--json")
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert line["label"] == "anger" and abs(sum(line["probabilities"].values()) - 1) < 1e-6
    assert Predictor(run).predict(["i am terrified and scared"])[0].label == "fear"

    # Same seed, same machine: same metrics.
    result = invoke("train", "--model", "tfidf", "--data-dir", tiny_root, "-o", out, "--name", "r2", "--set", "C=1.0", "-q")
    assert json.loads((out / "r2" / "metrics.json").read_text())["splits"]["test"]["accuracy"] == metrics["splits"]["test"]["accuracy"]

    result = invoke("train", "--model", "tfidf", "--data-dir", tiny_root, "-o", out, "--name", "r1", "-q")
    assert result.exit_code == 2 and "already exists" in result.output


def test_audit_json(tiny_root, tmp_path):
    result = invoke("data", "audit", "emotion", "--data-dir", tiny_root, "--json", tmp_path / "a.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["splits"]["train"]["size"] == 180
    assert set(report["leakage"]) == {"train&validation", "train&test", "validation&test"}


def test_bad_input_is_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,joy\n,anger\n")
    result = invoke("train", "--model", "tfidf", "--dataset", bad, "-o", tmp_path / "runs", "-q")
    assert result.exit_code == 2
    assert "bad.csv, line 3: empty text" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

    result = invoke("train", "--model", "nosuchmodel", "-o", tmp_path / "runs", "-q")
    assert result.exit_code == 2 and "unknown model 'nosuchmodel'" in result.output
    result = invoke("train", "--set", "nonsense", "-o", tmp_path / "runs", "-q")
    assert result.exit_code == 2 and "expected key=value" in result.output
    result = invoke("predict", tmp_path, "hello")
    assert result.exit_code == 2 and "no saved emobench model" in result.output


def test_many_labels_predict_table_and_no_validation_split(tmp_path):
    """Twelve labels: the table shows the three most probable per text; a run without a validation split says
    loudly (and records) that temperature scaling was skipped."""
    import csv

    words = [f"word{k}" for k in range(12)]
    path = tmp_path / "twelve.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(12 * 12):
            writer.writerow([f"this is about {words[i % 12]} mostly", f"label{i % 12}"])
    result = invoke("train", "--train-file", path, "-o", tmp_path / "runs", "--name", "r", "-q")
    assert result.exit_code == 0, result.output
    assert "no validation split: temperature scaling is skipped" in result.output
    meta = json.loads((tmp_path / "runs" / "r" / "model" / "emobench_model.json").read_text())
    assert any("no validation split" in w for w in meta["info"]["warnings"]) and meta["temperature"] == 1.0
    shown = invoke("predict", tmp_path / "runs" / "r", "this is about word3 mostly", env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "top 3" in shown.output and "label3 " in shown.output
    assert "label11" not in shown.output.split("(the 3 most")[0].split("top 3")[0]  # no column per label
    assert "the 3 most probable of 12 labels" in shown.output
