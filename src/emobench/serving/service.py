"""The HTTP service: FastAPI over a :class:`~emobench.serving.predictor.Predictor`.

``POST /predict`` with ``{"texts": [...]}`` returns, per text, the label (or label set) and every label's
probability; ``GET /health``; ``GET /model`` (family, dataset, labels, test metrics, version); OpenAPI docs at
``/docs``. Concurrent requests are batched: texts that arrive within ``batch_wait_ms`` of each other (up to
``max_batch``) are predicted together, off the event loop, in one worker thread.

Nothing a client sends breaks it: bad requests get a 422 naming the item and the reason (never echoing the
input: NaN, Infinity, lone surrogates, oversized texts included; a per-text problem's ``loc`` ends with the text's
index; a body not sent as JSON is named as such), bodies larger than the largest valid request
are refused with a 413 before they are read, a request that is not whole within ``request_seconds`` of its first
byte (or a connection that sends nothing) is closed, and a text that makes the model fail fails only its own
request (a 422 naming the text): the others of its batch are answered, and the batcher keeps running.
"""

import asyncio
import email.message
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from ..errors import EmobenchError, option


@dataclass
class ServiceSettings:
    max_texts: int = 64  # per request
    max_chars: int = 10_000  # per text
    max_batch: int = 64  # texts predicted together
    batch_wait_ms: float = 5.0  # how long a batch waits for more requests
    request_seconds: float = 30.0  # a request must arrive whole within this (a stalled client is disconnected)

    LIMITS = {"max_texts": (1, 100_000), "max_chars": (1, 1_000_000), "max_batch": (1, 100_000),
              "batch_wait_ms": (0, 10_000), "request_seconds": (0.1, 3600)}

    def __post_init__(self):
        """Every setting within its range, NaN and infinities refused (a wait of 1e12 ms held every request forever
        while /health said ok): the same bounds as the command line's."""
        import math

        for name, (low, high) in self.LIMITS.items():
            value = getattr(self, name)
            integer = name.startswith("max_")
            if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or \
                    not math.isfinite(value) or not low <= value <= high:
                raise EmobenchError(f"{option(name)} {value!r}: expected {'an integer' if integer else 'a number'} from "
                                    f"{low:,} to {high:,}")

    @property
    def max_body_bytes(self) -> int:
        """The largest valid request: every text at its longest, every character escaped as \\uXXXX."""
        return 6 * self.max_texts * self.max_chars + 16 * self.max_texts + 65_536


class ModelFailure(Exception):
    """A text the model could not score (the tokenizer or the model raised on it): ``index`` in its request."""

    def __init__(self, reason: str, index: int | None = None):
        super().__init__(reason)
        self.reason, self.index = reason, index


class Batcher:
    """Collects texts from concurrent requests into batches; runs the model in one thread. A batch that fails is
    scored again request by request, so one poisoned request fails alone."""

    def __init__(self, predictor, settings: ServiceSettings):
        self.predictor, self.settings = predictor, settings
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.batches = 0
        self.failures = 0

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def predict(self, texts: list[str]) -> list[dict]:
        if self.task is None:  # used without the app's lifespan (e.g. directly in a test)
            await self.start()
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def _run(self) -> None:
        while True:
            texts, future = await self.queue.get()
            waiting = [(texts, future)]
            size = len(texts)
            deadline = time.perf_counter() + self.settings.batch_wait_ms / 1000
            while size < self.settings.max_batch:
                timeout = deadline - time.perf_counter()
                if timeout <= 0:
                    break
                try:
                    more = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                waiting.append(more)
                size += len(more[0])
            await self._answer(waiting)

    async def _answer(self, waiting: list) -> None:
        everything = [t for texts, _ in waiting for t in texts]
        try:
            results = await asyncio.to_thread(self._predict, everything)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a Rust panic in a tokenizer is a BaseException
            if len(waiting) > 1:  # find the request that fails; the others are answered
                for one in waiting:
                    await self._answer([one])
                return
            self.failures += 1
            texts, future = waiting[0]
            if not future.done():
                index = await self._failing_text(texts) if len(texts) > 1 else 0
                future.set_exception(ModelFailure(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                                                  index))
            return
        self.batches += 1
        start = 0
        for texts, future in waiting:
            if not future.done():
                future.set_result(results[start : start + len(texts)])
            start += len(texts)

    async def _failing_text(self, texts: list[str]) -> int | None:
        """The first text of a failed request that fails alone (None if each succeeds alone)."""
        for i, text in enumerate(texts):
            try:
                await asyncio.to_thread(self._predict, [text])
            except asyncio.CancelledError:
                raise
            except BaseException:  # noqa: BLE001
                return i
        return None

    def _predict(self, texts: list[str]) -> list[dict]:
        return self.predictor.format(texts, self.predictor.probabilities(texts), include_text=False)


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


# The per-text problems the service itself checks (pydantic checks the rest). Each is raised by the item's own
# validator, so pydantic puts the item's index at the end of its ``loc`` (["body", "texts", 3]), and the message
# is written "texts[3] ..." from that ``loc``.
TEXT_ERRORS = ("text_empty", "text_too_long", "text_lone_surrogate")


def _not_all_whitespace() -> str:
    """The JSON Schema ``pattern`` of a text that ``str.strip()`` leaves non-empty: one character that is not Python
    whitespace. Spelled out, because a schema's ``\\S`` (ECMA 262) differs from Python's on U+001C-U+001F, U+0085
    and U+FEFF."""
    return "[^" + "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace()) + "]"


def _clean_errors(errors: list[dict], most: int = 80) -> list[dict]:
    """Validation errors without the input they refer to (a 422 never echoes a body back, nor a NaN that JSON
    cannot carry): each message bounded and never empty, each name in ``loc`` bounded (a refused key is named, not
    copied whole), and at most ``most`` of them (the rest counted in a last entry), so that an answer stays small
    whatever the request."""
    def message(e: dict) -> str:
        reason = (e.get("ctx") or {}).get("error") if e.get("type") == "json_invalid" else None
        text = f"{e.get('msg', '')} ({reason})" if reason else str(e.get("msg", ""))
        loc = tuple(e.get("loc", ()))
        if e.get("type") in TEXT_ERRORS and len(loc) >= 2 and loc[-2] == "texts" and isinstance(loc[-1], int):
            text = f"texts[{loc[-1]}] {text}"
        return text or str(e.get("type") or "invalid request")

    def name(part) -> str | int:
        if isinstance(part, int) and not isinstance(part, bool):
            return part
        part = str(part)
        return part if len(part) <= 40 else f"{part[:40]}... ({len(part)} characters)"

    cleaned = [{"loc": [name(part) for part in e.get("loc", ())] or ["body"], "msg": message(e)[:300],
                "type": str(e.get("type", ""))} for e in errors[:most]]
    if len(errors) > most:
        cleaned.append({"loc": ["body"], "msg": f"and {len(errors) - most} more problems", "type": "too_many_problems"})
    return cleaned


def _is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is one FastAPI reads as JSON (application/json, application/*+json)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _strict_route():
    """FastAPI's documented custom-route pattern, for rules of its own: a JSON body naming a key twice is refused
    (json.loads would keep the last "texts" silently), and so is one nested too deeply to parse, or holding a number
    too long to convert; and a body that is not sent as JSON is refused as such (FastAPI would read it as bytes and
    answer that "Input should be a valid dictionary")."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute

    def unique(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise json.JSONDecodeError(f"key {key[:40]!r} appears twice", "", 0)
            seen.add(key)
        return dict(pairs)

    class StrictJSONRequest(Request):
        async def json(self):
            if not hasattr(self, "_json"):
                try:
                    # decoded as UTF-8 first: json.loads would guess UTF-16 or UTF-32 from a body's first bytes
                    self._json = json.loads((await self.body()).decode("utf-8"), object_pairs_hook=unique)
                except RecursionError:
                    raise json.JSONDecodeError("nested too deeply", "", 0) from None
                except UnicodeDecodeError as exc:
                    raise json.JSONDecodeError(f"byte {exc.object[exc.start:exc.start + 1]!r} at {exc.start} is not "
                                               "UTF-8; expected a UTF-8 body", "", exc.start) from None
                except json.JSONDecodeError:
                    raise
                except ValueError as exc:  # a number of more than 4,300 digits (int's conversion limit)
                    raise json.JSONDecodeError(str(exc).split(";")[0][:200], "", 0) from None
            return self._json

    class StrictRoute(APIRoute):
        def get_route_handler(self):
            handler = super().get_route_handler()
            takes_body = self.body_field is not None

            async def strict(request):
                request = StrictJSONRequest(request.scope, request.receive)
                content_type = request.headers.get("content-type")
                if takes_body and not _is_json(content_type) and await request.body():
                    sent = f"Content-Type {content_type.split(';')[0][:60]!r}" if content_type else "no Content-Type"
                    raise RequestValidationError([{
                        "type": "content_type", "loc": ("header", "content-type"),
                        "msg": f"expected a JSON body sent with Content-Type: application/json; got {sent}"}])
                return await handler(request)
            return strict

    return StrictRoute


def create_app(path: str | Path, backend: str = "auto", settings: ServiceSettings | None = None,
               allow_modified: bool = False):
    try:
        from contextlib import asynccontextmanager

        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from pydantic import AfterValidator, BaseModel, ConfigDict, Field
        from pydantic_core import PydanticCustomError
    except ImportError:
        raise EmobenchError("serving needs FastAPI and uvicorn (pip install 'emobench[serve]')") from None
    from .predictor import Predictor

    settings = settings or ServiceSettings()
    predictor = Predictor(path, backend, allow_modified)
    batcher = Batcher(predictor, settings)
    card = predictor.card()

    def check_text(text: str) -> str:
        """One text's own problems, raised from the item so that its ``loc`` ends with the item's index."""
        if not text.strip():
            raise PydanticCustomError("text_empty", "is empty")
        if len(text) > settings.max_chars:
            raise PydanticCustomError("text_too_long", "has {length} characters; the maximum is {maximum}",
                                      {"length": len(text), "maximum": settings.max_chars})
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError("text_lone_surrogate", "holds a lone surrogate (U+{code}) at character {at}; "
                                      "expected valid Unicode",
                                      {"code": f"{ord(text[exc.start]):04X}", "at": exc.start}) from None
        return text

    # What the schema says of each text is what check_text enforces: 1 to max_chars characters, not all whitespace
    # (lone surrogates cannot be written in a schema; they are refused too).
    Text = Annotated[str, AfterValidator(check_text),
                     Field(json_schema_extra={"minLength": 1, "maxLength": settings.max_chars,
                                              "pattern": _not_all_whitespace()})]

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"texts": ["i feel so happy today", "this makes me furious"]}]})
        texts: list[Text] = Field(..., min_length=1, max_length=settings.max_texts,
                                  description=f"1 to {settings.max_texts} texts, each 1 to {settings.max_chars} "
                                              "characters, not all whitespace")

    class Prediction(BaseModel):
        label: str | None = None
        labels: list[str] | None = None
        probabilities: dict[str, float]

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    class TooLarge(BaseModel):
        detail: str = Field(..., min_length=1)

    class Problem(BaseModel):
        loc: list[str | int] = Field(..., min_length=1, description='where: ["body"], ["body", "texts"], '
                                                                     '["body", "texts", 3] (the text\'s index last)')
        msg: str = Field(..., min_length=1, description="why, in words (never the input)")
        type: str

    class Refused(BaseModel):
        detail: list[Problem] = Field(..., min_length=1)

    # The answers /predict gives besides a 200, declared so that the OpenAPI schema tells the truth: a 422 names each
    # refused item in ``loc`` (the text's index last) and the reason in ``msg``; a 413 refuses a body unread.
    refusals = {
        413: {"model": TooLarge, "description": f"The body is larger than {settings.max_body_bytes:,} bytes, the most "
                                                "a valid request can need; it is refused before it is read"},
        422: {"model": Refused, "description": "A refused request: each entry names the item (`loc`, ending with the "
                                               "text's index for a per-text problem) and the reason (`msg`); the "
                                               "input is never echoed"},
    }

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="emobench", version=card["emobench_version"], lifespan=lifespan,
                  description=f"Emotion recognition with {card.get('model') or card['family']} "
                              f"({'multi-label' if predictor.multi_label else 'single-label'}: {', '.join(predictor.label_names)})")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # every text of a request can be named, and a few more problems; the rest are counted
        problems = _clean_errors(exc.errors(), most=settings.max_texts + 16)
        return JSONResponse(status_code=422, content={"detail": problems})

    @app.exception_handler(ModelFailure)
    async def failed(request: Request, exc: ModelFailure):
        # The text, not the server, is what cannot be processed: a 422 naming it, like every other refused item.
        where = ["body", "texts", exc.index] if exc.index is not None else ["body", "texts"]
        return JSONResponse(status_code=422, content={"detail": [{
            "loc": where, "msg": f"the model could not score this text ({exc.reason})"[:300], "type": "model_failure"}]})

    app.router.route_class = _strict_route()

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_none=True,
              responses=refusals)
    async def predict(request: PredictRequest) -> dict:
        """Label (or label set) and every label's probability, per text, in the order given."""
        return {"predictions": await batcher.predict(request.texts)}

    @app.get("/health")
    async def health() -> dict:
        alive = batcher.task is None or not batcher.task.done()
        return {"status": "ok" if alive else "failing", "batches": batcher.batches, "failed_requests": batcher.failures}

    @app.get("/model")
    async def model() -> dict:
        return card

    app.state.batcher = batcher
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


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


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "auto",
          settings: ServiceSettings | None = None, log_level: str = "info", allow_modified: bool = False) -> None:
    import uvicorn

    settings = settings or ServiceSettings()
    _check_port(host, port)
    app = create_app(path, backend, settings, allow_modified)
    from ..logs import logger

    logger.info("serving %s at http://%s:%d (POST /predict, GET /health, GET /model, docs at /docs); Ctrl-C stops it",
                Path(path).name, host if ":" not in host else f"[{host}]", port)
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=deadline_protocol(settings.request_seconds),
                h11_max_incomplete_event_size=64 * 1024)


def _check_port(host: str, port: int) -> None:
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
