"""Folders emobench reads but did not write: model bodies given with ``--set body=DIR`` (setfit, static) or
``--model hf:DIR``, and the static family's distillation cache entries. A hostile or broken body is a clear error
naming the file and the field before any library reads it (nothing opened outside, no file content printed); a
damaged cache entry is rebuilt, with a loud warning, and gives the model a whole entry gives."""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

from .harness import TamperedCase as Case
from .harness import Workspace
from .helpers import TEXT, json_edit

SECRET = "contents of a file outside the body"


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _modules_outside(folder: Path, ws: Workspace) -> None:
    (ws.outside / "config.json").write_text(json.dumps({"pooling_mode_max_tokens": True, "note": SECRET}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": os.path.relpath(ws.outside, folder), "type": "sentence_transformers.models.Pooling"}]))


def _pickled_only(folder: Path, ws: Workspace) -> None:
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Marker(str(ws.marker))))


def _no_tokenizer(folder: Path, ws: Workspace) -> None:
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)


def _weights_outside(folder: Path, ws: Workspace) -> None:
    target = ws.outside / f"weights-{folder.parent.name}.safetensors"
    shutil.move(folder / "model.safetensors", target)
    (folder / "model.safetensors").symlink_to(target)


def _config(key, value):
    return json_edit("config.json", lambda c: c.__setitem__(key, value))


def _past_embeddings(data: dict) -> None:
    data["model"]["vocab"]["zzzz"] = 10_000_000


BODIES = [
    ("modules.json names a folder outside", _modules_outside, r"modules\.json: field \[1\]\.path"),
    ("pickled weights only", _pickled_only, r"no model\.safetensors \(it holds pytorch_model\.bin: pickled weights"),
    ("a config asking for remote code", _config("auto_map", {"AutoModel": "evil.Model"}), r"config\.json: field auto_map"),
    ("a string hidden size", _config("hidden_size", "32"), r"config\.json: field hidden_size: '32', expected an integer"),
    ("heads not dividing the hidden size", _config("num_attention_heads", 3), r"field num_attention_heads: 3 attention heads"),
    ("a negative size", _config("intermediate_size", -1), r"config\.json: field intermediate_size: -1"),
    ("sizes far past the weights", _config("max_position_embeddings", 1_000_000), r"describes a model of about"),
    ("a 10,000-deep config", lambda f, ws: (f / "config.json").write_text("[" * 10_000 + "]" * 10_000), r"nested too deeply"),
    ("token ids past the embeddings", json_edit("tokenizer.json", _past_embeddings),
     r"tokenizer\.json: field model\.vocab: token id 10000000"),
    ("no tokenizer files", _no_tokenizer, r"no tokenizer files"),
    ("weights symlinked from outside", _weights_outside, r"a symlink pointing outside the model folder"),
]


def _fit(family: str):
    """A model of ``family`` trained on the workspace's data with the (edited) body."""
    def call(folder: Path, allow: bool):
        from emobench.data import DatasetConfig, load_dataset
        from emobench.models import build_model

        corpus = load_dataset(DatasetConfig(data_dir=str(folder.parent.parent.parent / "data")))
        overrides = {"body": str(folder)} | ({"max_steps": 2} if family == "setfit" else {})
        return build_model(family, overrides).fit(corpus["train"], corpus["validation"], corpus.label_names, progress=False)
    return call


# ---------------------------------------------------------------- the distillation cache


def _entry(cache: Path, body: Path) -> Path:
    """The body's own entry: the session's cache holds the entries of every body other tests distilled."""
    from emobench.models.static import StaticParams, body_key

    entry = cache / "static" / body_key(body, StaticParams().pca_dims)
    assert entry.is_dir(), f"the session's cache has no entry for {body}"
    return entry


def _rewrite_vectors(change):
    def damage(entry: Path) -> None:
        from safetensors.numpy import load_file, save_file

        arrays = load_file(str(entry / "static.safetensors"))
        change(arrays)
        save_file(arrays, str(entry / "static.safetensors"))
    return damage


def _symlinked(entry: Path) -> None:
    moved = entry.parent.parent / "moved-entry"
    shutil.move(entry, moved)
    entry.symlink_to(moved)


DAMAGE = [
    ("zeroed vectors", _rewrite_vectors(lambda a: a.__setitem__("vectors", a["vectors"] * 0))),
    ("a NaN vector", _rewrite_vectors(lambda a: a["vectors"].__setitem__((0, 0), float("nan")))),
    ("token ids mapped past the vectors", _rewrite_vectors(
        lambda a: a.__setitem__("token_mapping", (a["token_mapping"] if "token_mapping" in a else
                                                  __import__("numpy").arange(len(a["vectors"]))) + 10_000))),
    ("a truncated vector file", lambda e: (e / "static.safetensors").write_bytes((e / "static.safetensors").read_bytes()[:999])),
    ("malformed settings", lambda e: (e / "static.json").write_text("{\"normalize\": ")),
    ("a symlinked entry", _symlinked),
    ("an entry without its manifest", lambda e: (e / "MANIFEST.json").unlink()),
    ("a file the manifest does not list", lambda e: (e / "extra.json").write_text("{}")),
]


def _damaged_cache(damage):
    """The body copied as it is; beside it a copy of the session's cache with the body's entry damaged."""
    def edit(folder: Path, ws: Workspace) -> None:
        cache = folder.parent / "cache"
        shutil.copytree(Path(os.environ["EMOBENCH_CACHE"]), cache, symlinks=True)
        damage(_entry(cache, folder))
    return edit


def _fit_with_cache(folder: Path, allow: bool):
    """A static model trained with the damaged cache: (its probabilities of TEXT, the warnings, the run's own)."""
    import warnings

    from emobench.data import DatasetConfig, load_dataset
    from emobench.models import build_model, load_model

    corpus = load_dataset(DatasetConfig(data_dir=str(folder.parent.parent.parent / "data")))
    saved = os.environ["EMOBENCH_CACHE"]
    os.environ["EMOBENCH_CACHE"] = str(folder.parent / "cache")
    from emobench.environment import seed_everything

    seed_everything(0)  # as `emobench train` seeds a run before fitting it
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = build_model("static", {"body": str(folder)}).fit(corpus["train"], corpus["validation"],
                                                                    corpus.label_names, seed=0, progress=False)
    finally:
        os.environ["EMOBENCH_CACHE"] = saved
    reference = load_model(folder.parent.parent.parent / "runs" / "static")
    return model.predict_proba([TEXT]), [str(w.message) for w in caught], reference.predict_proba([TEXT])


def _rebuilt(result) -> str | None:
    probs, said, reference = result
    if not any("cache entry" in line and "it is rebuilt" in line for line in said):
        return f"no warning that the entry was rebuilt: {said}"
    if abs(probs - reference).max() > 1e-6:
        return "the rebuilt entry gave another model than a whole entry"
    return None


def cases() -> list[Case]:
    c: list[Case] = []
    out = ["-o", "{f}-runs", "-q"]
    for name, edit, message in BODIES:
        for family in ("setfit", "static"):
            c.append(Case(f"{family} body: {name}", "body", "tiny-bert", edit, "cli",
                          ["train", "--model", family, "--set", "body={f}", "--data-dir", "{ws}/data", *out],
                          message=message, mode="manifest"))
        c.append(Case(f"hf: body: {name}", "body", "tiny-bert", edit, "cli",
                      ["train", "--model", "hf:{f}", "--set", "mode=features", "--data-dir", "{ws}/data", *out],
                      message=message, mode="manifest"))
        c.append(Case(f"static body (API): {name}", "body", "tiny-bert", edit, "api", call=_fit("static"),
                      message=message, mode="manifest"))
    for name, damage in DAMAGE:
        c.append(Case(f"static cache: {name}", "cache", "tiny-bert", _damaged_cache(damage), "api", call=_fit_with_cache,
                      expect="ok", check=_rebuilt, mode="manifest"))
    return c
