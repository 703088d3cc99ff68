"""Reading and writing the JSON files of run, model and comparison folders: corrupt or truncated files are
clear errors naming the file, and files are replaced atomically so a kill never leaves half a file."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import EmobenchError

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]*$")


def read_json(path: str | Path, what: str = "file", required: tuple[str, ...] = ()):
    """The parsed JSON of ``path``; a missing, unreadable or corrupt file (or one lacking ``required`` keys)
    is an EmobenchError that names the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EmobenchError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmobenchError(f"{path}: cannot read the {what} ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EmobenchError(f"{path}: the {what} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                            "it is truncated or corrupt") from None
    if required:
        if not isinstance(data, dict):
            raise EmobenchError(f"{path}: the {what} should hold a JSON object, found {type(data).__name__}")
        missing = [key for key in required if key not in data]
        if missing:
            raise EmobenchError(f"{path}: the {what} lacks {', '.join(map(repr, missing))}; it is corrupt or not emobench's")
    return data


def read_tensors(path: str | Path, framework: str = "numpy") -> dict:
    """A safetensors file (arrays only: reading it cannot run code); a missing, truncated or corrupt file is
    an EmobenchError naming it."""
    path = Path(path)
    if not path.is_file():
        raise EmobenchError(f"{path}: weights file not found; the model folder is incomplete")
    try:
        if framework == "numpy":
            from safetensors.numpy import load_file
        else:
            from safetensors.torch import load_file
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type for every malformed file
        raise EmobenchError(f"{path}: the weights file cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                            "it is truncated or corrupt") from None


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def check_plain_name(name: str, option: str = "--name") -> str:
    """A folder name that stays inside its output folder: no separators, no '..', not absolute."""
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or ".." in name or name.endswith(".partial"):
        raise EmobenchError(
            f"{option} {name!r}: expected a plain folder name (letters, digits, '.', '_', '-', '+', '=', '@'; "
            "no '/', no '..', not absolute, not ending in '.partial')"
        )
    return name


def check_output_folder(folder: str | Path, option: str = "--output-dir") -> Path:
    """An output folder that is a folder (or does not exist yet), not a file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EmobenchError(f"{option} {folder}: is a file; expected a folder (it is created if missing)")
    return folder
