import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emobench.cli import app
from emobench.data import load_dataset
from emobench.models import build_model, load_model, resolve
from tiny_models import BUILDERS

FAST = {"epochs": "3", "batch_size": "16", "learning_rate": "0.003", "warmup_ratio": "0"}


def test_names_map_to_hub_ids_and_presets():
    assert resolve("bert").params.pretrained == "bert-base-uncased"
    assert resolve("roberta").params.pretrained == "roberta-base"
    assert resolve("distilbert").params.pretrained == "distilbert-base-uncased"
    assert resolve("xlnet").params.pretrained == "xlnet-base-cased"
    assert resolve("hf:some/model").params.pretrained == "some/model"
    paper = resolve("roberta", preset="paper").params
    assert (paper.batch_size, paper.epochs, paper.learning_rate, paper.optimizer, paper.scheduler, paper.warmup_ratio) == \
        (16, 10, 4e-5, "adam", "linear", 0.0)


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_train_evaluate_predict_each_architecture(arch, tiny_models, tiny_root, tmp_path):
    runner = CliRunner()
    model_dir = tiny_models[arch]
    args = ["train", "--model", f"hf:{model_dir}", "--data-dir", str(tiny_root), "-o", str(tmp_path), "--name", arch, "-q"]
    for key, value in FAST.items():
        args += ["--set", f"{key}={value}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run = tmp_path / arch
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["splits"]["test"]["n"] == 48
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]  # it learns (tiny random models learn slowly)
    # A standard Hugging Face model directory plus emobench's metadata.
    assert (run / "model" / "config.json").is_file() and (run / "model" / "emobench_model.json").is_file()
    from transformers import AutoModelForSequenceClassification

    hf = AutoModelForSequenceClassification.from_pretrained(run / "model")
    assert hf.config.id2label[0] == "sadness"

    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0 and f"{metrics['splits']['test']['accuracy']:.4f}" in result.output
    result = runner.invoke(app, ["predict", str(run), "i feel so happy and glad", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout.splitlines()[0])["probabilities"]) == set(json.loads((run / "model" / "emobench_model.json").read_text())["label_names"])


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_padding_side_and_reload_do_not_change_predictions(arch, tiny_models, tiny_root, tmp_path):
    """A text's prediction must not depend on what it is batched with: XLNet pads on the left and
    reads its last token, the others pad on the right and read the first."""
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(f"hf:{tiny_models[arch]}", {**FAST, "epochs": "1"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    short, long = "i feel sad", "honestly i feel so terrified and nervous about the whole thing again and again " * 3
    alone = model.predict_proba([short])
    batched = model.predict_proba([short, long])
    assert np.allclose(alone[0], batched[0], atol=1e-5)
    assert model.tokenizer.padding_side == ("left" if arch == "xlnet" else "right")
    model.save(tmp_path / "saved")
    again = load_model(tmp_path / "saved")
    texts = corpus["test"].texts
    assert np.allclose(again.predict_proba(texts), model.predict_proba(texts), atol=1e-5)


def test_features_mode(tiny_models, tiny_root, tmp_path):
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(f"hf:{tiny_models['bert']}", {"mode": "features", "pooling": "mean"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    probs = model.predict_proba(corpus["test"].texts)
    assert probs.shape == (48, 6) and np.allclose(probs.sum(1), 1)
    model.save(tmp_path / "f")
    assert np.allclose(load_model(tmp_path / "f").predict_proba(corpus["test"].texts), probs)


def test_unreachable_hub_model_is_a_clear_error(tmp_path, monkeypatch, tiny_root):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(app, ["train", "--model", "hf:/nonexistent/model-dir", "--data-dir", str(tiny_root),
                                      "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 2
    assert "pretrained=/nonexistent/model-dir: no such model folder" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # nothing half-written, not even the output folder


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_vectorised_padding_equals_the_tokenizers(arch, tiny_models):
    """The loop pads integer arrays itself; the result is what the tokenizer's own pad gives."""
    import torch

    model = build_model(f"hf:{tiny_models[arch]}")
    model.tokenizer = model._tokenizer(str(tiny_models[arch]))
    texts = ["i feel sad", "honestly i feel so terrified and nervous about the whole thing", "ok"]
    ours = model._collate(model._features(texts))
    theirs = model.tokenizer(texts, truncation=True, max_length=128, padding=True, return_tensors="pt")
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    model.pad_multiple = 8
    padded = model._collate(model._features(texts))
    assert padded["input_ids"].shape[1] % 8 == 0 and padded["attention_mask"].sum() == theirs["attention_mask"].sum()


def test_padding_to_multiples_of_eight_keeps_predictions(tiny_models, tiny_root):
    corpus = load_dataset("emotion", data_dir=str(tiny_root))
    model = build_model(f"hf:{tiny_models['bert']}", {**FAST, "epochs": "1"})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    texts = corpus["test"].texts
    plain = model.predict_proba(texts)
    model.pad_multiple = 8
    assert np.allclose(model.predict_proba(texts), plain, atol=1e-5)
