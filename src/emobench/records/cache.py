"""A cache entry: a static-embedding distillation (``$EMOBENCH_CACHE/static/<key>/``) -- ``static.safetensors``
(vectors, and model2vec's token mapping and weights where it has them), ``tokenizer.json``, ``static.json`` and
``MANIFEST.json``, written last.

An entry is verified every time it is used: its manifest (every file's size and sha256, no file it does not list, no
symlink), the settings, every array's shape, dtype and range (finite vectors, not all zero; token mapping and token ids
within the vectors), the tokenizer's ids. A damaged entry is an error the caller answers by rebuilding it (with a
warning); entries are filled in a scratch folder and renamed into place, so two processes filling one entry leave one
whole entry.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import Field

from ..errors import RecordError
from ..files import read_tensors
from ..manifest import Folder, write_manifest
from .base import Record, validate
from .model import check_tokenizer_json

VECTORS, TOKENIZER, SETTINGS = "static.safetensors", "tokenizer.json", "static.json"


class StaticSettings(Record):
    normalize: bool
    max_length: int | None = Field(default=None, ge=1)


def write_static_entry(folder: Path, arrays: dict[str, np.ndarray], save_tokenizer, settings: dict) -> None:
    """Fill ``folder`` (a scratch folder, renamed into place by the caller): the arrays, the tokenizer
    (``save_tokenizer(path)``), the settings, then the manifest."""
    from safetensors.numpy import save_file

    validate(StaticSettings, settings, "the static cache entry being written")
    save_file(arrays, str(folder / VECTORS))
    save_tokenizer(str(folder / TOKENIZER))
    (folder / SETTINGS).write_text(json.dumps(settings))
    write_manifest(folder)


def read_static_entry(path: Path) -> tuple[dict[str, np.ndarray], Path, StaticSettings]:
    """A verified entry: (arrays, the tokenizer file, the settings); a RecordError naming the file and the field
    otherwise."""
    if path.is_symlink():
        raise RecordError(f"{path}: a symlink; a cache entry is a folder of its own")
    folder = Folder(path, "cache entry", strict=True, note_unverified=False)
    if not folder.verified:
        raise RecordError(f"{path}: no MANIFEST.json; the entry was not completed")
    settings = validate(StaticSettings, folder.read_json(SETTINGS, "settings"), path / SETTINGS)
    arrays = read_tensors(folder.path(VECTORS, "vectors"))
    where = path / VECTORS
    vectors = arrays.get("vectors")
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[0] < 2 or vectors.shape[1] < 1 \
            or vectors.dtype != np.float32:
        raise RecordError(f"{where}: field vectors: expected a float32 matrix of token vectors")
    if not np.isfinite(vectors).all():
        raise RecordError(f"{where}: field vectors: non-finite values")
    if not np.abs(vectors).sum(axis=1).any():
        raise RecordError(f"{where}: field vectors: every vector is zero")
    unknown = sorted(set(arrays) - {"vectors", "weights", "token_mapping"})
    if unknown:
        raise RecordError(f"{where}: field {unknown[0]}: not a tensor of a static model")
    mapping = arrays.get("token_mapping")
    rows = len(vectors)
    if mapping is not None:
        if mapping.ndim != 1 or mapping.dtype.kind not in "iu" or (len(mapping) and (mapping.min() < 0 or mapping.max() >= rows)):
            raise RecordError(f"{where}: field token_mapping: expected token ids mapped to rows 0..{rows - 1}")
        rows = len(mapping)  # token ids index the mapping
    weights = arrays.get("weights")
    if weights is not None and (weights.ndim != 1 or len(weights) != rows or not np.isfinite(weights).all()):
        raise RecordError(f"{where}: field weights: expected one finite weight per token")
    tokenizer = check_tokenizer_json(folder, TOKENIZER, rows=rows)
    if mapping is None:  # one vector per token, in id order
        tokens = _tokens(tokenizer)
        if tokens is not None and tokens != rows:
            raise RecordError(f"{path / TOKENIZER}: field model.vocab: {tokens} tokens, but {VECTORS} holds {rows} vectors "
                              "(one per token); the tokenizer is not the entry's")
    return arrays, folder.path(TOKENIZER, "tokenizer"), settings


def _tokens(tokenizer: dict) -> int | None:
    """How many distinct tokens a tokenizers ``tokenizer.json`` knows (its vocabulary's and its added tokens'), as
    ``Tokenizer.get_vocab()`` lists them; None for a vocabulary of another shape."""
    vocab = tokenizer["model"].get("vocab")
    if isinstance(vocab, dict):
        names = set(vocab)
    elif isinstance(vocab, list) and all(isinstance(v, list) and v and isinstance(v[0], str) for v in vocab):
        names = {v[0] for v in vocab}
    else:
        return None
    added = tokenizer.get("added_tokens") or []
    names |= {t["content"] for t in added if isinstance(t, dict) and isinstance(t.get("content"), str)}
    return len(names)


def put_in_place(scratch: Path, target: Path, verify: Callable[[Path], object]) -> None:
    """Rename a filled scratch folder to the cache entry ``target``; a damaged entry there (``verify`` raises
    RecordError) is moved aside first. Renames are atomic: of two processes filling one entry, one rename wins and
    the other uses the winner's entry."""
    if target.exists() or target.is_symlink():
        try:
            verify(target)
            return  # another process put a whole entry there meanwhile
        except RecordError:
            aside = target.with_name(f".{target.name}.damaged-{os.getpid()}")
            try:
                os.rename(target, aside)
            except OSError:
                pass  # another process moved it first
            else:
                if aside.is_symlink() or not aside.is_dir():
                    aside.unlink(missing_ok=True)
                else:
                    shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(scratch, target)
    except OSError:  # another process renamed its whole entry in first
        pass
