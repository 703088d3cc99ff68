"""Files of the folders emobench writes (runs, models, exports, comparisons, tuning), read and written safely.

- Every file a folder's records name is a plain relative path inside the folder: no absolute path, no '..',
  no symlink; checked before anything is opened (:meth:`Folder.path`).
- JSON is bounded: a file's size and its nesting depth are limited, so an edited file is a clear error
  naming it, never a RecursionError or a memory blow-up (:func:`parse_json`).
- A complete folder carries ``MANIFEST.json`` (every file's size and sha256, like a wheel's RECORD), written
  last and verified when the folder is opened: a file replaced, truncated or edited after saving is an
  error naming it, unless ``allow_modified`` is given, which says loudly what it skipped. A subfolder with a
  manifest of its own (a run's ``model/``, a comparison's runs) is listed by that manifest only.
- Files are replaced atomically (a temporary file in the same folder, renamed), so a kill never leaves half
  a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
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
        keys = [k for k, _ in pairs]
        twice = next((k for k in keys if keys.count(k) > 1), None)
        if twice is not None:
            raise ValueError(f"key {twice!r} appears twice")
        return dict(pairs)

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


def read_json(path: str | Path, what: str = "file", max_bytes: int = MAX_JSON_BYTES):
    """The parsed JSON of a file given by the user (a label map, a saved audit): bounded like records."""
    path = Path(path)
    try:
        size = path.stat().st_size
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


# ---------------------------------------------------------------- manifests


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: Path, here: Path, skip: set[str]):
    for entry in sorted(here.iterdir()):
        rel = entry.relative_to(root).as_posix()
        if rel in skip or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        if entry.is_symlink():
            raise RecordError(f"{entry}: a symlink inside a folder emobench writes; refusing to list it")
        if entry.is_dir():
            if (entry / MANIFEST).is_file():  # a folder of its own, pinned by its manifest
                yield entry / MANIFEST
            else:
                yield from _walk(root, entry, skip)
        elif entry.is_file():
            yield entry


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_manifest(folder: str | Path, skip: tuple[str, ...] = ()) -> dict:
    """Record every file's size and sha256 (last, when the folder is complete). Files get the permissions every
    other file gets (safetensors writes 0600, which breaks a shared runs folder)."""
    from . import __version__

    folder = Path(folder)
    files, mode = {}, _default_mode()
    for path in _walk(folder, folder, {MANIFEST, LOCK_FILE, *skip}):
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
        files[path.relative_to(folder).as_posix()] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    manifest = {"format": MANIFEST_FORMAT, "written_by": f"emobench {__version__}", "files": files}
    write_json(folder / MANIFEST, manifest)
    return manifest


class Folder:
    """Safe access to one folder emobench wrote: names checked, the manifest verified when opened.

    ``kind`` names the folder in messages ("run", "model", "export", ...). ``strict`` folders (models and
    exports, whose files libraries read by themselves) may hold no file the manifest does not list.
    ``regenerated``: names (or folder prefixes ending in '/') of outputs about to be written again, which are
    not verified (a re-rendered report does not depend on the old one).
    """

    def __init__(self, path: str | Path, kind: str, allow_modified: bool = False, strict: bool = False,
                 note_unverified: bool = True, regenerated: tuple[str, ...] = ()):
        self.root = Path(path)
        self.kind = kind
        self.allow_modified = allow_modified
        self.regenerated = regenerated
        if not self.root.is_dir():
            raise RecordError(f"{self.root}: no such {kind} folder")
        self.resolved = self.root.resolve()
        self.manifest: dict | None = None
        self.modified: list[str] = []
        manifest = self.root / MANIFEST
        if manifest.is_symlink():
            raise RecordError(f"{manifest}: a symlink; expected the folder's own manifest")
        if manifest.is_file():
            self.manifest = self._read_manifest(manifest)
            self._verify(strict)
        elif note_unverified:
            warnings.warn(f"{self.root}: no {MANIFEST} (this {kind} folder was saved by emobench 0.2, or is incomplete): "
                          "its files are not verified against what was saved", UnverifiedFolderWarning, stacklevel=3)

    @property
    def verified(self) -> bool:
        return self.manifest is not None

    def _read_manifest(self, path: Path) -> dict:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise RecordError(f"{path}: the manifest is too large; it is corrupt or not emobench's")
        data = parse_json(path.read_bytes(), path, "manifest")
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict) or data.get("format") != MANIFEST_FORMAT:
            raise RecordError(f"{path}: field files: expected emobench's manifest (format {MANIFEST_FORMAT}, a files "
                              "object); it is corrupt or not emobench's")
        for name, entry in files.items():
            relative_name(name, f"{path}: field files")
            if not (isinstance(entry, dict) and isinstance(entry.get("size"), int) and entry["size"] >= 0
                    and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
                raise RecordError(f"{path}: field files.{name}: expected a size and a sha256; the manifest is corrupt")
        return files

    def _problem(self, message: str) -> None:
        if not self.allow_modified:
            raise RecordError(f"{message} (pass {option('allow_modified')} to use the folder anyway)")
        self.modified.append(message)
        warnings.warn(f"{message}; used anyway because {option('allow_modified')} was given, so the results may not be "
                      "the saved ones", ModifiedFileWarning, stacklevel=4)

    def _verify(self, strict: bool) -> None:
        for name, entry in self.manifest.items():
            if any(name == r or (r.endswith("/") and name.startswith(r)) for r in self.regenerated):
                continue
            path = self.root / name
            if path.is_symlink() or any(p.is_symlink() for p in path.parents if p != self.root and
                                        self.root in p.parents):
                raise RecordError(f"{path}: a symlink where the {self.kind} folder had a file; refusing to follow it")
            if not path.is_file():
                self._problem(f"{path}: listed in {self.root / MANIFEST} but missing; the {self.kind} folder is incomplete")
                continue
            size = path.stat().st_size
            if size != entry["size"]:
                self._problem(f"{path}: {size:,} bytes, but {entry['size']:,} when the {self.kind} was saved; the file "
                              "was truncated, replaced or edited")
            elif sha256_of(path) != entry["sha256"]:
                self._problem(f"{path}: its sha256 differs from the one recorded when the {self.kind} was saved; the file "
                              "was replaced or edited")
        if strict:
            listed = set(self.manifest)
            for path in _walk(self.root, self.root, {MANIFEST, LOCK_FILE}):
                rel = path.relative_to(self.root).as_posix()
                if rel not in listed:
                    self._problem(f"{path}: not written by emobench (the {self.kind} folder's manifest does not list it); "
                                  "a library reading the folder could pick it up")

    def path(self, name: str, what: str | None = None, required: bool = True) -> Path | None:
        """The path of a file the folder's records name, after checking the name stays inside the folder.
        ``required=False``: None when the file is absent (or, in a verified folder, not listed)."""
        what = what or "file"
        name = relative_name(name, f"{self.root}: the {what}")
        path = self.root / name
        if path.is_symlink() or any(p.is_symlink() for p in path.parents if self.root in p.parents):
            raise RecordError(f"{path}: the {what} is a symlink; the {self.kind} folder must hold its own files")
        try:
            inside = path.resolve().is_relative_to(self.resolved)
        except OSError:
            inside = False
        if not inside:
            raise RecordError(f"{path}: the {what} resolves outside the {self.kind} folder")
        if self.manifest is not None and name not in self.manifest and not self._pinned(name):
            if not required and not path.exists():
                return None
            if path.exists():
                self._problem(f"{path}: the {what} is not listed in the {self.kind} folder's manifest (added after saving)")
                return path
            raise RecordError(f"{path}: the {what} is missing; the {self.kind} folder is incomplete")
        if not path.is_file():
            if not required and not path.exists():
                return None
            raise RecordError(f"{path}: the {what} is missing; the {self.kind} folder is incomplete")
        return path

    def _pinned(self, name: str) -> bool:
        """Whether ``name`` lies in a subfolder the manifest pins by that subfolder's own manifest."""
        parts = name.split("/")
        return any("/".join(parts[:i] + [MANIFEST]) in self.manifest for i in range(1, len(parts)))

    def has(self, name: str) -> bool:
        return self.path(name, required=False) is not None

    def read_bytes(self, name: str, what: str | None = None, max_bytes: int = MAX_JSON_BYTES) -> bytes:
        path = self.path(name, what)
        size = path.stat().st_size
        if size > max_bytes:
            raise RecordError(f"{path}: the {what or 'file'} has {size:,} bytes; at most {max_bytes:,} are read")
        return path.read_bytes()

    def read_json(self, name: str, what: str | None = None, max_bytes: int = MAX_JSON_BYTES):
        return parse_json(self.read_bytes(name, what, max_bytes), self.root / name, what or "file")

    def subfolder(self, name: str, kind: str, strict: bool = False) -> "Folder":
        """A folder inside this one with a manifest of its own (pinned by this one's)."""
        if self.manifest is not None:
            self.path(f"{name}/{MANIFEST}", f"{kind} folder's manifest")
        return Folder(self.root / relative_name(name, f"{self.root}: the {kind} folder"), kind, self.allow_modified,
                      strict, note_unverified=self.manifest is not None)
