"""A pretrained model folder given by the user (``--model hf:DIR``, ``--set body=DIR``, ``--set pretrained=DIR``), and the
Hugging Face files of a saved model: checked like a record folder before any library reads them.

transformers, tokenizers and sentence-transformers trust a folder: they follow the paths it names, unpickle ``.bin``
weights, allocate whatever ``config.json`` sizes ask for and index embeddings with whatever ids the tokenizer gives. So
before a library sees the folder:

- every file is a plain file inside it (a symlink resolving outside is refused), ``modules.json`` paths included;
- JSON files are bounded (size, 64 levels) and shaped as expected; nothing names custom code (``auto_map``);
- weights are safetensors (pickled ``.bin``/``.pt`` weights are never read), and the sizes ``config.json`` declares are
  integers in range, consistent (heads divide the hidden size) and those of the weights: the embedding matrix is
  (vocab_size, hidden size), and the model the configuration describes is about the size of the weights on disk, so a
  config cannot make a library allocate more than the weights hold;
- a tokenizer is there, and every id it gives is a row of the embeddings.

Errors name the file and the field, never print a file's contents.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import EmobenchError, option
from ..files import MANIFEST, parse_json
from ..records.model import MODEL_FILE

HF_CONFIG = "config.json"  # a Hugging Face model folder's own configuration

MAX_CONFIG_BYTES = 1 << 20
MAX_TOKENIZER_BYTES = 256 << 20
MAX_FILES = 10_000
PICKLED = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5", ".msgpack", ".npz")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
# The sizes configurations declare (names differ by architecture), and how large each may be.
SIZES = {"hidden_size": 65_536, "d_model": 65_536, "dim": 65_536, "n_embd": 65_536,
         "num_hidden_layers": 512, "n_layer": 512, "n_layers": 512,
         "num_attention_heads": 1024, "n_head": 1024, "n_heads": 1024,
         "intermediate_size": 262_144, "d_inner": 262_144, "hidden_dim": 262_144, "n_inner": 262_144,
         "vocab_size": 4_000_000, "max_position_embeddings": 1_048_576, "n_positions": 1_048_576,
         "type_vocab_size": 4096}
HEADS = (("hidden_size", "num_attention_heads"), ("d_model", "n_head"), ("dim", "n_heads"), ("n_embd", "n_head"))
EMBEDDINGS = ("word_embeddings.weight", "embed_tokens.weight", "wte.weight", "word_embedding.weight")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_checked: dict[tuple, None] = {}


def _first(config: dict, *names: str):
    return next((config[n] for n in names if isinstance(config.get(n), int) and not isinstance(config.get(n), bool)), None)


def check_source(name, param: str = "pretrained") -> None:
    """A model to start from: a local folder (checked, see the module docstring) or a hub id of the usual form."""
    if not isinstance(name, str) or not name.strip():
        raise EmobenchError(f"parameter {param}={name!r}: expected a Hugging Face hub id (org/name) or a local model "
                            f"folder ({option('set')} {param}=DIR)")
    path = Path(name).expanduser()
    if path.is_dir():
        check_folder(path)
        return
    if path.exists():
        raise EmobenchError(f"parameter {param}={name}: a file; expected a model folder or a hub id")
    looks_like_path = name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
    if looks_like_path or not _HUB_ID.match(name):
        raise EmobenchError(f"parameter {param}={name}: no such model folder (and not a hub id of the form org/name)")


def check_folder(folder: str | Path, saved: bool = False) -> None:
    """The Hugging Face files of ``folder``, before transformers, tokenizers or sentence-transformers read it.
    ``saved``: an emobench model folder (its other files are emobench's own, checked by its records)."""
    folder = Path(folder)
    stamp = _stamp(folder)
    if stamp in _checked:  # a fit loads the config, the tokenizer and the model: the folder is checked once
        return
    _check_json_files(folder, saved)
    config = _config(folder)
    shapes = _weight_shapes(folder, config)
    _check_sizes(folder, config, shapes)
    _check_tokenizer(folder, config, shapes)
    if not saved:
        _check_modules(folder, config)
        _check_finite(folder)
    _checked[stamp] = None


def _stamp(folder: Path) -> tuple:
    """The folder's files, sizes and times, after checking every entry stays inside it."""
    root = folder.resolve()
    entries = []
    for count, path in enumerate(sorted(folder.rglob("*"))):
        if count >= MAX_FILES:
            raise EmobenchError(f"{folder}: more than {MAX_FILES:,} files; expected a model folder")
        if path.is_symlink():
            try:
                inside = path.resolve().is_relative_to(root)
            except OSError:
                inside = False
            if not inside:
                raise EmobenchError(f"{path}: a symlink pointing outside the model folder {folder}; copy the folder with "
                                    "its files (cp -rL) and give the copy")
        if path.is_file():
            info = path.stat()
            entries.append((path.relative_to(folder).as_posix(), info.st_size, info.st_mtime_ns))
    return (str(root), tuple(entries))


def _read(path: Path, what: str, limit: int):
    size = path.stat().st_size
    if size > limit:
        raise EmobenchError(f"{path}: the {what} has {size:,} bytes; at most {limit:,} are read")
    return parse_json(path.read_bytes(), path, what, ours=False)


def _check_json_files(folder: Path, saved: bool) -> None:
    """Every JSON file a library may read (tokenizer_config.json, special_tokens_map.json, a module's config, ...):
    bounded and well-formed before any library parses it (a 5,000-deep tokenizer_config.json was a RecursionError)."""
    for path in sorted(folder.rglob("*.json")):
        if saved and path.name in (MANIFEST, MODEL_FILE):
            continue  # emobench's own, read by its records
        limit = MAX_TOKENIZER_BYTES if path.name == "tokenizer.json" else MAX_CONFIG_BYTES * 64
        what = {HF_CONFIG: "model configuration", "tokenizer.json": "tokenizer"}.get(path.name, "JSON file")
        _read(path, what, limit)


def _config(folder: Path) -> dict:
    path = folder / HF_CONFIG
    if not path.is_file():
        raise EmobenchError(f"{folder}: no config.json; expected a Hugging Face model folder (config.json, "
                            "model.safetensors and the tokenizer's files)")
    config = _read(path, "model configuration", MAX_CONFIG_BYTES)
    if not isinstance(config, dict):
        raise EmobenchError(f"{path}: expected a JSON object (a Hugging Face model configuration)")
    if "auto_map" in config or config.get("trust_remote_code"):
        raise EmobenchError(f"{path}: field auto_map: the model ships its own code, which emobench never runs; give a "
                            "model of an architecture transformers implements")
    model_type = config.get("model_type")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING_NAMES:
        raise EmobenchError(f"{path}: field model_type: {model_type!r}, expected an architecture transformers implements "
                            "(bert, roberta, distilbert, xlnet, mpnet, ...)")
    for name, limit in SIZES.items():
        value = config.get(name)
        if value is None or name not in config:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise EmobenchError(f"{path}: field {name}: {value!r}, expected an integer from 1 to {limit:,}")
    for hidden, heads in HEADS:
        if isinstance(config.get(hidden), int) and isinstance(config.get(heads), int) and config[hidden] % config[heads]:
            raise EmobenchError(f"{path}: field {heads}: {config[heads]} attention heads do not divide {hidden} "
                                f"{config[hidden]}")
    return config


def _weight_shapes(folder: Path, config: dict) -> dict[str, tuple]:
    """Every weight tensor's shape, from the safetensors headers (nothing is loaded)."""
    from safetensors import safe_open

    index = folder / "model.safetensors.index.json"
    if (folder / "model.safetensors").is_file():
        files = ["model.safetensors"]
    elif index.is_file():
        data = _read(index, "weights index", MAX_CONFIG_BYTES * 64)
        mapping = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise EmobenchError(f"{index}: field weight_map: expected the safetensors file of every tensor")
        files = sorted(set(mapping.values()))
        for name in files:
            if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".safetensors"):
                raise EmobenchError(f"{index}: field weight_map: {name[:80]!r}, expected a .safetensors file in the folder")
    else:
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLED)
        found = f" (it holds {', '.join(pickled[:3])}: pickled weights, which can run code when loaded and are never " \
                "read)" if pickled else ""
        raise EmobenchError(f"{folder}: no model.safetensors{found}; emobench loads safetensors weights only (convert "
                            "them with transformers: model.save_pretrained(DIR, safe_serialization=True))")
    shapes = {}
    for name in files:
        path = folder / name
        if not path.is_file():
            raise EmobenchError(f"{path}: missing; the weights index names it")
        try:
            with safe_open(str(path), framework="numpy") as handle:
                for key in handle.keys():
                    shapes[key] = tuple(handle.get_slice(key).get_shape())
        except Exception as exc:  # safetensors' own error type for a malformed header
            detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise EmobenchError(f"{path}: not a readable safetensors file ({detail})") from None
    if not shapes:
        raise EmobenchError(f"{folder / files[0]}: holds no tensors")
    return shapes


def _check_sizes(folder: Path, config: dict, shapes: dict[str, tuple]) -> None:
    path = folder / HF_CONFIG
    hidden = _first(config, "hidden_size", "d_model", "dim", "n_embd")
    vocab = _first(config, "vocab_size")
    embedding = next((shape for key, shape in shapes.items() if key.endswith(EMBEDDINGS) and len(shape) == 2), None)
    if embedding is not None and vocab is not None and hidden is not None and embedding != (vocab, hidden):
        raise EmobenchError(f"{path}: field vocab_size: the configuration says {vocab} tokens of {hidden} dimensions, but "
                            f"the weights' embeddings are {embedding[0]} x {embedding[1]}; config.json is not the weights'")
    stored = sum(math.prod(shape) for shape in shapes.values())
    if hidden is not None:
        # ALBERT shares its layers in groups and embeds in a smaller space
        layers = _first(config, "num_hidden_groups") or _first(config, "num_hidden_layers", "n_layer", "n_layers") or 0
        inner = _first(config, "intermediate_size", "d_inner", "hidden_dim", "n_inner") or 4 * hidden
        positions = _first(config, "max_position_embeddings", "n_positions") or 0
        embedded = _first(config, "embedding_size") or hidden
        described = ((vocab or 0) + positions) * embedded + layers * (4 * hidden * hidden + 2 * hidden * inner)
        if described > 8 * stored + 10_000_000:  # a config cannot make a library allocate far more than the weights hold
            raise EmobenchError(f"{path}: the configuration describes a model of about {described:,} parameters, but the "
                                f"weights hold {stored:,}; its sizes are not the weights'")


def _token_ids(data, where: Path) -> list[int]:
    from ..errors import RecordError
    from ..records.model import tokenizer_ids

    try:
        return tokenizer_ids(data, where)
    except RecordError as exc:  # a user's folder, not a record emobench wrote: said without "was edited"
        raise EmobenchError(str(exc).split("; the file was edited")[0]) from None


def _check_tokenizer(folder: Path, config: dict, shapes: dict[str, tuple]) -> None:
    present = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not present:
        raise EmobenchError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); a model folder needs the "
                            "tokenizer it was trained with (tokenizer.save_pretrained(DIR))")
    embedding = next((shape for key, shape in shapes.items() if key.endswith(EMBEDDINGS) and len(shape) == 2), None)
    rows = embedding[0] if embedding is not None else _first(config, "vocab_size")
    path = folder / "tokenizer.json"
    if path.is_file():
        data = _read(path, "tokenizer", MAX_TOKENIZER_BYTES)
        ids = _token_ids(data, path)  # a dict with a model, or an error
        kind = data["model"].get("type")
        if kind is not None and kind not in ("BPE", "WordPiece", "WordLevel", "Unigram"):
            raise EmobenchError(f"{path}: field model.type: {str(kind)[:60]!r}, expected a tokenizers model (BPE, WordPiece, "
                                "WordLevel or Unigram)")
        largest = max(ids, default=-1)
        if rows is not None and largest >= rows:
            raise EmobenchError(f"{path}: field model.vocab: token id {largest}, but the model embeds {rows} tokens "
                                f"(ids 0 to {rows - 1}); the tokenizer is not the model's")
    if rows is None:
        return
    vocab_txt = folder / "vocab.txt"
    if vocab_txt.is_file():
        with open(vocab_txt, "rb") as handle:
            lines = sum(1 for _ in handle)
        if lines > rows:
            raise EmobenchError(f"{vocab_txt}: {lines:,} tokens, but the model embeds {rows:,}; the vocabulary is not the "
                                "model's")


ALLOWED_MODULES = {"Transformer", "Pooling", "Normalize"}  # sentence-transformers modules emobench computes itself


def _check_modules(folder: Path, config: dict) -> None:
    """sentence-transformers' modules.json: modules emobench computes (a Dense or other module would be imported from
    the folder's description, or silently left out), module folders named inside the folder, and the module settings
    consistent with the encoder."""
    _check_settings(folder, config)
    path = folder / "modules.json"
    if not path.is_file():
        return
    modules = _read(path, "sentence-transformers modules", MAX_CONFIG_BYTES)
    if not isinstance(modules, list) or not all(isinstance(m, dict) and isinstance(m.get("type"), str) for m in modules):
        raise EmobenchError(f"{path}: expected a list of sentence-transformers modules with their type")
    hidden = _first(config, "hidden_size", "d_model", "dim", "n_embd")
    for k, module in enumerate(modules):
        sub = module.get("path", "")
        if not isinstance(sub, str) or sub.startswith(("/", "~")) or "\\" in sub or ".." in sub.split("/"):
            raise EmobenchError(f"{path}: field [{k}].path: {str(sub)[:80]!r}, expected a folder inside the model folder")
        kind = module["type"].rsplit(".", 1)[-1]
        if kind not in ALLOWED_MODULES or not module["type"].startswith("sentence_transformers."):
            raise EmobenchError(f"{path}: module {module['type'][:100]!r} is not one emobench loads (only sentence-"
                                f"transformers' {', '.join(sorted(ALLOWED_MODULES))}); a body with other modules is refused")
        if kind == "Pooling" and (folder / sub / HF_CONFIG).is_file():
            dimension = module_config(folder, module, k).get("word_embedding_dimension")  # a dict (module_config)
            if dimension is not None and dimension != hidden:
                raise EmobenchError(f"{folder / sub / 'config.json'}: field word_embedding_dimension: {dimension!r}, but the "
                                    f"encoder's hidden size is {hidden}")


def _check_settings(folder: Path, config: dict) -> None:
    """sentence-transformers' own settings (sentence_bert_config.json): a length the encoder can take."""
    settings = folder / "sentence_bert_config.json"
    if settings.is_file():
        values = _read(settings, "sentence-transformers settings", MAX_CONFIG_BYTES)
        if not isinstance(values, dict):
            raise EmobenchError(f"{settings}: expected a JSON object (sentence-transformers' settings)")
        length = values.get("max_seq_length")
        limit = _first(config, "max_position_embeddings", "n_positions") or 1_048_576
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= limit):
            raise EmobenchError(f"{settings}: field max_seq_length: {length!r}, expected an integer from 1 to {limit:,}")


def _check_finite(folder: Path) -> None:
    """Every floating-point weight finite: NaN embeddings train a NaN loss, or a static model of zero vectors."""
    import numpy as np
    from safetensors import safe_open

    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), framework="numpy") as handle:
            for key in handle.keys():
                tensor = handle.get_tensor(key)
                if tensor.dtype.kind == "f" and not np.isfinite(tensor).all():
                    raise EmobenchError(f"{path}: field {key}: non-finite values (NaN or infinity); the weights are "
                                        "damaged")


def module_config(folder: Path, module: dict, k: int) -> dict:
    """A sentence-transformers module's config.json (its path checked by :func:`_check_modules`), bounded."""
    path = folder / module.get("path", "") / HF_CONFIG
    if not path.resolve().is_relative_to(folder.resolve()):
        raise EmobenchError(f"{folder / 'modules.json'}: field [{k}].path: resolves outside the model folder")
    if not path.is_file():
        raise EmobenchError(f"{path}: missing; {folder / 'modules.json'} names the module")
    config = _read(path, "module configuration", MAX_CONFIG_BYTES)
    if not isinstance(config, dict):
        raise EmobenchError(f"{path}: expected a JSON object")
    return config
