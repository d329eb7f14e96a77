"""A bounded request queue in front of the language model, fair between tenants.

The model serves ``workers`` requests at a time (one per llama.cpp slot); the rest wait here. Waiting requests
are taken tenant by tenant in turn (round-robin), so one tenant's burst does not delay everyone else behind it.
The queue is bounded overall (503 when full) and, optionally, per tenant (429), so overload is refused at once
instead of piling up requests that would time out anyway.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from shenggu.config import Settings
from shenggu.errors import ShengguError
from shenggu.lazy import once_per
from shenggu.llm.llama import get_language_model, model_key
from shenggu.llm.types import ChatChunk, ChatMessage, ChatOptions, ChatResult, LanguageModel

T = TypeVar("T")
_END = object()  # end of a streamed answer


class QueueFullError(ShengguError):
    """Too many language-model requests are waiting already (for everyone)."""

    code = "llm_busy"
    http_status = 503


class TenantQueueFullError(QueueFullError):
    """This tenant has too many language-model requests waiting already."""

    code = "llm_tenant_busy"
    http_status = 429


class FairQueue:
    """Runs submitted jobs on ``workers`` threads, taking the tenants with waiting jobs in turn."""

    def __init__(self, *, workers: int = 1, max_waiting: int = 16, max_waiting_per_tenant: int | None = 8) -> None:
        self._max_waiting = max_waiting
        self._max_per_tenant = max_waiting_per_tenant
        self._waiting: dict[str, deque[tuple[Future[Any], Callable[[], Any]]]] = {}
        self._turns: deque[str] = deque()  # tenants with waiting jobs, next one first
        self._count = 0
        self._mean_seconds = 10.0  # running mean of job durations, for Retry-After
        self._workers = workers
        self._closed = False
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"llm-queue-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        """Jobs run at once."""
        return self._workers

    def submit(self, tenant: str, job: Callable[[], T]) -> Future[T]:
        """Queue ``job`` for ``tenant``; its future holds the result. Cancelling the future while it waits takes
        it out of the queue. Raises ``QueueFullError`` / ``TenantQueueFullError`` when there is no room."""
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise QueueFullError("the language-model queue is shut down")
            retry = {"Retry-After": str(self._retry_after())}
            if self._count >= self._max_waiting:
                raise QueueFullError(f"{self._count} language-model requests are waiting; try again later", retry)
            mine = self._waiting.setdefault(tenant, deque())
            if self._max_per_tenant is not None and len(mine) >= self._max_per_tenant:
                raise TenantQueueFullError(f"this tenant has {len(mine)} language-model requests waiting", retry)
            if not mine:
                self._turns.append(tenant)
            mine.append((future, job))
            self._count += 1
            self._cond.notify()
        future.add_done_callback(lambda f: self._forget(tenant, f))
        return future

    def waiting(self) -> int:
        """Jobs submitted and not started yet."""
        with self._cond:
            return self._count

    def close(self) -> None:
        """Stop the workers after their current jobs; waiting jobs are cancelled."""
        with self._cond:
            self._closed = True
            pending = [future for jobs in self._waiting.values() for future, _ in jobs]
            self._cond.notify_all()
        for future in pending:
            future.cancel()
        for thread in self._threads:
            thread.join()

    def _retry_after(self) -> int:
        return max(1, math.ceil(self._mean_seconds * (self._count + 1) / self._workers))

    def _forget(self, tenant: str, future: Future[Any]) -> None:
        if not future.cancelled():
            return
        with self._cond:  # a cancelled job leaves the queue at once, so it does not hold a place
            mine = self._waiting.get(tenant)
            for item in mine or ():
                if item[0] is future:
                    mine.remove(item)
                    self._count -= 1
                    if not mine:
                        del self._waiting[tenant]
                        self._turns.remove(tenant)
                    break

    def _next(self) -> tuple[Future[Any], Callable[[], Any]] | None:
        with self._cond:
            while not self._turns and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            tenant = self._turns.popleft()
            mine = self._waiting[tenant]
            item = mine.popleft()
            self._count -= 1
            if mine:
                self._turns.append(tenant)  # its next job waits until every other tenant had a turn
            else:
                del self._waiting[tenant]
            return item

    def _work(self) -> None:
        while (item := self._next()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            started = time.perf_counter()
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)
            with self._cond:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.perf_counter() - started)


class ChatQueue:
    """A language model behind a ``FairQueue``: each request names its tenant and waits for its turn."""

    def __init__(self, model: LanguageModel, fair_queue: FairQueue) -> None:
        self._model = model
        self._queue = fair_queue

    @property
    def slots(self) -> int:
        """Requests the model works on at once: a caller with several requests may keep this many queued."""
        return self._queue.workers

    def chat(self, tenant: str, messages: Sequence[ChatMessage], options: ChatOptions | None = None) -> ChatResult:
        """Wait for a turn, then answer in one piece."""
        future = self._queue.submit(tenant, lambda: self._model.chat(messages, options))
        try:
            return future.result()
        finally:
            future.cancel()  # only has an effect when the wait was interrupted

    def stream(
        self, tenant: str, messages: Sequence[ChatMessage], options: ChatOptions | None = None
    ) -> Generator[ChatChunk, None, None]:
        """Wait for a turn, then yield the answer as it is generated. The request is queued at once (so a full
        queue raises here, before the first chunk); closing the generator gives up the place in the queue or
        stops the generation."""
        chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        abandoned = threading.Event()

        def pump() -> None:
            # Runs on a queue worker, so the model is held exactly while this answer is generated.
            generation = self._model.stream(messages, options)
            try:
                for chunk in generation:
                    chunks.put(chunk)
                    if abandoned.is_set():
                        break
            finally:
                generation.close()  # stops the model when the caller went away
                chunks.put(_END)

        def on_done(future: Future[None]) -> None:
            if future.cancelled():  # never ran (queue shut down): wake the reader
                chunks.put(_END)

        future = self._queue.submit(tenant, pump)
        future.add_done_callback(on_done)
        return _drain(chunks, future, abandoned)


def _drain(
    chunks: queue.SimpleQueue[Any], future: Future[None], abandoned: threading.Event
) -> Generator[ChatChunk, None, None]:
    try:
        while (chunk := chunks.get()) is not _END:
            yield chunk
        future.result()  # re-raises the model's error (or CancelledError when the queue shut down)
    finally:
        abandoned.set()
        future.cancel()


ChatQueueProvider = Callable[[Settings], ChatQueue]
_provider: ChatQueueProvider | None = None


def provide_chat_queues(provider: ChatQueueProvider | None) -> None:
    """Let a higher layer supply the process's chat queues (the service does, when the model runs on a Ray
    cluster: the fair queue stays here, the model is remote); ``None`` restores the local model."""
    global _provider
    _provider = provider


def get_chat_queue(settings: Settings) -> ChatQueue:
    """The process's queue in front of its language model: by default ``get_language_model(settings)``, one worker
    per llama.cpp slot (loads the model); else the registered provider's."""
    return _provider(settings) if _provider is not None else _local_chat_queue(settings)


@once_per(model_key)
def _local_chat_queue(settings: Settings) -> ChatQueue:
    model = get_language_model(settings)
    return ChatQueue(model, FairQueue(workers=model.slots))
