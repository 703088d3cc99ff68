"""``emobench review AUDIT``: a page that goes through an audit's flagged texts (experiments/review.py's Review) and
the two endpoints it uses: ``GET /review/items`` (the texts in review order, with the decisions so far) and ``POST
/review/decide`` (one decision, saved before the answer). Requests are checked as the prediction service checks
them: strict JSON, unknown keys refused, a 422 naming the field and never echoing the body, bodies bounded."""

import threading
from pathlib import Path
from typing import Literal

from ..errors import EmobenchError
from .page import add_page
from .transport import BodyLimit, check_port
from .validation import clean_errors, strict_route

MAX_BODY = 64 * 1024  # a decision is a few hundred bytes


def create_review_app(review):
    """The FastAPI app of a :class:`~emobench.experiments.review.Review` (held open by the caller)."""
    from fastapi import FastAPI, Request

    from ..experiments.review import ReviewRefusal
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field

    names, total = list(review.audit.labels), len(review.items)
    Label = Literal[tuple(names)]  # type: ignore[valid-type]

    class DecideRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)  # "0" is not an item, true is not 1
        item: int = Field(..., ge=0, lt=total, description="the item's position in review order")
        decision: Literal["keep", "accept", "relabel"]
        labels: list[Label] | None = Field(None, max_length=len(names),  # type: ignore[valid-type]
                                           description="relabel: the text's labels (one for single-label data; none "
                                                       "for a multi-label text without a label)")

    app = FastAPI(title="emobench review", docs_url=None, redoc_url=None)
    app.router.route_class = strict_route()
    writing = threading.Lock()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": clean_errors(exc.errors(), most=16)})

    @app.exception_handler(EmobenchError)
    async def refused(request: Request, exc: EmobenchError):
        if not isinstance(exc, ReviewRefusal):  # not the request's fault: the file could not be saved, or changed
            return JSONResponse(status_code=409 if "changed since" in str(exc) else 500,
                                content={"detail": str(exc)[:500]})
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", exc.field], "msg": str(exc)[:300],
                                                                  "type": "decision"}]})

    @app.get("/review/items")
    def items() -> dict:
        decided = review.decided()
        return {"audit": str(review.audit_path), "corrections": str(review.path), "dataset": review.audit.dataset,
                "model": review.audit.model, "folds": review.audit.folds, "task": review.audit.task, "labels": names,
                "items": [_item(k, it, decided.get((it.split, it.index)), review.votes.get((it.split, it.index), {}))
                          for k, it in enumerate(review.items)]}

    @app.post("/review/decide")
    def decide(request: DecideRequest) -> dict:
        if request.decision == "relabel" and request.labels is None:
            raise ReviewRefusal("labels", "relabel: give the text's labels")
        if request.decision != "relabel" and request.labels is not None:
            raise ReviewRefusal("labels", f"{request.decision}: labels apply to relabel only")
        with writing:  # one decision written at a time: each write holds every decision so far
            made = review.decide(request.item, request.decision, request.labels)
            decided = len(review.corrections.decisions)
        return {"decided": decided, "total": total, "decision": _decision(made)}

    add_page(app, "review.html", ("common.js", "review.js"), ("page.css",))
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
    return app


def _decision(d) -> dict | None:
    return None if d is None else {"decision": d.decision, "labels": list(d.labels)}


def _item(position: int, item, decision, votes: dict) -> dict:
    return {"position": position, "split": item.split, "index": item.index, "text": item.text, "given": item.given,
            "suggested": item.suggested, "self_confidence": item.self_confidence, "decision": _decision(decision),
            "votes": votes}


def serve_review(audit: str | Path, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve the review of ``audit`` until stopped; the corrections file is held for as long."""
    import uvicorn

    from ..experiments.review import Review
    from ..logs import logger

    check_port(host, port)
    review = Review(audit)
    try:
        app = create_review_app(review)
        done = len(review.corrections.decisions)
        logger.info("reviewing %d flagged texts of %s (%d decided so far, saved to %s) at http://%s:%d/; Ctrl-C stops it",
                    len(review.items), review.audit_path, done, review.path,
                    host if ":" not in host else f"[{host}]", port)
        uvicorn.run(app, host=host, port=port, log_level=log_level, h11_max_incomplete_event_size=64 * 1024)
    finally:
        review.close()
