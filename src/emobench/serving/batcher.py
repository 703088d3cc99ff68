"""Batching for the HTTP service: texts of concurrent requests predicted together, off the event loop, in one
worker thread; a text that makes the model fail fails only its own request."""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .prediction import Prediction

if TYPE_CHECKING:
    from .service import ServiceSettings


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
        self.explaining: asyncio.Lock | None = None  # attributions are many model calls a text: one request at a time

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def predict(self, texts: list[str]) -> list[Prediction]:
        if self.task is None:  # used without the app's lifespan (e.g. directly in a test)
            await self.start()
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, future))
        return await future

    async def explain(self, texts: list[str], label: str | None) -> list:
        """The texts' word attributions (Predictor.explain), in a worker thread, one request at a time."""
        from .predictor import UnscorableText

        self.explaining = self.explaining or asyncio.Lock()
        async with self.explaining:
            try:
                return await asyncio.to_thread(self.predictor.explain, texts, label)
            except UnscorableText as exc:
                self.failures += 1
                raise ModelFailure(exc.reason, exc.index) from None

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

    def _predict(self, texts: list[str]) -> list[Prediction]:
        return self.predictor.score(texts)
