"""Manifests: a complete folder's ``MANIFEST.json`` lists every file's size and sha256 (like a wheel's RECORD), and
:class:`Folder` verifies it when the folder is opened and checks every name a record gives before it is opened."""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path

from .errors import RecordError, option
from .files import (LOCK_FILE, MANIFEST, MANIFEST_FORMAT, MAX_JSON_BYTES, ModifiedFileWarning, UnverifiedFolderWarning,
                    parse_json, relative_name, write_json)


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
