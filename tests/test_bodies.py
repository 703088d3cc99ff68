"""Bodies shipped as a zip split over several wheels (models/bodies.py; all-mpnet-base-v2 in the mpnet extra): found
through installed distributions, verified, unpacked safely once into the cache, the cache entry verified on every use
and rebuilt with a warning when damaged. Fake parts (a tiny zip split into installed-looking distributions on a
temporary sys.path entry) run the real lookup; the real MPNet parts are used where they are installed."""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import os
import shutil
import stat
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emobench.errors import EmobenchError, EmobenchWarning
from emobench.models import bodies
from emobench.models.registry import MPNET_HUB_ID
from emobench.models.transformer import resolve_pretrained

HUB_ID = "test-org/fake-body"


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for info, data in members:
            zipped.writestr(info, data)
    return buffer.getvalue()


def _install_parts(site: Path, data: bytes, pieces: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``data`` split into ``pieces`` parts, each in a distribution installed into ``site`` as pip lays one out."""
    names, sizes = [], []
    step = -(-len(data) // pieces)
    for k in range(pieces):
        chunk = data[k * step:(k + 1) * step]
        dist = f"fake-body-part-{k + 1:03d}"
        part = Path(f"fake-body-part_{k + 1:03d}") / "input" / f"fake-body.zip.{k + 1:03d}"
        (site / part).parent.mkdir(parents=True)
        (site / part).write_bytes(chunk)
        info = site / f"fake_body_part_{k + 1:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{part.as_posix()},,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
        names.append(dist)
        sizes.append(len(chunk))
    return tuple(names), tuple(sizes)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """install(members, pieces=3, unpacked=None) -> the SplitArchive of those members, its parts installed and the
    archive registered under HUB_ID; the cache in tmp_path/cache."""
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache"))
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(members, pieces=3, unpacked=None):
        data = _zip(members)
        parts, sizes = _install_parts(site, data, pieces)
        importlib.invalidate_caches()
        with zipfile.ZipFile(io.BytesIO(data)) as zipped:
            total = sum(i.file_size for i in zipped.infolist())
        archive = bodies.SplitArchive(HUB_ID, "fake-body", parts, sizes, hashlib.sha256(data).hexdigest(),
                                      total if unpacked is None else unpacked, "fake-body", "pip install 'fake[parts]'")
        monkeypatch.setitem(bodies.ARCHIVES, HUB_ID, archive)
        return archive
    return install


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    from conftest import tiny_examples
    from tiny_models import build_bert

    return build_bert([t for t, _ in tiny_examples(100, 1)], tmp_path_factory.mktemp("bert") / "tiny-bert")


def _members_of(folder: Path, top: str = "fake-body") -> list[tuple[str, bytes]]:
    return [(f"{top}/{p.relative_to(folder).as_posix()}", p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "MANIFEST.json"}


def test_a_split_body_is_assembled_once_and_passes_the_body_checks(fake, tiny_bert, monkeypatch, tmp_path):
    from emobench.models.pretrained import check_source
    from emobench.models.setfit import body_modules

    archive = fake(_members_of(tiny_bert))
    folder = Path(resolve_pretrained(HUB_ID))
    assert folder == tmp_path / "cache" / "bodies" / archive.key
    assert _files(folder) == _files(tiny_bert)
    check_source(str(folder), "body")
    assert body_modules(folder) == ("mean", True)
    assert [p.name for p in folder.parent.iterdir()] == [archive.key]  # no scratch folder or joined zip left behind
    calls = []
    monkeypatch.setattr(bodies, "part_files", lambda a: calls.append(a) or [])
    bodies._verified.clear()  # hashed again, as a new process would
    assert Path(resolve_pretrained(HUB_ID)) == folder and not calls  # the cache served it: the parts were not read


def _symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _fifo(name: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    return info, b""


HOSTILE = [
    ("an absolute path", [("/tmp/evil.txt", b"x")], r"member '/tmp/evil\.txt' has an absolute path or '\.\.'"),
    ("a climb out", [("fake-body/../../evil.txt", b"x")], r"has an absolute path or '\.\.'"),
    ("a backslash climb", [("fake-body\\..\\evil.txt", b"x")], r"has an absolute path or '\.\.'"),
    ("a drive letter", [("C:/evil.txt", b"x")], r"has an absolute path or '\.\.'"),
    ("a symlink", [("fake-body/config.json", b"{}"), _symlink("fake-body/vocab.txt", "/etc/passwd")], r"is a symlink"),
    ("a named pipe", [_fifo("fake-body/pipe")], r"not a plain file or folder"),
    ("a member outside the top folder", [("elsewhere/config.json", b"{}")], r"outside the archive's folder fake-body/"),
    ("a name given twice", [("fake-body/a.txt", b"1"), ("fake-body/a.txt", b"2")], r"given twice"),
]


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile writing the duplicate itself
@pytest.mark.parametrize("members,message", [pytest.param(m, r, id=n) for n, m, r in HOSTILE])
def test_hostile_members_are_refused_before_anything_is_unpacked(fake, tmp_path, members, message):
    fake(members)
    with pytest.raises(EmobenchError, match=message):
        resolve_pretrained(HUB_ID)
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    assert list((tmp_path / "cache" / "bodies").iterdir()) == []  # no entry, no scratch, no joined zip


def test_a_zip_bomb_is_refused(fake, tmp_path):
    # 20 MB of zeros compress to about 20 kB; the archive holds 1 kB
    fake([("fake-body/config.json", b"{}"), ("fake-body/model.safetensors", bytes(20_000_000))], unpacked=1000)
    with pytest.raises(EmobenchError, match=r"unpack to more than the 1,000 bytes the archive holds \(a zip bomb\?\)"):
        resolve_pretrained(HUB_ID)
    assert list((tmp_path / "cache" / "bodies").iterdir()) == []


def _truncate(entry: Path) -> None:
    (entry / "config.json").write_text("{")


def _symlinked(entry: Path) -> None:
    moved = entry.with_name("elsewhere")
    entry.rename(moved)
    entry.symlink_to(moved)


DAMAGE = [
    ("an edited file", _truncate),
    ("a file removed", lambda e: (e / "vocab.txt").unlink()),
    ("a file added", lambda e: (e / "extra.json").write_text("{}")),
    ("no manifest", lambda e: (e / "MANIFEST.json").unlink()),
    ("a symlinked entry", _symlinked),
    ("a file where the entry was", lambda e: (shutil.rmtree(e), e.write_text("x"))),
]


@pytest.mark.parametrize("damage", [pytest.param(d, id=n) for n, d in DAMAGE])
def test_a_damaged_cache_entry_is_rebuilt_with_a_warning(fake, tiny_bert, damage):
    fake(_members_of(tiny_bert))
    entry = Path(resolve_pretrained(HUB_ID))
    damage(entry)
    with pytest.warns(EmobenchWarning, match=r"the body cache entry .* cannot be used \(.*\); it is rebuilt"):
        again = Path(resolve_pretrained(HUB_ID))
    assert again == entry and not entry.is_symlink() and _files(entry) == _files(tiny_bert)
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted({entry.name} | ({"elsewhere"} if damage is _symlinked else set()))


def test_missing_parts_name_the_extra(fake, tmp_path, monkeypatch):
    archive = fake([("fake-body/config.json", b"{}")])
    monkeypatch.setitem(bodies.ARCHIVES, HUB_ID, dataclasses.replace(archive, parts=(*archive.parts, "fake-body-part-009")))
    with pytest.raises(EmobenchError, match=r"fake-body-part-009 is not installed: pip install 'fake\[parts\]'"):
        resolve_pretrained(HUB_ID)
    # the real archive's message, whether or not its parts are installed here
    gone = dataclasses.replace(bodies.MPNET, parts=tuple(f"emobench-absent-part-{k}" for k in range(5)))
    with pytest.raises(EmobenchError, match=r"emobench-absent-part-0, .* are not installed: pip install 'emobench\[mpnet\]'"):
        bodies.assembled(gone)
    assert not (tmp_path / "cache" / "bodies").exists()


def test_damaged_parts_are_refused(fake, tiny_bert):
    archive = fake(_members_of(tiny_bert))
    second = Path(metadata.distribution(archive.parts[1]).locate_file("fake-body-part_002/input/fake-body.zip.002"))
    data = bytearray(second.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    second.write_bytes(bytes(data))
    with pytest.raises(EmobenchError, match=r"the parts .* joined have sha256 [0-9a-f]{64}, expected"):
        resolve_pretrained(HUB_ID)
    second.write_bytes(bytes(data[:-10]))
    with pytest.raises(EmobenchError, match=r"fake-body\.zip\.002: [\d,]+ bytes, expected [\d,]+; the part is damaged"):
        resolve_pretrained(HUB_ID)


def test_a_cache_that_is_a_file_is_a_clear_error(fake, tmp_path, monkeypatch):
    fake([("fake-body/config.json", b"{}")])
    (tmp_path / "cache-file").write_text("x")
    monkeypatch.setenv("EMOBENCH_CACHE", str(tmp_path / "cache-file"))
    with pytest.raises(EmobenchError, match=r"cache-file: a file where emobench keeps its cache"):
        resolve_pretrained(HUB_ID)


def test_other_names_are_left_alone():
    assert resolve_pretrained("org/some-model") == "org/some-model"
    assert bodies.offline_body("org/some-model") is None


NAME_PIECES = st.sampled_from(["fake-body", "..", ".", "", "a", "b.txt", "/", "\\", "C:", "~", "\x00"])


@settings(max_examples=300, deadline=None)
@given(st.lists(NAME_PIECES, min_size=1, max_size=5).map("/".join).filter(bool))
def test_no_member_name_escapes_the_entry(name):
    """Any member name is refused, or unpacks to a path inside the entry and below the archive's folder."""
    archive = bodies.SplitArchive(HUB_ID, "fake-body", (), (), "0" * 64, 1 << 20, "fake-body", "")
    try:
        data = _zip([(name, b"x")])
    except (ValueError, IndexError):  # zipfile itself cannot write some names (one cut to nothing at a NUL)
        return
    entry = Path("/nonexistent/entry")
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        try:
            members = bodies.checked_members(zipped, archive)
        except EmobenchError:
            return
    for _, relative in members:
        target = Path(os.path.normpath(entry.joinpath(*relative)))
        assert target.is_relative_to(entry) and target != entry and ".." not in relative


def _real_parts_installed() -> bool:
    try:
        return all(metadata.distribution(name) for name in bodies.MPNET.parts)
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _real_parts_installed(), reason="the mpnet extra is not installed (bash scripts/install.sh --mpnet)")
def test_the_real_mpnet_parts_assemble_into_a_body_that_passes_the_checks():
    from emobench.models.pretrained import check_source
    from emobench.models.setfit import body_modules

    folder = Path(resolve_pretrained(MPNET_HUB_ID))  # into the test session's own cache (conftest)
    assert folder.name == bodies.MPNET.key and (folder / "model.safetensors").stat().st_size == 437_971_872
    check_source(str(folder), "body")
    assert body_modules(folder) == ("mean", True)
