"""Issue 27: every default is sound on small data. The LSTM's epochs are a maximum under early stopping, and a run whose
validation score still rises at its last epoch says so (every torch family, through the one loop); the static family
weights its classes like the others and records its one-time distillation apart from the training time; the thread
count, and so the metrics, do not depend on the machine's load."""
import json
import time as real_time
import types

import numpy as np
import pytest
from typer.testing import CliRunner

import emobench.training.loop as loop
from emobench import environment
from emobench.cli import app
from emobench.models import resolve
from emobench.records.run import EpochRecord
from emobench.training.loop import still_rising

runner = CliRunner()
TINY_LSTM = ["--set", "hidden_size=8", "--set", "batch_size=32", "--set", "learning_rate=0.01"]


def scripted_scores(monkeypatch, macro_f1s):
    """The loop's validation scores as computed, with macro-F1 replaced epoch by epoch: whether the score rose is then
    the test's choice, not the CPU's."""
    real, epoch = loop._validation_scores, iter(macro_f1s)

    def scores(logits, labels):
        return {**real(logits, labels), "val_macro_f1": next(epoch)}

    monkeypatch.setattr(loop, "_validation_scores", scores)


# ---------------------------------------------------------------- epochs and the still-rising warning


def test_lstm_epochs_are_a_maximum_with_early_stopping_and_the_paper_preset_is_the_papers():
    lstm = resolve("lstm").params
    assert lstm.epochs >= 30 and lstm.patience >= 1  # 8 stopped a small dataset while it was still learning
    paper = resolve("lstm-paper").params
    assert (paper.epochs, paper.patience, paper.batch_size, paper.learning_rate) == (10, 2, 32, 1e-3)


def test_still_rising_is_said_only_when_the_last_epoch_is_the_best_and_training_was_not_stopped():
    def history(*scores):
        return [EpochRecord(epoch=i + 1, train_loss=1.0, val_macro_f1=s) for i, s in enumerate(scores)]

    said = still_rising(history(0.2, 0.4, 0.5), "macro_f1", 3)
    assert said and "still rising at the last epoch (3 of 3)" in said and "epochs=N" in said
    assert still_rising(history(0.2, 0.5, 0.5), "macro_f1", 3) is None  # level: not rising
    assert still_rising(history(0.2, 0.5, 0.4), "macro_f1", 3) is None  # past its best
    assert still_rising(history(0.2, 0.4, 0.5), "macro_f1", 5) is None  # stopped early by patience
    assert still_rising(history(0.5), "macro_f1", 1) is None  # one epoch: nothing to compare
    assert still_rising([EpochRecord(epoch=1, train_loss=2.0), EpochRecord(epoch=2, train_loss=1.0)], "macro_f1", 2) is None


def test_an_lstm_still_rising_at_its_last_epoch_is_warned_and_recorded(tiny_root, tmp_path, monkeypatch):
    scripted_scores(monkeypatch, [0.2, 0.4, 0.6])
    result = runner.invoke(app, ["train", "--model", "lstm", *TINY_LSTM, "--set", "epochs=3", "--data-dir", str(tiny_root),
                                 "-o", str(tmp_path), "--name", "rising", "-q"])
    assert result.exit_code == 0, result.output
    assert "still rising at the last epoch (3 of 3): more epochs may help (--set epochs=N" in result.output
    recorded = json.loads((tmp_path / "rising" / "metrics.json").read_text())["model_info"]["warnings"]
    assert any("still rising at the last epoch (3 of 3)" in line for line in recorded)
    model = json.loads((tmp_path / "rising" / "model" / "emobench_model.json").read_text())
    assert model["info"]["warnings"] == recorded


def test_an_lstm_past_its_best_says_nothing(tiny_root, tmp_path, monkeypatch):
    scripted_scores(monkeypatch, [0.2, 0.6, 0.4])
    result = runner.invoke(app, ["train", "--model", "lstm", *TINY_LSTM, "--set", "epochs=3", "--set", "patience=0",
                                 "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", "flat", "-q"])
    assert result.exit_code == 0, result.output
    assert "still rising" not in result.output
    info = json.loads((tmp_path / "flat" / "metrics.json").read_text())["model_info"]
    assert not any("still rising" in line for line in info.get("warnings", []))


def test_early_stopping_ends_the_default_run_before_its_maximum(tiny_root, tmp_path, monkeypatch):
    scripted_scores(monkeypatch, [0.5, 0.6] + [0.1] * 40)
    result = runner.invoke(app, ["train", "--model", "lstm", *TINY_LSTM, "--data-dir", str(tiny_root), "-o", str(tmp_path),
                                 "--name", "stops", "-q"])
    assert result.exit_code == 0, result.output
    history = json.loads((tmp_path / "stops" / "history.json").read_text())
    patience = resolve("lstm").params.patience
    assert [h["epoch"] for h in history] == list(range(1, 2 + patience + 1))  # best at 2, then patience epochs
    assert "still rising" not in result.output


def test_a_transformer_still_rising_is_warned_through_the_same_loop(tiny_models, tiny_root, monkeypatch):
    from emobench.data import load_dataset
    from emobench.errors import EmobenchWarning
    from emobench.models import build_model

    scripted_scores(monkeypatch, [0.1, 0.3])
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(f"hf:{tiny_models['bert']}", {"epochs": "2", "batch_size": "32", "learning_rate": "0.003"})
    with pytest.warns(EmobenchWarning, match=r"still rising at the last epoch \(2 of 2\)"):
        model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    assert any("still rising" in line for line in model.info["warnings"])


# ---------------------------------------------------------------- the static family


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_static_weights_its_classes_by_default_as_tfidf_and_the_lstm_do(tiny_models, shared_root, monkeypatch, cache):
    pytest.importorskip("model2vec")
    from model2vec.train import StaticModelForClassification

    from emobench.data import Split, load_dataset
    from emobench.models import build_model

    for name in ("tfidf", "lstm", "static"):
        assert resolve(name).params.class_weight == "balanced"
    given = []
    real_fit = StaticModelForClassification.fit

    def spy(self, *args, **kwargs):
        given.append(kwargs.get("class_weight"))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(StaticModelForClassification, "fit", spy)
    corpus = load_dataset("emotion", data_dir=str(shared_root))
    build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                  corpus.label_names, progress=False)
    assert given == ["balanced"]  # model2vec's own: inverse class frequency, as sklearn's
    # multi-label: each label's positives weighted by negatives / positives, as the torch loop's pos_weight
    labels = [[0], [0, 1], [0], [0], [2], [0, 2]] * 6
    train = Split(corpus["train"].texts[:36], labels)
    validation = Split(corpus["validation"].texts[:12], labels[:12])
    build_model("static", {"body": str(tiny_models["bert"]), "max_epochs": "2"}).fit(
        train, validation, corpus.label_names[:3], progress=False)
    assert given[1] == {corpus.label_names[0]: 0.2, corpus.label_names[1]: 5.0, corpus.label_names[2]: 2.0}


def test_static_distillation_is_recorded_apart_from_the_training_time(tiny_models, shared_root, tmp_path, monkeypatch,
                                                                      cache):
    pytest.importorskip("model2vec")
    import emobench.experiments.run as running
    import emobench.models.static as static

    # A virtual clock that a slow distillation moves on by 1000 s: the training time must not contain it.
    clock = types.SimpleNamespace(offset=0.0)
    fake_time = types.SimpleNamespace(perf_counter=lambda: real_time.perf_counter() + clock.offset)
    fake_time.__dict__.update({k: getattr(real_time, k) for k in ("time", "sleep", "monotonic", "strftime")})
    monkeypatch.setattr(running, "time", fake_time)
    monkeypatch.setattr(static, "time", fake_time)
    real_distilled = static.distilled

    def slow(*args, **kwargs):
        clock.offset += 1000.0
        return real_distilled(*args, **kwargs)

    monkeypatch.setattr(static, "distilled", slow)
    for name in ("first", "cached"):
        result = runner.invoke(app, ["train", "--model", "static", "--set", f"body={tiny_models['bert']}", "--data-dir",
                                     str(shared_root), "-o", str(tmp_path), "--name", name, "-q"])
        assert result.exit_code == 0, result.output
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        assert metrics["preparation_seconds"] >= 1000 and metrics["train_seconds"] < 1000
        assert metrics["model_info"]["preparation_seconds"] == metrics["model_info"]["distillation"]["seconds"]
        assert metrics["model_info"]["distillation"]["cached"] is (name == "cached")


# ---------------------------------------------------------------- threads


def test_the_thread_count_does_not_depend_on_the_load(monkeypatch, tmp_path):
    """A thread count read from the load changed the GoEmotions LSTM's macro-F1 (same seed, same CPU)."""
    monkeypatch.delenv("EMOBENCH_THREADS", raising=False)
    real_open = open

    def machine(busy: bool):
        ticks = iter(range(0, 10**9, 1000))

        def fake_open(path, *args, **kwargs):
            if str(path) == "/proc/stat":  # every core busy (or idle) between any two reads
                step = next(ticks)
                lines = [f"cpu{i} {step if busy else 0} 0 0 {0 if busy else step} 0 0 0 0\n" for i in range(256)]
                target = tmp_path / f"stat-{busy}-{step}"
                target.write_text("".join(lines))
                return real_open(target, *args, **kwargs)
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr("builtins.open", fake_open)
        monkeypatch.setattr(environment.os, "getloadavg", lambda: (64.0, 64.0, 64.0) if busy else (0.0, 0.0, 0.0),
                            raising=False)
        monkeypatch.setattr(environment, "_THREADS", None)
        return environment.thread_count()

    quiet, busy = machine(False), machine(True)
    assert quiet == busy == environment.cpu_budget()
    monkeypatch.setenv("EMOBENCH_THREADS", "1")
    monkeypatch.setattr(environment, "_THREADS", None)
    assert environment.thread_count() == 1  # the user's choice still rules


def test_a_run_records_the_threads_it_used_whatever_the_load(tiny_root, tmp_path, monkeypatch):
    monkeypatch.delenv("EMOBENCH_THREADS", raising=False)
    monkeypatch.setattr(environment, "_THREADS", None)
    monkeypatch.setattr(environment.os, "getloadavg", lambda: (64.0, 64.0, 64.0), raising=False)
    result = runner.invoke(app, ["train", "--model", "lstm", *TINY_LSTM, "--set", "epochs=1", "--data-dir", str(tiny_root),
                                 "-o", str(tmp_path), "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "environment.json").read_text())["threads"] == environment.cpu_budget()
    assert np.isfinite(json.loads((tmp_path / "r" / "metrics.json").read_text())["train_seconds"])
