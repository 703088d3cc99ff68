"""Ray, for the work that outgrows one process: batch scoring (one model per actor) and studies (one run per task).

:func:`connect` starts a local Ray or joins a cluster. An address where no Ray answers is a clear error in seconds
(Ray itself retries for minutes, then ends the process); Ray's start-up lines show at ``--log-level debug`` only.
"""
from __future__ import annotations

import os
import time

from .errors import EmobenchError, option

HEAD_GONE_SECONDS = 20  # the head unreachable this long: the cluster is gone
POLL_SECONDS = 2.0
RAY_GIVES_UP_SECONDS = 3600


def connect(address: str | None, num_cpus: int | None = None):
    """The ``ray`` module, initialised: a local Ray with ``num_cpus`` CPUs, or the cluster at ``address``."""
    try:
        import ray
    except ImportError:
        raise EmobenchError(f"{option('engine')} ray needs Ray (pip install 'emobench[ray]')") from None
    if address:
        check_reachable(address)
    from .logs import native_output_quiet

    # Ray's core ends the whole process (exit 1, one C++ log line) when the cluster's head stops answering for 60 s;
    # emobench watches the head itself (ClusterWatch) and says so first, keeping what finished.
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(RAY_GIVES_UP_SECONDS))
    from .logs import debugging

    if not debugging():  # Ray's C++ core logs to the process's stderr: library chatter, shown at debug only
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if not ray.is_initialized():
        try:
            with native_output_quiet():
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                         logging_level="ERROR", **({} if address or num_cpus is None else {"num_cpus": num_cpus}))
        except Exception as exc:  # a wrong address, an unreachable cluster
            raise EmobenchError(f"cannot start or reach Ray{f' at {address}' if address else ''}: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Ray retries an address for minutes (and then ends the process) when no Ray answers there: a connection
    attempt and a gRPC handshake (Ray's head speaks gRPC, HTTP/2) say so in seconds."""
    import socket

    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        if target in ("auto", "local"):
            return  # left to Ray, which says at once when it finds no cluster
        host, port = target, "6379"  # Ray's default head port
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # preface + SETTINGS
            head = conn.recv(9)
    except OSError as exc:
        raise EmobenchError(f"cannot start or reach Ray at {address}: {exc.strerror or exc}") from None
    if len(head) < 9 or head[3] != 4:  # a gRPC server answers with its SETTINGS frame
        raise EmobenchError(f"cannot reach Ray at {address}: something answers there, but not a Ray head (no gRPC)")


class ClusterGone(EmobenchError):
    """The Ray cluster stopped answering while work was running on it."""


class ClusterWatch:
    """Waits for Ray results while checking that the cluster's head still answers: a head gone for
    ``HEAD_GONE_SECONDS`` is a :class:`ClusterGone` naming ``what`` was running, instead of a process ended by Ray."""

    def __init__(self, ray, what: str, keeps: str):
        self.ray, self.what, self.keeps = ray, what, keeps
        try:
            self.address = ray.get_runtime_context().gcs_address
        except Exception:  # noqa: BLE001 - an older Ray: nothing to watch
            self.address = None
        self.silent_since: float | None = None

    def check(self) -> None:
        if not self.address:
            return
        try:
            check_reachable(self.address, timeout=POLL_SECONDS)
            self.silent_since = None
        except EmobenchError:
            self.silent_since = self.silent_since or time.monotonic()
            if time.monotonic() - self.silent_since >= HEAD_GONE_SECONDS:
                self.abandon()
                raise ClusterGone(f"the Ray cluster at {self.address} stopped answering while {self.what} ran on it "
                                  f"(no answer for {HEAD_GONE_SECONDS} s); {self.keeps}") from None

    def wait(self, refs: list):
        """``ray.wait`` for one of ``refs``, checking the head between polls."""
        while True:
            done, _ = self.ray.wait(refs, num_returns=1, timeout=POLL_SECONDS)
            if done:
                return done[0]
            self.check()

    def abandon(self) -> None:
        """Leave the dead cluster without waiting for it: Ray's own shutdown would keep trying to reach the head."""
        import threading

        threading.Thread(target=self._shutdown, daemon=True).start()

    def _shutdown(self) -> None:
        try:
            self.ray.shutdown()
        except Exception:  # noqa: BLE001 - the cluster is gone; nothing to tidy there
            pass
