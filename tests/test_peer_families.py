"""The setfit and static families: trained through their libraries (setfit's Trainer, model2vec's classifier) on a
tiny local body, saved as data only, reloaded to the same probabilities, the same answer alone and in a batch, and
refused where a folder lies; SetFit's ONNX export checks itself."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import LABELS, checked_export
from emobench.cli import app
from emobench.data import DatasetConfig, load_dataset
from emobench.errors import EmobenchError
from emobench.models import build_model, load_model

runner = CliRunner()
pytest.importorskip("setfit")
pytest.importorskip("model2vec")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("family", ["setfit", "static"])
def test_peer_families_train_reload_and_answer_alone_as_in_a_batch(family, tiny_models, shared_root, tmp_path, cache):
    extra = ["--set", "max_steps=200", "--set", "learning_rate=1e-3"] if family == "setfit" else []
    result = runner.invoke(app, ["train", "--model", family, "--set", f"body={tiny_models['bert']}", *extra, "--data-dir",
                                 str(shared_root), "-o", str(tmp_path), "--name", family, "-q"])
    assert result.exit_code == 0, result.output
    assert "Running training" not in result.output and "train_runtime" not in result.output  # no library chatter
    metrics = json.loads((tmp_path / family / "metrics.json").read_text())["splits"]["test"]
    assert metrics["n"] == 48 and 0 <= metrics["accuracy"] <= 1  # a tiny random body: no score is promised
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    texts = corpus["test"].texts
    model = load_model(tmp_path / family)
    batched = model.predict_proba(texts)
    alone = np.concatenate([model.predict_proba([t]) for t in texts])
    assert np.abs(batched - alone).max() <= 1e-5
    recorded = json.loads((tmp_path / family / "model" / "emobench_model.json").read_text())
    assert recorded["params"]["pretrained"] == str(tiny_models["bert"])  # body is the pretrained parameter's other name
    names = {p.name for p in (tmp_path / family / "model").iterdir()}
    assert not names & {"modules.json", "model.pkl", "model_head.pkl"}  # data only


def test_setfit_embeddings_are_sentence_transformers(tiny_models, shared_root, tmp_path):
    from sentence_transformers import SentenceTransformer, models

    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    model = build_model("setfit", {"body": str(tiny_models["bert"]), "max_steps": 10})
    model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=0)
    model.save(tmp_path / "m")
    transformer = models.Transformer(str(tmp_path / "m"), max_seq_length=256)
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    reference = SentenceTransformer(modules=[transformer, models.Pooling(dimension(), "mean"), models.Normalize()],
                                    device="cpu")
    texts = corpus["test"].texts[:20]
    ours = load_model(tmp_path / "m")._encode(texts)
    assert np.abs(ours - reference.encode(texts)).max() <= 1e-5


def test_setfit_refuses_foreign_modules_and_exports_to_onnx(tiny_models, shared_root, tmp_path):
    import shutil

    body = tmp_path / "body"
    shutil.copytree(tiny_models["bert"], body)
    (body / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": "", "type": "evil.module.Steal"}]))
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    with pytest.raises(EmobenchError, match="module 'evil.module.Steal' is not one emobench loads"):
        build_model("setfit", {"body": str(body)}).fit(corpus["train"], corpus["validation"], corpus.label_names)
    result = runner.invoke(app, ["train", "--model", "setfit", "--set", f"body={tiny_models['bert']}", "--set", "max_steps=20",
                                 "--data-dir", str(shared_root), "-o", str(tmp_path), "--name", "s", "-q"])
    assert result.exit_code == 0, result.output
    # a tiny random body: what holds on any CPU is that the checks ran and their verdicts follow from their values
    exported = checked_export(tmp_path / "s", tmp_path / "x", "int8") or checked_export(tmp_path / "s", tmp_path / "y")
    folder, record = exported
    assert all(check["value"] == 1.0 for name, check in record["checks"].items() if name.endswith("batch_invariance"))
    texts = load_dataset(DatasetConfig(data_dir=str(shared_root)))["test"].texts[:20]
    from emobench.serving import Predictor

    onnx = Predictor(folder)
    alone = np.array([[p for p in onnx.predict([t])[0].probabilities.values()] for t in texts])
    batched = np.array([list(r.probabilities.values()) for r in onnx.predict(texts)])
    assert np.abs(alone - batched).max() <= 1e-5


def test_static_distillation_is_cached_and_recorded(tiny_models, shared_root, tmp_path, cache):
    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    first = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                         corpus.label_names)
    second = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                          corpus.label_names)
    assert first.info["distillation"]["cached"] is False and second.info["distillation"]["cached"] is True
    assert first.info["distillation"]["key"] == second.info["distillation"]["key"]
    assert str(cache) not in json.dumps(first.info)  # the key, not the machine's path
    with pytest.raises(EmobenchError, match="not exported to ONNX"):
        first.onnx_graph(tmp_path)


def test_a_static_model_with_a_token_mapping_out_of_bounds_is_refused(tiny_models, shared_root, tmp_path, cache):
    from safetensors.numpy import load_file, save_file

    corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
    model = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                         corpus.label_names)
    model.save(tmp_path / "m")
    path = tmp_path / "m" / "static.safetensors"
    arrays = load_file(str(path))
    arrays["token_mapping"] = arrays["token_mapping"] + 10_000
    save_file(arrays, str(path), metadata=model.weights_metadata())
    with pytest.raises(EmobenchError, match="token mapping points outside"):
        load_model(tmp_path / "m", allow_modified=True)


@pytest.mark.parametrize("family", ["setfit", "static"])
def test_peer_families_learn_multi_label_data(family, tiny_models, tmp_path, cache):
    from conftest import tiny_examples
    from emobench.data import Split

    def split(n, seed):
        texts, labels = [], []
        for i, (text, label) in enumerate(tiny_examples(n, seed)):
            both = i % 3 == 0 and label != "joy"
            texts.append(text + (" and so happy" if both else ""))
            labels.append(sorted({LABELS.index(label), LABELS.index("joy")}) if both else [LABELS.index(label)])
        return Split(texts, labels)

    overrides = {"body": str(tiny_models["bert"])} | ({"max_steps": 60, "learning_rate": 1e-3} if family == "setfit" else {})
    model = build_model(family, overrides).fit(split(180, 1), split(48, 2), LABELS, seed=0)
    assert model.multi_label and model.decision.thresholds
    predicted = model.predict(split(48, 3).texts)
    assert predicted.shape == (48, len(LABELS)) and predicted.sum(axis=1).min() >= 1
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    texts = split(48, 3).texts
    assert np.abs(again.predict_proba(texts) - model.predict_proba(texts)).max() <= 1e-6


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("family", ["setfit", "static", "tfidf", "lstm"])
def test_a_label_only_validation_holds_is_learnt_as_unseen_not_a_crash(family, multi, tiny_models, tmp_path, cache):
    """A small or sampled training set can lack a rare label that validation has (GoEmotions' 'grief' in a 200-text
    sample): the model trains, answers for every label, and gives the unseen one less than the labels it learnt."""
    from conftest import tiny_examples
    from emobench.data import Split

    absent = LABELS.index("fear")

    def split(n, seed, keep_absent):
        rows = [(t, LABELS.index(y)) for t, y in tiny_examples(n, seed) if keep_absent or LABELS.index(y) != absent]
        return Split([t for t, _ in rows], [[y] for _, y in rows] if multi else [y for _, y in rows])

    overrides = {"body": str(tiny_models["bert"])} if family in ("setfit", "static") else {}
    overrides |= {"max_steps": 20} if family == "setfit" else {"epochs": 2} if family == "lstm" else {}
    model = build_model(family, overrides).fit(split(150, 1, False), split(48, 2, True), LABELS, seed=0)
    probs = model.predict_proba(split(24, 3, True).texts)
    assert probs.shape == (24, len(LABELS)) and np.isfinite(probs).all()
    others = np.delete(probs, absent, axis=1)
    assert probs[:, absent].mean() < others.mean()
