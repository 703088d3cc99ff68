"""Ray, for the work that outgrows one process: batch scoring (one model per actor) and studies (one run per task).

:func:`connect` starts a local Ray or joins a cluster. An address where no Ray answers is a clear error in seconds
(Ray itself retries for minutes, then ends the process); Ray's start-up lines show at ``--log-level debug`` only.
"""
from __future__ import annotations

from .errors import EmobenchError, option


def connect(address: str | None, num_cpus: int | None = None):
    """The ``ray`` module, initialised: a local Ray with ``num_cpus`` CPUs, or the cluster at ``address``."""
    try:
        import ray
    except ImportError:
        raise EmobenchError(f"{option('engine')} ray needs Ray (pip install 'emobench[ray]')") from None
    if address:
        check_reachable(address)
    from .logs import native_output_quiet

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
