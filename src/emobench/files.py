"""Files of the folders emobench writes (runs, models, exports, comparisons, tuning), read and written safely.

- Every file a folder's records name is a plain relative path inside the folder: no absolute path, no '..',
  no symlink; checked before anything is opened (:meth:`Folder.path`).
- JSON is bounded: a file's size and its nesting depth are limited, so an edited file is a clear error
  naming it, never a RecursionError or a memory blow-up (:func:`parse_json`).
- A complete folder carries ``MANIFEST.json`` (every file's size and sha256, like a wheel's RECORD), written
  last and verified when the folder is opened: a file replaced, truncated or edited after saving is an
  error naming it, unless ``allow_modified`` is given, which says loudly what it skipped. A subfolder with a
  manifest of its own (a run's ``model/``, a comparison's runs) is listed by that manifest only (manifest.py).
- Files are replaced atomically (a temporary file in the same folder, renamed), so a kill never leaves half
  a file.
"""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path, PurePosixPath

from .errors import EmobenchError, EmobenchWarning, RecordError, option

MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = 1
LOCK_FILE = "LOCK"
MAX_JSON_BYTES = 64 << 20  # records; vocabularies pass a larger limit
MAX_JSON_DEPTH = 64
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]*$")


class UnverifiedFolderWarning(EmobenchWarning):
    """A folder without a manifest (saved by emobench 0.2): its files cannot be checked against what was saved."""


class ModifiedFileWarning(EmobenchWarning):
    """A file that differs from the folder's manifest, used anyway because ``allow_modified`` was given."""


# ---------------------------------------------------------------- names


def cache_dir(kind: str) -> Path:
    """Where emobench keeps a kind of cache entry ("static", "bodies", "hub"): ``$EMOBENCH_CACHE/KIND``, by default
    under ~/.cache/emobench."""
    return Path(os.environ.get("EMOBENCH_CACHE") or Path.home() / ".cache" / "emobench") / kind


def check_plain_name(name: str, param: str = "name") -> str:
    """A folder name that stays inside its output folder: no separators, no '..', not absolute."""
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or ".." in name or name.endswith(".partial"):
        raise EmobenchError(
            f"{option(param)} {name!r}: expected a plain folder name (letters, digits, '.', '_', '-', '+', '=', '@'; "
            "no '/', no '..', not absolute, not ending in '.partial')"
        )
    return name


def check_output_folder(folder: str | Path, param: str = "output_dir") -> Path:
    """An output folder that is a folder (or does not exist yet), not a file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EmobenchError(f"{option(param)} {folder}: is a file; expected a folder (it is created if missing)")
    return folder


def check_output_file(path: str | Path, param: str) -> Path:
    """A file an option writes: not a folder, in a folder that exists, and not inside a folder emobench wrote."""
    path = Path(path)
    if path.is_dir():
        raise EmobenchError(f"{option(param)} {path}: is a folder; expected a file name")
    if not path.parent.is_dir():
        raise EmobenchError(f"{option(param)} {path}: the folder {path.parent} does not exist")
    check_outside_records(path.parent, param, path)
    return path


def check_outside_records(path: str | Path, param: str, shown: str | Path | None = None) -> None:
    """Outputs never go inside a folder emobench wrote and finished -- a run, model, export, comparison, tuning folder or
    cache entry has a manifest, which new files would contradict (``export RUN -o RUN/model/onnx`` left the run
    unusable) -- nor inside an unfinished ``NAME.partial`` folder. A comparison or tuning folder being continued drops
    its manifest first, so the runs it trains inside itself pass. ``shown``: the output named in the message (a file
    written in the folder ``path``)."""
    shown = path if shown is None else shown
    here = Path(os.path.abspath(path))
    for folder in (here, *here.parents):
        if folder.name.endswith(".partial"):
            raise EmobenchError(f"{option(param)} {shown}: inside {folder}, an unfinished folder emobench is writing; "
                                "choose a folder outside it")
        marker = next((name for name in (MANIFEST, "emobench_model.json") if (folder / name).is_file()), None)
        if marker is None and (folder / "metrics.json").is_file() and (folder / "config.json").is_file():
            marker = "metrics.json"  # a run saved by emobench 0.2, without a manifest
        if marker is not None:
            raise EmobenchError(f"{option(param)} {shown}: inside {folder}, a folder emobench wrote (it has a "
                                f"{marker}); new files there would break it. Choose a folder outside it")


def relative_name(value, where: str) -> str:
    """A file name a record holds: a relative POSIX path of plain parts, never leaving its folder."""
    if not isinstance(value, str) or not value or "\\" in value or "\x00" in value:
        raise RecordError(f"{where}: {value!r}: expected a file name inside the folder")
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("", ".", "..") for part in value.split("/")) or value.startswith("~"):
        raise RecordError(f"{where}: {value!r}: expected a file name inside the folder (no absolute path, no '..')")
    return value


# ---------------------------------------------------------------- JSON


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_json(raw: bytes, path, what: str = "file", max_depth: int = MAX_JSON_DEPTH, ours: bool = True):
    """JSON from bytes, refusing non-UTF-8 text, NaN/Infinity, repeated keys and nesting past ``max_depth``; errors
    name ``path`` and ``what`` the file is (``ours``: a file emobench wrote, so a problem means it was edited)."""
    where = f"{path}: the {what}"
    corrupt = "the file is corrupt or not emobench's" if ours else f"expected a JSON {what}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{where} is not UTF-8 text (byte {exc.start}); {corrupt}") from None

    def constant(name):
        raise ValueError(f"{name} is not a JSON number")

    def unique(pairs):  # JSON allows repeated keys and Python keeps the last: for an edited file that is a guess
        data = dict(pairs)
        if len(data) != len(pairs):  # linear: a tokenizer.json's vocabulary holds 30,000 keys
            seen: set = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ValueError(f"key {twice!r} appears twice")
        return data

    try:
        data = json.loads(text, parse_constant=constant, object_pairs_hook=unique)
    except RecursionError:
        raise RecordError(f"{where} is JSON nested too deeply to read (more than {max_depth} levels); {corrupt}") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                          + ("; it is truncated or corrupt" if ours else "")) from None
    except ValueError as exc:
        raise RecordError(f"{where} is not valid JSON ({exc}); {corrupt}") from None
    if _depth(data) > max_depth:
        raise RecordError(f"{where} is JSON nested more than {max_depth} levels deep; {corrupt}")
    return data


def is_special(mode: int) -> bool:
    """A device, pipe or socket (``os.stat``'s mode): read whole, /dev/zero or a pipe never ends."""
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def read_json(path: str | Path, what: str = "file", max_bytes: int = MAX_JSON_BYTES):
    """The parsed JSON of a file given by the user (a label map, a saved audit): bounded like records."""
    path = Path(path)
    try:
        status = path.stat()
        size = status.st_size
        if is_special(status.st_mode):  # /dev/zero, a pipe: its size says nothing
            raise RecordError(f"{path}: is not a regular file (a device, pipe or socket); expected the {what}")
        if size > max_bytes:
            raise RecordError(f"{path}: the {what} has {size:,} bytes; at most {max_bytes:,} are read")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecordError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise RecordError(f"{path}: is a folder; expected the {what}") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    return parse_json(raw, path, what, ours=False)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # said of the file asked for, not of the temporary one beside it
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def json_text(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=_plain)


def _plain(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    from .schema import Record

    if isinstance(value, Record):  # a typed value reaching a JSON edge is written as its record writes it
        return value.dump()
    raise TypeError(f"{type(value).__name__} is not JSON")


def write_json(path: str | Path, data) -> None:
    write_text_atomic(path, json_text(data))


def read_tensors(path: str | Path, framework: str = "numpy") -> dict:
    """A safetensors file (arrays only: reading it cannot run code); a missing, truncated or corrupt file is
    an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"{path}: weights file not found; the model folder is incomplete")
    try:
        if framework == "numpy":
            from safetensors.numpy import load_file
        else:
            from safetensors.torch import load_file
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type for every malformed file
        raise RecordError(f"{path}: the weights file cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                          "it is truncated or corrupt") from None
