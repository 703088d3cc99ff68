"""What the generated (Hypothesis) test files share: bounded, reproducible runs with their examples counted, and a
record of every file a case opens.

Runs are bounded and reproducible (derandomized, no example database). EMOBENCH_HYPOTHESIS_SCALE=10 runs ten times
the examples; EMOBENCH_HYPOTHESIS_RANDOM=1 draws new ones on every run (and prints the blob of a failure). Each test
prints how many examples it ran (``pytest -s``) and asserts a minimum.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import site
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings

import emobench

SCALE = float(os.environ.get("EMOBENCH_HYPOTHESIS_SCALE", "1"))
RANDOM = os.environ.get("EMOBENCH_HYPOTHESIS_RANDOM") == "1"
COUNTS: Counter = Counter()


def bounded(examples: int):
    """A fixed, database-less profile: the same examples on every run, no files written by Hypothesis."""
    return settings(max_examples=max(1, round(examples * SCALE)), deadline=None, derandomize=not RANDOM, database=None,
                    print_blob=RANDOM,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])


def counted(name: str, minimum: int, detail: str = "") -> None:
    """Print how many examples ``name`` ran (and its outcomes, counted as ``name:outcome``), and assert a minimum."""
    outcomes = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(COUNTS.items()) if k.startswith(name + ":"))
    print(f"\n{name}: {COUNTS[name]} generated examples{detail}" + (f" ({outcomes})" if outcomes else ""))
    assert COUNTS[name] >= minimum * min(SCALE, 1), f"{name}: only {COUNTS[name]} examples ran"


# ---------------------------------------------------------------- what a case opens


class Opened:
    """The ``open`` events of the process while ``active`` (an audit hook cannot be removed: it records only then)."""

    active = False
    events: list = []


def _audit(event, args):
    if event == "open" and Opened.active:
        Opened.events.append(args)


sys.addaudithook(_audit)


def real(path) -> str:
    return os.path.realpath(os.path.abspath(os.fsdecode(path)))


def _matplotlib_dirs() -> list[str]:
    try:
        import matplotlib

        return [matplotlib.get_configdir(), matplotlib.get_cachedir()]
    except Exception:  # noqa: BLE001 - without matplotlib there is nothing to allow
        return []


# The interpreter's, the libraries' and the system's own files, which any case may read.
ALLOWED_ROOTS = tuple(sorted({real(p) for p in (
    sys.prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"],
    os.path.join(os.path.dirname(sysconfig.get_paths()["stdlib"]), f"python{sys.version_info[0]}{sys.version_info[1]}.zip"),
    sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages(),
    os.path.dirname(emobench.__file__), os.path.dirname(os.path.abspath(__file__)),  # the tests' own source (linecache)
    "/proc", "/sys", "/dev", "/usr/share/locale", "/usr/lib/locale", "/usr/share/zoneinfo", "/usr/share/i18n",
    "/etc/localtime", "/usr/share/fonts", "/etc/fonts", "/usr/lib/x86_64-linux-gnu", "/etc/ld.so.cache",
    *_matplotlib_dirs())}))


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@contextlib.contextmanager
def recording():
    """Record the files opened while the block runs (``Opened.events``)."""
    Opened.events = []
    Opened.active = True
    try:
        yield Opened.events
    finally:
        Opened.active = False


def opened_paths(events) -> list[tuple]:
    """(event arguments, resolved path) of the opens that name a path. ``os.open(name, dir_fd=...)`` (shutil.rmtree)
    reports a name relative to a folder the event does not give: those are left out (emobench opens no path relative
    to the working folder)."""
    return [(a, real(a[0])) for a in events if isinstance(a[0], str | bytes | os.PathLike)
            and (os.path.isabs(os.fsdecode(a[0])) or not (len(a) > 2 and isinstance(a[2], int)))]


def outside(events, *roots) -> list[str]:
    """The paths opened outside ``roots`` and the interpreter's own folders."""
    allowed = (*(real(r) for r in roots), *ALLOWED_ROOTS)
    return sorted({p for _, p in opened_paths(events) if not any(inside(p, r) for r in allowed)})


@contextlib.contextmanager
def case_folder(tmp_path: Path):
    case = Path(tempfile.mkdtemp(dir=tmp_path, prefix="case-"))
    try:
        yield case
    finally:
        shutil.rmtree(case, ignore_errors=True)
