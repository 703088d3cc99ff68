"""Exclusive outputs: one owner per output being written, through a lock file created with O_EXCL.

The lock holds the owner's process id, host and start time and is removed when the owner ends (normally, on
an error or on SIGTERM/SIGINT). A lock left by a process that died (SIGKILL, power loss) is stale: on the same
host that is detected (the process no longer exists) and the output is taken over, saying so; a lock from
another host cannot be checked and is explained instead. Runs, exports, comparisons, tuning folders and
scored files are all claimed this way, so no process ever deletes or overwrites another one's work.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import time
import warnings
from pathlib import Path

from .errors import EmobenchError, EmobenchWarning, option
from .files import LOCK_FILE

FRESH_SECONDS = 10  # a folder without its lock younger than this is being claimed right now


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lock:
    """A lock file; ``what`` names the output in messages ("run", "export", ...)."""

    def __init__(self, path: str | Path, what: str = "run"):
        self.path = Path(path)
        self.what = what
        self.held = False

    @classmethod
    def of(cls, folder: str | Path, what: str = "run") -> "Lock":
        return cls(Path(folder) / LOCK_FILE, what)

    def owner(self) -> dict | None:
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def describe(self) -> str:
        owner = self.owner() or {}
        return f"process {owner.get('pid')} on {owner.get('host')} (since {owner.get('started')})"

    def alive(self) -> bool:
        """Whether a live process (or one on another host, which cannot be checked) holds the lock."""
        owner = self.owner()
        if owner is None:
            return self.path.exists()
        if owner.get("host") != socket.gethostname():
            return True
        try:
            return _alive(int(owner.get("pid", -1)))
        except (TypeError, ValueError):
            return False

    def acquire(self, take_over_stale: bool = False) -> "Lock":
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._handle_existing(take_over_stale)
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": _dt.datetime.now().isoformat(timespec="seconds")}, handle)
            self.held = True
            return self
        raise EmobenchError(f"{self.path}: could not take the {self.what}'s lock; another process keeps claiming it")

    def _handle_existing(self, take_over_stale: bool) -> None:
        owner = self.owner()
        place = self.path.parent if self.path.name == LOCK_FILE else self.path
        if owner is None:
            try:
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                return  # released meanwhile
            if age < FRESH_SECONDS:  # being written this instant
                raise EmobenchError(f"{place}: the {self.what} is being claimed by another process right now ({self.path}); "
                                    "try again in a moment")
            # empty or unreadable for longer than a claim takes: left by a process killed between creating and
            # writing it (or edited); no process can be named as its owner
            if not take_over_stale:
                raise EmobenchError(f"{place}: an empty or unreadable lock ({self.path}, {age:.0f} s old) that no process "
                                    f"owns; resume the run with {option('resume')}, or delete the lock")
            self._take_over("an empty or unreadable lock")
            return
        who = self.describe()
        if owner.get("host") != socket.gethostname():
            raise EmobenchError(f"{place}: the {self.what} is locked by {who}; if that process is gone, delete {self.path}")
        if self.alive():
            doing = {"run": "trained", "tuning": "tuned"}.get(self.what, "written")
            raise EmobenchError(f"{place}: the {self.what} is being {doing} by {who}; wait for it or stop it")
        if not take_over_stale:
            raise EmobenchError(f"{place}: a stale lock of {who}, which no longer exists (it was killed); "
                                f"resume the run with {option('resume')}")
        self._take_over(f"the stale lock of {who}, which no longer exists")

    def _take_over(self, what: str) -> None:
        """Move the stale lock aside atomically: of two processes taking over, only one rename succeeds."""
        place = self.path.parent if self.path.name == LOCK_FILE else self.path
        aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        aside.unlink(missing_ok=True)
        warnings.warn(f"{place}: took over {what}", EmobenchWarning, stacklevel=5)

    def release(self, folder: str | Path | None = None) -> None:
        """Remove the lock (from ``folder`` if the output was renamed meanwhile), if this process holds it."""
        if self.held:
            path = (Path(folder) / LOCK_FILE) if folder else self.path
            try:
                owner = json.loads(path.read_text())
            except (OSError, ValueError):
                owner = None
            if isinstance(owner, dict) and owner.get("pid") == os.getpid():
                path.unlink(missing_ok=True)
            self.held = False


def claim_folder(partial: str | Path, what: str) -> Lock:
    """Create ``partial`` (a ``NAME.partial`` folder nobody else writes) and lock it. A partial folder whose
    owner is alive is an error; one left by a dead process (or an interrupted emobench 0.2) is taken over with
    a warning: it is never resumed, so it is deleted."""
    partial = Path(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        try:
            partial.mkdir()
        except FileExistsError:
            lock = Lock.of(partial, what)
            if lock.path.exists():
                if lock.alive():
                    raise EmobenchError(f"{partial}: another {what} is being written there by {lock.describe()}; wait "
                                        "for it, or choose another output") from None
                who = f"by {lock.describe()}, which no longer exists"
            elif time.time() - partial.stat().st_mtime < FRESH_SECONDS:
                raise EmobenchError(f"{partial}: another process is claiming it right now; choose another output") from None
            else:
                who = "without an owner (an interrupted earlier version)"
            aside = partial.with_name(f"{partial.name}.stale-{os.getpid()}")
            try:
                os.rename(partial, aside)
            except OSError:
                continue  # another process took it over first
            warnings.warn(f"{partial}: removed an unfinished {what} left {who}", EmobenchWarning, stacklevel=2)
            shutil.rmtree(aside, ignore_errors=True)
            continue
        try:
            return Lock.of(partial, what).acquire()
        except EmobenchError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    raise EmobenchError(f"{partial}: could not claim it; other processes keep taking it")


def claim_file(output: str | Path, what: str = "output") -> Lock:
    """Lock the file ``output`` is being written to (``OUTPUT.lock`` beside it): two writers of one output
    never interleave or delete each other's partial file; a lock of a dead process is taken over."""
    output = Path(output)
    return Lock(output.with_name(output.name + ".lock"), what).acquire(take_over_stale=True)
