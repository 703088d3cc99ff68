"""The service's connections, below the app: a body limit checked before the body is read, a deadline per
request, and a port checked before the model loads."""
import socket

from ..errors import EmobenchError, option


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is a 413 -- refused from its Content-Length before it is read,
    or, streamed (chunked), as soon as it passes the limit: the body is read here first (it is at most ``max_bytes``)
    and handed to the app whole, so the app never sees a body cut short (which it answered as a 400)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._refuse(send)
        if length is not None:  # the server stops the body at its declared length
            return await self.app(scope, receive, send)
        messages, seen = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(m.get("body", b"") for m in messages
                                                       if m["type"] == "http.request"), "more_body": False}
        replay = [body] + [m for m in messages if m["type"] != "http.request"]

        async def replayed():
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, send) -> None:
        body = (f'{{"detail": "the request body is larger than {self.max_bytes:,} bytes, the most a valid request can '
                f'need"}}').encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def deadline_protocol(seconds: float):
    """uvicorn's h11 protocol with a deadline per request: a connection that sends nothing, or a request that is not
    whole (headers and body) within ``seconds`` of its first byte, is closed. uvicorn only times out idle
    keep-alive connections, and only after a first response."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineH11(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline = self.loop.call_later(seconds, self._stalled)

        def data_received(self, data: bytes) -> None:
            if getattr(self, "_deadline", None) is None:  # the first bytes of a new request on a kept-alive connection
                self._deadline = self.loop.call_later(seconds, self._stalled)
            super().data_received(data)

        def on_response_complete(self) -> None:
            self._cancel()
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self._cancel()
            super().connection_lost(exc)

        def _cancel(self) -> None:
            if getattr(self, "_deadline", None) is not None:
                self._deadline.cancel()
                self._deadline = None

        def _stalled(self) -> None:
            self._deadline = None
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
                return  # the whole request arrived: the model is answering it
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineH11


def check_port(host: str, port: int) -> None:
    """A port another process holds is one clear error before the model loads, not uvicorn's exit after it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EmobenchError(f"{option('host')} {host}: cannot resolve it ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise EmobenchError(f"{option('port')} {port}: cannot listen on {host}:{port} ({exc.strerror}); another process holds "
                                "it, or the address is not this machine's") from None
