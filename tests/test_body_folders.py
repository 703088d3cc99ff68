"""Model folders a user gives (``--set body=DIR`` for setfit and static, ``--model hf:DIR``) get the treatment of a run
folder: plain files inside it, bounded JSON, safetensors weights only, sizes and token ids checked against the weights
before any library reads them -- a clear error naming the file and the field, nothing read outside the folder, no file
content printed, nothing written. The static family's distillation cache is verified whenever it is used, and a
damaged entry is rebuilt with a warning. Loaded setfit/static models check dtypes and token ids."""
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from emobench.cli import app

runner = CliRunner()
pytest.importorskip("setfit")
pytest.importorskip("model2vec")
SECRET = "top-secret-contents-of-a-file-outside"
OPENED: list[str] = []
WATCH: list[Path] = []


def _audit(event, args):
    if WATCH and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


class Marker:
    """Unpickling it creates a file: evidence that pickled weights were loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _json_edit(name, change):
    def edit(body: Path, outside: Path):
        data = json.loads((body / name).read_text())
        result = change(data)
        (body / name).write_text(json.dumps(data if result is None else result))
    return edit


def _modules_outside(body: Path, outside: Path):
    (outside / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True, "note": SECRET}))
    (body / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "../outside", "type": "sentence_transformers.models.Pooling"}]))


def _pickled_only(body: Path, outside: Path):
    (body / "model.safetensors").unlink()
    (body / "pytorch_model.bin").write_bytes(pickle.dumps(Marker(str(outside / "EXECUTED"))))


def _deep(body: Path, outside: Path):
    (body / "config.json").write_text("[" * 10_000 + "]" * 10_000)


def _no_tokenizer(body: Path, outside: Path):
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (body / name).unlink(missing_ok=True)


def _symlink_out(body: Path, outside: Path):
    shutil.move(body / "model.safetensors", outside / "model.safetensors")
    (body / "model.safetensors").symlink_to(outside / "model.safetensors")


def _past_embeddings(data):
    data["model"]["vocab"]["zzzz"] = 10_000_000


def _set(key, value):
    return _json_edit("config.json", lambda c: c.__setitem__(key, value))


def _nan_embeddings(body: Path, outside: Path):
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(body / "model.safetensors"))
    key = next(k for k in arrays if k.endswith("word_embeddings.weight"))
    arrays[key][0, 0] = np.nan
    save_file(arrays, str(body / "model.safetensors"), metadata={"format": "pt"})


def _modules(*extra):
    def edit(body: Path, outside: Path):
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        (body / "1_Pooling").mkdir()
        (body / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32,
                                                                    "pooling_mode_mean_tokens": True}))
        for change in extra:
            change(body, modules)
        (body / "modules.json").write_text(json.dumps(modules))
    return edit


def _dense(body, modules):
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})


def _pool_dimension(body, modules):
    (body / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 999}))


BODIES = {
    "modules.json path outside": (_modules_outside, r"modules.json: field \[1\].path: '../outside'"),
    "pickled weights only": (_pickled_only, "no model.safetensors .it holds pytorch_model.bin: pickled weights"),
    "remote code": (_set("auto_map", {"AutoModel": "evil.Model"}), "config.json: field auto_map"),
    "no config": (lambda body, outside: (body / "config.json").unlink(), "no config.json"),
    "string hidden size": (_set("hidden_size", "32"), "config.json: field hidden_size: '32', expected an integer"),
    "heads not dividing": (_set("num_attention_heads", 3), "field num_attention_heads: 3 attention heads do not divide"),
    "negative size": (_set("intermediate_size", -4), "config.json: field intermediate_size: -4"),
    "deep config": (_deep, "config.json: the model configuration is JSON nested too deeply"),
    "unknown architecture": (_set("model_type", "evil"), "field model_type: 'evil', expected an architecture"),
    "vocabulary not the weights'": (_set("vocab_size", 50), "field vocab_size: the configuration says 50 tokens"),
    "sizes past the weights": (_set("max_position_embeddings", 1_000_000), "describes a model of about"),
    "token ids past the embeddings": (_json_edit("tokenizer.json", _past_embeddings),
                                      "tokenizer.json: field model.vocab: token id 10000000"),
    "no tokenizer": (_no_tokenizer, "no tokenizer files"),
    "symlink outside": (_symlink_out, "a symlink pointing outside the model folder"),
    "deep tokenizer_config.json": (lambda body, outside: (body / "tokenizer_config.json").write_text("[" * 5000 + "]" * 5000),
                                   r"tokenizer_config.json: the JSON file is JSON nested too deeply"),
    "a tokenizer of an unknown model type": (_json_edit("tokenizer.json", lambda d: d["model"].__setitem__("type", "Nope")),
                                             r"tokenizer.json: field model.type: 'Nope'"),
    "NaN embeddings": (_nan_embeddings, r"word_embeddings.weight: non-finite values"),
    "a Dense module": (_modules(_dense), r"module 'sentence_transformers.models.Dense' is not one emobench loads"),
    "a pooling of another width": (_modules(_pool_dimension), r"field word_embedding_dimension: 999, but the encoder's hidden"),
    "max_seq_length -1": (lambda body, outside: (body / "sentence_bert_config.json").write_text('{"max_seq_length": -1}'),
                          r"sentence_bert_config.json: field max_seq_length: -1"),
}


@pytest.fixture
def body_copy(tiny_models, tmp_path):
    body, outside = tmp_path / "body", tmp_path / "outside"
    shutil.copytree(tiny_models["bert"], body)
    outside.mkdir()
    return body, outside


@pytest.mark.parametrize("family", ["setfit", "static", "hf"])
@pytest.mark.parametrize("case", list(BODIES))
def test_a_hostile_body_folder_is_a_clear_error(case, family, body_copy, shared_root, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    body, outside = body_copy
    mutate, message = BODIES[case]
    mutate(body, outside)
    model = ["--model", f"hf:{body}", "--set", "mode=features"] if family == "hf" else \
        ["--model", family, "--set", f"body={body}"]
    OPENED.clear()
    WATCH.append(outside)
    try:
        result = runner.invoke(app, ["train", *model, "--data-dir", str(shared_root), "-o", str(tmp_path / "runs"), "-q"])
    finally:
        WATCH.clear()
    import re

    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    assert SECRET not in result.output
    assert not any(Path(p).resolve().is_relative_to(outside.resolve()) for p in OPENED
                   if not p.startswith("/proc")), [p for p in OPENED if "outside" in p]
    assert not (outside / "EXECUTED").exists()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("value, message", [("", "parameter body='' (SetFitParams): expected a string (not empty)"),
                                            ("/no/such/body", "no such model folder"),
                                            ("./relative/missing", "no such model folder")])
def test_a_body_that_is_not_a_folder_is_named(value, message, shared_root, tmp_path):
    for family in ("setfit", "static"):
        result = runner.invoke(app, ["train", "--model", family, "--set", f"body={value}", "--data-dir", str(shared_root),
                                     "-o", str(tmp_path / "runs"), "-q"])
        said = message.replace("SetFitParams", "StaticParams") if family == "static" else message
        assert result.exit_code == 2 and said in result.output and "huggingface" not in result.output.lower(), \
            result.output


# ---------------------------------------------------------------- the static distillation cache


def _entry(cache: Path) -> Path:
    entries = [p for p in (cache / "static").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1, entries
    return entries[0]


def _rewrite_arrays(change):
    def edit(entry: Path):
        from safetensors.numpy import load_file, save_file

        arrays = load_file(str(entry / "static.safetensors"))
        change(arrays)
        save_file(arrays, str(entry / "static.safetensors"))
    return edit


def _truncate(entry: Path):
    data = (entry / "static.safetensors").read_bytes()
    (entry / "static.safetensors").write_bytes(data[: len(data) // 2])


def _symlinked(entry: Path):
    moved = entry.parent.parent / "elsewhere"
    shutil.move(entry, moved)
    entry.symlink_to(moved)


CACHE_DAMAGE = {
    "zeroed vectors": _rewrite_arrays(lambda a: a.__setitem__("vectors", np.zeros_like(a["vectors"]))),
    "NaN vectors": _rewrite_arrays(lambda a: a["vectors"].__setitem__((0, 0), np.nan)),
    "mapping out of range": _rewrite_arrays(lambda a: a.__setitem__("token_mapping", a.get(
        "token_mapping", np.arange(len(a["vectors"]))).astype(np.int64) + 10_000)),
    "truncated vectors": _truncate,
    "malformed settings": lambda entry: (entry / "static.json").write_text("{not json"),
    "symlinked entry": _symlinked,
    "no manifest (an older entry)": lambda entry: (entry / "MANIFEST.json").unlink(),
    "an extra file": lambda entry: (entry / "extra.json").write_text("{}"),
}


@pytest.fixture(scope="module")
def reference(tiny_models, shared_root, tmp_path_factory):
    """A static model trained with a fresh cache: the probabilities every rebuilt entry must give again."""
    from emobench.data import DatasetConfig, load_dataset
    from emobench.models import build_model

    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("EMOBENCH_CACHE")
    os.environ["EMOBENCH_CACHE"] = str(cache)
    try:
        corpus = load_dataset(DatasetConfig(data_dir=str(shared_root)))
        model = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                             corpus.label_names)
    finally:
        os.environ.pop("EMOBENCH_CACHE") if old is None else os.environ.__setitem__("EMOBENCH_CACHE", old)
    return cache, corpus, model.predict_proba(corpus["test"].texts)


@pytest.mark.parametrize("damage", list(CACHE_DAMAGE))
def test_a_damaged_cache_entry_is_rebuilt_with_a_warning(damage, reference, tiny_models, tmp_path, monkeypatch):
    from emobench.errors import EmobenchWarning
    from emobench.models import build_model
    from emobench.records.cache import read_static_entry

    source, corpus, expected = reference
    cache = tmp_path / "cache"
    shutil.copytree(source, cache, symlinks=True)
    monkeypatch.setenv("EMOBENCH_CACHE", str(cache))
    CACHE_DAMAGE[damage](_entry(cache))
    with pytest.warns(EmobenchWarning, match="cache entry .* cannot be used .*it is rebuilt"):
        model = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                             corpus.label_names)
    assert model.info["distillation"]["cached"] is False
    assert np.abs(model.predict_proba(corpus["test"].texts) - expected).max() <= 1e-6
    entry = _entry(cache)
    assert not entry.is_symlink()
    read_static_entry(entry)  # whole again
    again = build_model("static", {"body": str(tiny_models["bert"])}).fit(corpus["train"], corpus["validation"],
                                                                         corpus.label_names)
    assert again.info["distillation"]["cached"] is True


def test_two_fillers_of_one_entry_leave_one_whole_entry(reference, tmp_path):
    from emobench.models.static import _put_in_place
    from emobench.records.cache import read_static_entry

    source, _, _ = reference
    entry = _entry(source)
    target = tmp_path / "static" / entry.name
    target.parent.mkdir()
    first, second = tmp_path / "static" / ".a", tmp_path / "static" / ".b"
    shutil.copytree(entry, first)
    shutil.copytree(entry, second)
    _put_in_place(first, target)
    _put_in_place(second, target)  # the second finds a whole entry and leaves it
    read_static_entry(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".b", entry.name]  # the caller removes its scratch


# ---------------------------------------------------------------- loaded models, with --allow-modified


def _head_classes_float(model: Path):
    from safetensors.numpy import load_file, save_file

    path = model / "features_head.safetensors"
    arrays = load_file(str(path))
    arrays["classes"] = arrays["classes"].astype(np.float32)
    save_file(arrays, str(path), metadata={"emobench.labels": json.dumps(json.loads(
        (model / "emobench_model.json").read_text())["label_names"])})


@pytest.fixture(scope="module")
def peer_runs(tiny_models, shared_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("peers")
    os.environ.setdefault("EMOBENCH_CACHE", str(root / "cache"))
    for family, extra in (("setfit", ["--set", "max_steps=5"]), ("static", [])):
        result = runner.invoke(app, ["train", "--model", family, "--set", f"body={tiny_models['bert']}", *extra,
                                     "--data-dir", str(shared_root), "-o", str(root), "--name", family, "-q"])
        assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("family, edit, message", [
    ("setfit", _head_classes_float, "features_head.safetensors: field classes: a 1-dimensional float32 tensor"),
    ("setfit", lambda m: _json_edit("tokenizer.json", _past_embeddings)(m, None), "field model.vocab: token id 10000000"),
    ("static", lambda m: _json_edit("tokenizer.json", _past_embeddings)(m, None), "field model.vocab: token id 10000000"),
])
def test_a_loaded_model_checks_dtypes_and_token_ids(family, edit, message, peer_runs, tmp_path):
    from emobench.errors import EmobenchError
    from emobench.serving import Predictor

    run = tmp_path / family
    shutil.copytree(peer_runs / family, run)
    edit(run / "model")
    result = runner.invoke(app, ["predict", str(run), "i feel so happy", "--allow-modified"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    with pytest.raises(EmobenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Predictor(run, allow_modified=True).predict(["i feel so happy"])


def test_the_cache_root_is_checked_before_the_distillation(tiny_models, shared_root, tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "static").write_text("a file")
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, ["train", "--model", "static", "--set", f"body={tiny_models['bert']}", "--data-dir",
                                 str(shared_root), "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 2 and "static: a file where the static-embedding cache keeps its entries" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_diverged_training_is_a_clear_error_that_leaves_nothing(shared_root, tmp_path, monkeypatch):
    from emobench.models.lstm import PooledLSTM

    real = PooledLSTM.forward
    monkeypatch.setattr(PooledLSTM, "forward", lambda self, **batch: real(self, **batch) * float("nan"))
    result = runner.invoke(app, ["train", "--model", "lstm", "--set", "epochs=3", "--set", "hidden_size=4", "--set",
                                 "glove=none", "--data-dir", str(shared_root), "-o", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 2 and "training diverged: the training loss is nan in epoch 1" in result.output, result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
