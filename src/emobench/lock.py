"""One owner per unfinished run: a lock file created with O_EXCL inside the ``.partial`` folder.

The lock holds the owner's process id, host and start time. It is removed when the owner ends (normally,
on an error or on SIGTERM/SIGINT). A lock left by a process that died (SIGKILL, power loss) is stale:
on the same host that is detected (the process no longer exists) and a resume takes the run over,
saying so; a lock from another host cannot be checked and is explained instead.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import warnings
from pathlib import Path

from .errors import EmobenchError

LOCK_FILE = "LOCK"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.held = False

    def owner(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def alive(self) -> bool:
        """Whether a live process (or one on another host, which cannot be checked) holds the lock."""
        owner = self.owner()
        if owner is None:
            return self.path.exists()
        if owner.get("host") != socket.gethostname():
            return True
        return _alive(int(owner.get("pid", -1)))

    def acquire(self, take_over_stale: bool = False) -> "RunLock":
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
        raise EmobenchError(f"{self.folder}: could not take the run's lock ({self.path}); another process keeps claiming it")

    def _handle_existing(self, take_over_stale: bool) -> None:
        owner = self.owner()
        if owner is None:  # being written this instant, or unreadable: treat as held
            raise EmobenchError(f"{self.folder}: the run is locked by another process ({self.path} exists)")
        who = f"process {owner.get('pid')} on {owner.get('host')} (since {owner.get('started')})"
        if owner.get("host") != socket.gethostname():
            raise EmobenchError(f"{self.folder}: the run is locked by {who}; if that process is gone, delete {self.path}")
        if _alive(int(owner.get("pid", -1))):
            raise EmobenchError(f"{self.folder}: the run is being trained by {who}; wait for it or stop it")
        if not take_over_stale:
            raise EmobenchError(f"{self.folder}: a stale lock of {who}, which no longer exists (it was killed); "
                                "resume the run with `emobench train --resume`")
        # Move the stale lock aside atomically: of two processes taking over, only one rename succeeds.
        aside = self.path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        aside.unlink(missing_ok=True)
        warnings.warn(f"{self.folder}: took over the stale lock of {who}, which no longer exists", UserWarning, stacklevel=4)

    def release(self, folder: Path | None = None) -> None:
        """Remove the lock (from ``folder`` if the run was renamed meanwhile)."""
        if self.held:
            path = (Path(folder) / LOCK_FILE) if folder else self.path
            owner = None
            try:
                owner = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                pass
            if owner and owner.get("pid") == os.getpid():
                path.unlink(missing_ok=True)
            self.held = False
