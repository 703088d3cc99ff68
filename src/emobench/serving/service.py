"""The HTTP service: FastAPI over a :class:`~emobench.serving.predictor.Predictor`.

``POST /predict`` with ``{"texts": [...]}`` returns, per text, the label (or label set) and every label's
probability; ``POST /explain`` (models that have them) each text's word attributions, as `emobench explain`;
``GET /health``; ``GET /model`` (family, dataset, labels, test metrics, int8 or fp32, version); OpenAPI docs at
``/docs``; ``GET /`` a page to try the model in a browser (served from the package: no external resource).
Concurrent requests are batched: texts that arrive within ``batch_wait_ms`` of each other (up to
``max_batch``) are predicted together, off the event loop, in one worker thread.

Nothing a client sends breaks it: bad requests get a 422 naming the item and the reason (never echoing the
input: NaN, Infinity, lone surrogates, oversized texts included; a per-text problem's ``loc`` ends with the text's
index; a body not sent as JSON is named as such), bodies larger than the largest valid request
are refused with a 413 before they are read, a request that is not whole within ``request_seconds`` of its first
byte (or a connection that sends nothing) is closed, and a text that makes the model fail fails only its own
request (a 422 naming the text): the others of its batch are answered, and the batcher keeps running.
"""

from dataclasses import dataclass
from pathlib import Path

from ..errors import EmobenchError, option
from .batcher import Batcher, ModelFailure
from .page import add_page
from .transport import BodyLimit, check_port, deadline_protocol
from .validation import clean_errors, strict_route

__all__ = ["Batcher", "ServiceSettings", "create_app", "serve"]


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


def create_app(path: str | Path, backend: str = "auto", settings: ServiceSettings | None = None,
               allow_modified: bool = False):
    """The FastAPI app serving the model at ``path`` (a run, a model or an export)."""
    try:
        from fastapi import FastAPI
    except ImportError:
        raise EmobenchError("serving needs FastAPI and uvicorn (pip install 'emobench[serve]')") from None
    from .predictor import Predictor
    from .schemas import service_types

    settings = settings or ServiceSettings()
    predictor = Predictor(path, backend, allow_modified)
    batcher = Batcher(predictor, settings)
    card = {**predictor.card(), "limits": {"max_texts": settings.max_texts, "max_chars": settings.max_chars}}
    app = FastAPI(title="emobench", version=card["emobench_version"], lifespan=_lifespan(batcher),
                  description=f"Emotion recognition with {card.get('model') or card['family']} "
                              f"({'multi-label' if predictor.multi_label else 'single-label'}: {', '.join(predictor.label_names)})")
    _answer_refusals(app, settings)
    app.router.route_class = strict_route()
    _add_routes(app, service_types(settings, predictor.label_names), batcher, card)
    add_page(app)
    app.state.batcher = batcher
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _lifespan(batcher: Batcher):
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    return lifespan


def _answer_refusals(app, settings: ServiceSettings) -> None:
    """A refused request and a text the model cannot score are both a 422 naming the item, never echoing it."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # every text of a request can be named, and a few more problems; the rest are counted
        problems = clean_errors(exc.errors(), most=settings.max_texts + 16)
        return JSONResponse(status_code=422, content={"detail": problems})

    @app.exception_handler(ModelFailure)
    async def failed(request: Request, exc: ModelFailure):
        # The text, not the server, is what cannot be processed: a 422 naming it, like every other refused item.
        where = ["body", "texts", exc.index] if exc.index is not None else ["body", "texts"]
        return JSONResponse(status_code=422, content={"detail": [{
            "loc": where, "msg": f"the model could not score this text ({exc.reason})"[:300], "type": "model_failure"}]})


def _add_routes(app, types, batcher: Batcher, card: dict) -> None:
    PredictRequest = types.request  # noqa: N806 - FastAPI reads the body's model from this annotation

    @app.post("/predict", response_model=types.response, response_model_exclude_none=True,
              responses=types.refusals)
    async def predict(request: PredictRequest) -> dict:
        """Label (or label set) and every label's probability, per text, in the order given."""
        return {"predictions": [p.dump(text=False) for p in await batcher.predict(request.texts)]}

    if card["explains"]:
        ExplainRequest = types.explain_request  # noqa: N806

        @app.post("/explain", response_model=types.explain_response, responses=types.refusals)
        async def explain(request: ExplainRequest) -> dict:
            """Each text's word attributions toward ``label`` (default: its most probable label), in the order given:
            the tokens and each one's score (positive: for the label), as `emobench explain` gives them."""
            found = await batcher.explain(request.texts, request.label)
            return {"explanations": [{"label": e.label, "probability": e.probability, "tokens": e.tokens,
                                      "scores": e.scores, "method": e.method} for e in found]}

    @app.get("/health")
    async def health() -> dict:
        alive = batcher.task is None or not batcher.task.done()
        return {"status": "ok" if alive else "failing", "batches": batcher.batches, "failed_requests": batcher.failures}

    @app.get("/model")
    async def model() -> dict:
        return card


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "auto",
          settings: ServiceSettings | None = None, log_level: str = "info", allow_modified: bool = False) -> None:
    import uvicorn

    settings = settings or ServiceSettings()
    check_port(host, port)
    app = create_app(path, backend, settings, allow_modified)
    from ..logs import logger

    logger.info("serving %s at http://%s:%d (a page to try it at /; POST /predict, GET /health, GET /model, docs at "
                "/docs); Ctrl-C stops it",
                Path(path).name, host if ":" not in host else f"[{host}]", port)
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=deadline_protocol(settings.request_seconds),
                h11_max_incomplete_event_size=64 * 1024)
