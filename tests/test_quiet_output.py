"""Quiet, readable output: library messages never on standard output, no progress bars in logs, one line
per epoch, and commands that need no heavy library do not import one."""
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from emobench.cli import app


def run_cli(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "emobench.cli", *map(str, args)], capture_output=True, text=True, env=full_env)


def test_json_output_stays_parseable_whatever_libraries_print(tfidf_run, monkeypatch):
    runner = CliRunner()
    import emobench.models.tfidf as tfidf

    real = tfidf.TfidfClassifier._load_weights

    def chatty(self, folder, record):
        print("LOAD REPORT: some library talking on standard output")
        return real(self, folder, record)

    monkeypatch.setattr(tfidf.TfidfClassifier, "_load_weights", chatty)
    result = runner.invoke(app, ["predict", str(tfidf_run), "so sad", "so happy", "--json"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["label"] for line in lines)
    assert "LOAD REPORT" in result.stderr


@pytest.mark.slow
def test_a_log_file_gets_one_line_per_epoch_and_no_bars(tiny_root, tmp_path):
    args = ["train", "--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=8", "--data-dir", tiny_root, "-o", tmp_path]
    done = run_cli(*args, "--name", "a")  # output captured: not a terminal
    assert done.returncode == 0, done.stderr
    epochs = [line for line in done.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("val macro-F1" in line for line in epochs)
    assert "\r" not in done.stderr and "it/s" not in done.stderr and "█" not in done.stderr
    assert "Removed shared tensor" not in done.stderr + done.stdout
    quiet = run_cli(*args, "--name", "b", "-q")
    assert len([line for line in quiet.stderr.splitlines() if line.startswith("epoch ")]) == 3
    silent = run_cli("--log-level", "warning", *args, "--name", "c", "-q")
    assert silent.returncode == 0 and not [line for line in silent.stderr.splitlines() if line.startswith("epoch ")]


@pytest.mark.parametrize("family", ["setfit", "static"])
def test_the_peer_families_draw_no_bars_into_a_log_file(family, tiny_root, tiny_models, tmp_path):
    """SetFit's and model2vec's own progress bars, like emobench's: on a terminal only (a TweetEval comparison logged
    89 KB of SetFit's bars into a file)."""
    pytest.importorskip(family if family == "setfit" else "model2vec")
    steps = ["--set", "max_steps=4", "--set", "num_iterations=1"] if family == "setfit" else ["--set", "max_epochs=1"]
    done = run_cli("train", "--model", family, "--set", f"body={tiny_models['bert']}", *steps, "--data-dir", tiny_root,
                   "-o", tmp_path, "--name", family)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stderr and "it/s" not in done.stderr and "█" not in done.stderr, done.stderr[-2000:]


HEAVY = ("torch", "transformers", "sklearn", "matplotlib", "accelerate", "mlflow", "optuna")


def imported_by(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.slow
def test_commands_import_only_what_they_need(tiny_root, tmp_path):
    assert imported_by("import emobench, emobench.cli") == set()
    assert imported_by("from emobench.cli import app\nfrom typer.testing import CliRunner\nCliRunner().invoke(app, ['--help'])") == set()
    runner = CliRunner()
    for name, args in (("tfidf", []), ("lstm", ["--model", "lstm", "--set", "epochs=1", "--set", "hidden_size=4"])):
        assert runner.invoke(app, ["train", *args, "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", name, "-q"]).exit_code == 0
    predict = "from emobench.serving import Predictor\nPredictor({!r}).predict(['i feel happy'])"
    assert imported_by(predict.format(str(tmp_path / "tfidf"))) == {"sklearn"}
    assert imported_by(predict.format(str(tmp_path / "lstm"))) == {"torch"}


LIBRARIES_WARNINGS_MUST_SURVIVE = ("torch", "transformers", "accelerate", "sklearn.linear_model", "onnxruntime", "optuna",
                                   "mlflow", "ray", "setfit", "sentence_transformers", "model2vec", "model2vec.distill",
                                   "model2vec.train", "skeletoken", "fastapi", "datasets")


def test_no_library_turns_the_process_warnings_off():
    """emobench's loud warnings go through Python's warnings: a library that adds a blanket "ignore" filter when
    imported (cleanlab does; emobench imports it so that the filters are put back) would silence them for the rest of
    the process. Every library emobench imports, in one fresh process, in turn; then cleanlab through emobench."""
    script = ("import importlib, importlib.util, sys, warnings\n"
              "blanket = lambda: [f for f in warnings.filters if f[0] == 'ignore' and f[1] is None and f[3] is None\n"
              "                   and f[2] in (Warning, UserWarning)]\n"
              "for name in sys.argv[1:]:\n"
              "    if importlib.util.find_spec(name.split('.')[0]) is None:\n"
              "        continue\n"
              "    importlib.import_module(name)\n"
              "    assert not blanket(), (name, blanket())\n"
              "if importlib.util.find_spec('cleanlab'):\n"
              "    from emobench.experiments.label_issues import _cleanlab\n"
              "    _cleanlab()\n"
              "    assert not blanket(), ('cleanlab', blanket())\n"
              "print('checked')\n")
    done = subprocess.run([sys.executable, "-c", script, *LIBRARIES_WARNINGS_MUST_SURVIVE], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "checked" in done.stdout, done.stderr[-2000:]


def test_no_library_chatter_at_the_default_level(tfidf_run, tiny_root, tmp_path):
    """MLflow's INFO lines on creating its database, and scikit-learn's warning that a confusion matrix has one label
    (a transfer sharing one label with the run, whose matrix the labels given make right), show only at debug."""
    pytest.importorskip("mlflow")
    tracked = run_cli("train", "--model", "tfidf", "--data-dir", tiny_root, "-o", tmp_path / "runs", "--track", "mlflow",
                      "-q", env={"MLFLOW_TRACKING_URI": ""})
    assert tracked.returncode == 0, tracked.stderr
    assert "INFO" not in tracked.stderr and "mlflow" not in tracked.stderr.lower(), tracked.stderr
    one = tmp_path / "one.csv"
    one.write_text("text,label\n" + "".join(f"so very sad {i},sadness\nhello {i},greeting\n" for i in range(6)))
    scored = run_cli("evaluate", tfidf_run, "--dataset", one)  # one label shared with the run
    assert scored.returncode == 0, scored.stderr
    assert "A single label was found" not in scored.stderr, scored.stderr
