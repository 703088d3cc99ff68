"""The HTTP service: FastAPI over a :class:`~emobench.serving.predictor.Predictor`.

``POST /predict`` with ``{"texts": [...]}`` returns, per text, the label (or label set) and every label's
probability; ``GET /health``; ``GET /model`` (family, dataset, labels, test metrics, version); OpenAPI docs at
``/docs``. Requests are validated (422 naming the item and the reason; never a 500 for bad input).
Concurrent requests are batched: texts that arrive within ``batch_wait_ms`` of each other (up to
``max_batch``) are predicted together, off the event loop, in one worker thread.
"""

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmobenchError


@dataclass
class ServiceSettings:
    max_texts: int = 64  # per request
    max_chars: int = 10_000  # per text
    max_batch: int = 64  # texts predicted together
    batch_wait_ms: float = 5.0  # how long a batch waits for more requests


class Batcher:
    """Collects texts from concurrent requests into batches; runs the model in one thread."""

    def __init__(self, predictor, settings: ServiceSettings):
        self.predictor, self.settings = predictor, settings
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.batches = 0

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
            everything = [t for texts, _ in waiting for t in texts]
            try:
                results = await asyncio.to_thread(self._predict, everything)
            except Exception as exc:  # reported to each waiting request as a 500 (a model fault, not bad input)
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            start = 0
            for texts, future in waiting:
                if not future.done():
                    future.set_result(results[start : start + len(texts)])
                start += len(texts)

    def _predict(self, texts: list[str]) -> list[dict]:
        return self.predictor.format(texts, self.predictor.probabilities(texts), include_text=False)


def create_app(path: str | Path, backend: str = "auto", settings: ServiceSettings | None = None,
               allow_modified: bool = False):
    try:
        from contextlib import asynccontextmanager

        from fastapi import FastAPI
        from pydantic import BaseModel, ConfigDict, Field, field_validator
    except ImportError:
        raise EmobenchError("serving needs FastAPI and uvicorn (pip install 'emobench[serve]')") from None
    from .predictor import Predictor

    settings = settings or ServiceSettings()
    predictor = Predictor(path, backend, allow_modified)
    batcher = Batcher(predictor, settings)
    card = predictor.card()

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        texts: list[str] = Field(..., min_length=1, max_length=settings.max_texts,
                                 description=f"1 to {settings.max_texts} texts, each 1 to {settings.max_chars} characters")

        @field_validator("texts")
        @classmethod
        def check_texts(cls, texts: list[str]) -> list[str]:
            for i, text in enumerate(texts):
                if not text.strip():
                    raise ValueError(f"texts[{i}] is empty")
                if len(text) > settings.max_chars:
                    raise ValueError(f"texts[{i}] has {len(text)} characters; the maximum is {settings.max_chars}")
            return texts

    class Prediction(BaseModel):
        label: str | None = None
        labels: list[str] | None = None
        probabilities: dict[str, float]

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="emobench", version=card["emobench_version"], lifespan=lifespan,
                  description=f"Emotion recognition with {card.get('model') or card['family']} "
                              f"({'multi-label' if predictor.multi_label else 'single-label'}: {', '.join(predictor.label_names)})")

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_none=True)
    async def predict(request: PredictRequest) -> dict:
        """Label (or label set) and every label's probability, per text, in the order given."""
        return {"predictions": await batcher.predict(request.texts)}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "batches": batcher.batches}

    @app.get("/model")
    async def model() -> dict:
        return card

    app.state.batcher = batcher
    return app


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "auto",
          settings: ServiceSettings | None = None, log_level: str = "info", allow_modified: bool = False) -> None:
    import uvicorn

    app = create_app(path, backend, settings, allow_modified)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
