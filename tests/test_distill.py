"""Distillation (`emobench distill`): a tiny tfidf teacher distilled into a tiny LSTM -- the student run is a normal
run recording its teacher, the teacher's probabilities reach the loss, unlabeled texts are learnt from, the same
seed gives the same metrics, and every refusal is a clear error (exit 2) naming what is wrong."""
import hashlib
import json
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import LABELS, tiny_examples
from emobench.cli import app
from emobench.data import load_dataset
from emobench.errors import EmobenchError
from emobench.experiments.distill import distill, teacher_probabilities
from emobench.experiments.evaluate import evaluate_run
from emobench.models import build_model, load_model
from emobench.models.base import SoftTargets, check_soft_targets
from emobench.records.run import RunRecord
from emobench.training.loop import soft_loss

TINY = {"epochs": "2", "hidden_size": "8", "batch_size": "16", "learning_rate": "0.01", "glove": "none"}


def _unlabeled(path, n=40):
    # words no training text has: only the unlabeled texts can put them in the student's vocabulary
    path.write_text("".join(f"{t} zzunseen{i}\n" for i, (t, _) in enumerate(tiny_examples(n, 9))), encoding="utf-8")
    return path


def _invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def student(tfidf_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("students")
    unlabeled = _unlabeled(out / "pool.txt")
    run = distill(tfidf_run, "lstm", unlabeled=unlabeled, temperature=2.0, seed=3, output_dir=out, name="s",
                  overrides=TINY, progress=False)
    return run, unlabeled


def test_the_student_is_a_run_recording_its_teacher(student, tfidf_run):
    run, unlabeled = student
    teacher = RunRecord.load(tfidf_run)
    recorded = run.data.teacher
    assert run.config.family == "lstm" and run.config.seed == 3
    assert recorded.run == str(tfidf_run.resolve()) and recorded.family == "tfidf" and recorded.model == "tfidf"
    assert recorded.model_sha256 == hashlib.sha256((tfidf_run / "model" / "MANIFEST.json").read_bytes()).hexdigest()
    assert recorded.test_macro_f1 == teacher.metrics.splits["test"].macro.f1
    assert recorded.temperature == 2.0 and recorded.soft_weight == 0.5 and recorded.data_changes == []
    assert recorded.fitted_temperature == load_model(tfidf_run).temperature
    assert recorded.unlabeled.count == 40 and recorded.unlabeled.used_by == "lstm"
    assert recorded.unlabeled.sha256 == hashlib.sha256(unlabeled.read_bytes()).hexdigest()
    # the teacher's data, read again: the same rows as the teacher's
    assert run.data.split_digests == teacher.data.split_digests and run.data.source.files == teacher.data.source.files
    on_disk = json.loads((run.folder / "data.json").read_text())["teacher"]
    assert on_disk["unlabeled"]["count"] == 40 and on_disk["temperature"] == 2.0
    again = RunRecord.load(run.folder)  # predictions checked against the metrics
    assert again.metrics.splits["test"].n == 48
    scored = evaluate_run(run.folder)  # evaluate works on it as on any run
    assert scored.metrics.accuracy == run.metrics.splits["test"].accuracy and scored.metrics.data_verified


def test_unlabeled_texts_are_learnt_from(student, tfidf_run, tmp_path):
    run, _ = student
    vocabulary = json.loads((run.folder / "model" / "vocab.json").read_text())["words"]
    assert any(w.startswith("zzunseen") for w in vocabulary)  # only the unlabeled texts hold these words
    plain = distill(tfidf_run, "lstm", seed=3, output_dir=tmp_path, name="plain", overrides=TINY, progress=False)
    assert plain.data.teacher.unlabeled is None and plain.data.teacher.temperature == 1.0
    assert not any(w.startswith("zzunseen") for w in json.loads((plain.folder / "model" / "vocab.json").read_text())["words"])


def test_same_seed_same_metrics(tfidf_run, tmp_path):
    runs = [distill(tfidf_run, "lstm", seed=5, output_dir=tmp_path, name=f"r{i}", overrides=TINY, progress=False)
            for i in range(2)]
    timing = {"eval_seconds", "examples_per_second"}
    a, b = ({split: {k: v for k, v in m.items() if k not in timing}
             for split, m in json.loads((r.folder / "metrics.json").read_text())["splits"].items()} for r in runs)
    assert a == b and a["test"]["accuracy"] > 0
    assert (runs[0].folder / "predictions" / "test.csv").read_text() == (runs[1].folder / "predictions" / "test.csv").read_text()


def test_teacher_probabilities_are_its_calibrated_ones(tfidf_run, shared_root):
    model = load_model(tfidf_run)
    texts = load_dataset("emotion", data_dir=str(shared_root))["test"].texts
    calibrated = model.predict_proba_batched(texts)
    assert np.allclose(teacher_probabilities(model, texts), calibrated, atol=1e-6)
    softer = teacher_probabilities(model, texts, 4.0)
    assert (softer.max(axis=1) < calibrated.max(axis=1) + 1e-9).all() and (softer.argmax(1) == calibrated.argmax(1)).all()


def test_soft_loss_on_a_fixed_tensor():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    teacher = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], dtype=np.float32)
    hard = np.array([0, 1])
    mixed = SoftTargets(teacher, [], 0.25).targets(hard, 3, multi_label=False)
    assert np.allclose(mixed, 0.25 * teacher + 0.75 * np.eye(3)[hard])
    loss = soft_loss(False)(logits, torch.from_numpy(mixed))
    log_q = torch.log_softmax(logits, dim=1)
    expected = 0.25 * -(torch.from_numpy(teacher) * log_q).sum(1).mean() + 0.75 * torch.nn.functional.nll_loss(
        log_q, torch.from_numpy(hard))
    assert torch.isclose(loss, expected) and not torch.isclose(loss, soft_loss(False)(logits, torch.from_numpy(hard)))
    # the unlabeled rows come after the labelled ones with their teacher's row alone
    extra = np.array([[0.1, 0.1, 0.8]], dtype=np.float32)
    rows = SoftTargets(np.concatenate([teacher, extra]), ["x"], 0.5).targets(hard, 3, multi_label=False)
    assert rows.shape == (3, 3) and np.allclose(rows[2], extra[0])
    multi = SoftTargets(teacher, [], 1.0).targets(np.array([[1, 0, 1], [0, 1, 0]]), 3, multi_label=True)
    assert np.allclose(soft_loss(True)(logits, torch.from_numpy(multi)).item(),
                       torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(teacher)).item())


def test_soft_targets_reach_the_loss(shared_root):
    """A student told (weight 1) that every text is the next label learns the teacher's mapping, not the labels."""
    corpus = load_dataset("emotion", data_dir=str(shared_root))
    train = corpus["train"]
    shifted = (np.asarray(train.labels) + 1) % len(LABELS)
    fits = {}
    for name, soft in (("hard", None), ("soft", np.eye(len(LABELS), dtype=np.float32)[shifted])):
        model = build_model("lstm", {"epochs": "10", "hidden_size": "16", "batch_size": "16", "learning_rate": "0.01"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no validation split: said, and not the point here
            model.fit(train, None, corpus.label_names, progress=False, soft_targets=soft, soft_weight=1.0)
        fits[name] = model.predict(train.texts)
    truth = np.asarray(train.labels)
    agree = {"hard": (fits["hard"] == truth).mean(), "soft": (fits["soft"] == shifted).mean(),
             "soft on the labels": (fits["soft"] == truth).mean()}  # chance: 1/6
    assert agree["hard"] > 0.6 and agree["soft"] > 0.6 and agree["soft on the labels"] < 0.3, agree


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 6), labels=st.integers(2, 5), seed=st.integers(0, 2**16), bad=st.sampled_from(
    [None, "nan", "negative", "above", "sum", "shape"]), multi=st.booleans())
def test_soft_target_validation(rows, labels, seed, bad, multi):
    rng = np.random.default_rng(seed)
    probs = rng.random((rows, labels)) if multi else rng.dirichlet(np.ones(labels), rows)
    if bad is None:
        assert check_soft_targets(probs, rows, labels, multi, 0.5).dtype == np.float32
        return
    if bad == "nan":
        probs[rows - 1, 0] = np.nan
    elif bad == "negative":
        probs[0, 0] = -0.2
    elif bad == "above":
        probs[0, 0] = 1.5
    elif bad == "sum":
        if multi:
            return  # multi-label rows need not sum to 1
        probs[0] *= 0.5
    message = {"nan": "expected probabilities in", "negative": "expected probabilities in", "above":
               "expected probabilities in", "sum": "sums to", "shape": r"shape \("}[bad]
    with pytest.raises(EmobenchError, match=message):
        check_soft_targets(probs, rows + (bad == "shape"), labels, multi, 0.5)


def test_soft_targets_refused_or_checked_by_fit(shared_root):
    corpus = load_dataset("emotion", data_dir=str(shared_root))
    train, k = corpus["train"], len(corpus.label_names)
    probs = np.full((len(train), k), 1 / k)
    with pytest.raises(EmobenchError, match=r"the tfidf family does not learn from a teacher's probabilities; families that do: lstm, static"):
        build_model("tfidf").fit(train, None, corpus.label_names, soft_targets=probs)
    lstm = build_model("lstm", TINY)
    with pytest.raises(EmobenchError, match=rf"soft_targets: shape \({len(train)}, {k}\), expected \({len(train) + 2}, {k}\)"):
        lstm.fit(train, None, corpus.label_names, soft_targets=probs, unlabeled=["a text", "another"], progress=False)
    with pytest.raises(EmobenchError, match=r"soft_weight 1.5: expected a number from 0 to 1"):
        lstm.fit(train, None, corpus.label_names, soft_targets=probs, soft_weight=1.5, progress=False)


@pytest.mark.parametrize("temperature", [0, 0.001, 101, 1e9, float("inf"), True])
def test_the_api_takes_a_temperature_a_fit_could_have(tfidf_run, tmp_path, temperature):
    with pytest.raises(EmobenchError, match=r"temperature .*: expected a number from 0\.01 to 100"):
        distill(tfidf_run, "lstm", temperature=temperature, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- refusals, through the command line


def test_refusals_are_clear_errors(tfidf_run, tmp_path, shared_root):
    out = tmp_path / "out"
    (tmp_path / "r.partial").mkdir()
    cases = [
        (["distill", tmp_path / "nope", "-o", out], r"nope: no such run directory"),
        (["distill", tmp_path / "r.partial", "-o", out], r"r\.partial: not a finished emobench run"),
        (["distill", tfidf_run, "--student", "tfidf", "-o", out],
         r"--student tfidf: the tfidf family does not learn from a teacher's probabilities"),
        (["distill", tfidf_run, "--student", "fewshot", "-o", out], r"the fewshot family does not learn from a teacher"),
        (["distill", tfidf_run, "--student", "nope", "-o", out],
         r"--student 'nope': unknown model; a student is one of lstm, lstm-paper, static \(models of families"),
        (["distill", tfidf_run, "--temperature", "0", "-o", out], r"--temperature 0: expected"),
        (["distill", tfidf_run, "--temperature", "101", "-o", out], r"--temperature 101(\.0)?: expected .*100"),
        (["distill", tfidf_run, "--soft-weight", "2", "-o", out], r"--soft-weight 2: expected"),
        (["distill", tfidf_run, "--unlabeled", tmp_path / "none.txt", "-o", out], r"none\.txt"),
        (["distill", tfidf_run, "--unlabeled", "rest", "-o", out], r"--unlabeled rest: distill takes a file"),
        (["distill", tfidf_run, "--set", "hidden_size=0", "-o", out], r"hidden_size"),
    ]
    for args, message in cases:
        code, output = _invoke(*args)
        assert code == 2 and re.search(message, output), (args, output)
        assert "Traceback" not in output
    assert not out.exists()  # nothing half-written


def _own_teacher(tiny_root, tmp_path, files=False):
    """A tfidf teacher on data this test may change (the shared run's data is read only): the tiny dataset, or (with
    ``files``) CSV files of its texts, whose labels are the ones they hold."""
    if not files:
        code, output = _invoke("train", "--data-dir", tiny_root, "-o", tmp_path / "runs", "--name", "t", "-q")
        assert code == 0, output
        return tmp_path / "runs" / "t", tiny_root / "emotion"
    data = tmp_path / "files"
    data.mkdir()
    for split, n, seed in (("train", 120, 1), ("validation", 36, 2), ("test", 36, 3)):
        (data / f"{split}.csv").write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in tiny_examples(n, seed)))
    code, output = _invoke("train", "--train-file", data / "train.csv", "--validation-file", data / "validation.csv",
                           "--test-file", data / "test.csv", "-o", tmp_path / "runs", "--name", "t", "-q")
    assert code == 0, output
    return tmp_path / "runs" / "t", data


def test_changed_data_refused_or_allowed_and_recorded(tiny_root, tmp_path):
    teacher, data = _own_teacher(tiny_root, tmp_path)
    test_file = data / "test.txt"
    test_file.write_text(test_file.read_text().replace(";joy", ";sadness", 3))
    code, output = _invoke("distill", teacher, "-o", tmp_path / "out")
    assert code == 2 and "the data differs from what the teacher was trained on: test.txt: sha256" in output, output
    assert "--allow-changed-data" in output and not (tmp_path / "out").exists()
    tiny = sum((["--set", f"{k}={v}"] for k, v in TINY.items()), [])
    code, output = _invoke("distill", teacher, "-o", tmp_path / "out", "--name", "s", "--allow-changed-data", *tiny, "-q")
    assert code == 0 and "the data changed since the teacher was trained" in output, output
    changes = RunRecord.load(tmp_path / "out" / "s").data.teacher.data_changes
    assert changes and "test.txt" in changes[0]


def test_labels_differing_from_the_data_refused(tiny_root, tmp_path):
    teacher, data = _own_teacher(tiny_root, tmp_path, files=True)
    for path in data.iterdir():  # no text is "surprise" any more: the data's labels are not the teacher's
        path.write_text(path.read_text().replace(",surprise", ",fear"))
    code, output = _invoke("distill", teacher, "-o", tmp_path / "out", "--allow-changed-data")  # never allowed
    said = "the teacher's labels (anger, fear, joy, love, sadness, surprise) are not the data's (anger, fear, joy, love, sadness)"
    assert code == 2 and said in output, output


# ---------------------------------------------------------------- a static student (model2vec's loop on float targets)

def test_a_static_student_learns_the_teachers_mapping(tiny_models, shared_root, tmp_path, monkeypatch):
    """As the LSTM above: told (weight 1) that every text is the next label, a static student learns that, not the
    labels; its labels stay in our order, and it is saved and loaded like any static model."""
    pytest.importorskip("model2vec")
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    corpus = load_dataset("emotion", data_dir=str(shared_root))
    train = corpus["train"]
    shifted = (np.asarray(train.labels) + 1) % len(LABELS)
    model = build_model("static", {"body": str(tiny_models["bert"]), "max_epochs": "30", "learning_rate": "0.01"})
    model.fit(train, corpus["validation"], corpus.label_names, progress=False,
              soft_targets=np.eye(len(LABELS), dtype=np.float32)[shifted], soft_weight=1.0)
    predicted = model.predict(train.texts)
    assert (predicted == shifted).mean() > 0.5 and (predicted == np.asarray(train.labels)).mean() < 0.3
    assert model.info["classes"] == corpus.label_names and "_to_targets" not in model.model.__dict__
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(train.texts), predicted)


def test_a_static_student_of_a_run(tfidf_run, tiny_models, tmp_path, monkeypatch):
    pytest.importorskip("model2vec")
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    run = distill(tfidf_run, "static", seed=1, output_dir=tmp_path, name="s", progress=False,
                  overrides={"body": str(tiny_models["bert"]), "max_epochs": "3"},
                  unlabeled=_unlabeled(tmp_path / "pool.txt", 20))
    assert run.config.family == "static" and run.data.teacher.unlabeled.used_by == "static"
    assert run.metrics.splits["test"].n == 48


# ---------------------------------------------------------------- bf16 autocast on the CPU (cpu_bf16)

def test_cpu_bf16_trains_under_bf16_autocast_and_scores_in_fp32(shared_root):
    corpus = load_dataset("emotion", data_dir=str(shared_root))
    seen = []
    real = torch.nn.LSTM.forward

    def spy(self, *args, **kwargs):
        seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16)
        return real(self, *args, **kwargs)

    torch.nn.LSTM.forward = spy
    try:
        model = build_model("lstm", {**TINY, "cpu_bf16": "true"})
        model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
        assert model.trainer.accelerator.mixed_precision == "bf16" and any(seen)
        seen.clear()
        probs = model.predict_proba(corpus["test"].texts)
        assert not any(seen) and np.isfinite(probs).all()  # scoring is fp32: autocast is the training loop's
        plain = build_model("lstm", TINY)
        plain.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
        assert plain.trainer.accelerator.mixed_precision == "no"
    finally:
        torch.nn.LSTM.forward = real
