"""Sync wrappers over the async core: one implementation of every operation, async."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_sync", "iterate_sync"]


class _LoopThread:
    """An event loop on a private thread, for sync callers that may already be inside a loop
    (Jupyter runs one)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this loop in a copy of the caller's context; wait for its result.

        The context is copied as `asyncio.run` would: context variables the caller set
        (LangChain's `collect_runs`, LangSmith's `tracing_context`, ...) reach the run.
        """
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        tasks: list[asyncio.Task[T]] = []

        def relay(task: asyncio.Task[T]) -> None:
            if task.cancelled():
                result.cancel()
            elif (error := task.exception()) is not None:
                result.set_exception(error)
            else:
                result.set_result(task.result())

        def start() -> None:  # runs on the loop, inside the caller's context
            task = self.loop.create_task(coro)
            task.add_done_callback(relay)
            tasks.append(task)

        self.loop.call_soon_threadsafe(start, context=contextvars.copy_context())
        try:
            return result.result()
        except BaseException:
            if tasks and not tasks[0].done():  # Ctrl-C in the caller: stop the work too
                self.loop.call_soon_threadsafe(tasks[0].cancel)
                # ... and let it unwind first: the caller's clean-up (closing the async
                # generator it was pulling from) fails while that generator still runs
                with contextlib.suppress(BaseException):
                    result.result(timeout=30)
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


_shared: _LoopThread | None = None
_shared_lock = threading.Lock()


def _sync_loop() -> _LoopThread:
    """The one long-lived private loop every sync call runs on.

    One loop, not a new one per call (`asyncio.run`): clients cache connection pools bound to
    the loop that opened them — langchain-openai shares one async httpx client per process —
    so a second sync call on a fresh loop would reuse connections of a closed loop and fail
    with "Event loop is closed". Called from that loop's own thread (a sync call nested in a
    coroutine running there), a temporary loop is used instead of deadlocking.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.thread.is_alive():
            _shared = _LoopThread()
        if threading.current_thread() is _shared.thread:
            return _LoopThread()
        return _shared


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, even when called inside a running loop."""
    lt = _sync_loop()
    try:
        return lt.run(coro)
    finally:
        if lt is not _shared:
            lt.close()


async def _next(agen: AsyncIterator[T]) -> T:
    return await anext(agen)


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, one item at a time."""
    lt = _sync_loop()
    try:
        while True:
            try:
                yield lt.run(_next(agen))
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            lt.run(aclose())
        if lt is not _shared:
            lt.close()
