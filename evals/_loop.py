"""The event loop eval runs use: one case's callbacks at a time, each case run until it waits.

On a plain asyncio loop, concurrent cases interleave callback by callback. Cases that wait on
model calls of equal latency then stay in lockstep: they wake in the same loop iteration, their
CPU work interleaves, so each finishes its step only when all have — every step costs the CPU
of all of them. At 50 ms per scripted call, 8 concurrent cases gave 6.4x the throughput of one
rather than ~8x (BENCHMARKS.md, "evals").

`CaseLoop` schedules by case instead. Callbacks of the *active* case run back to back, in
order, until the case has nothing ready (it awaits a model call, a timer, a thread); then the
next case that has callbacks waiting becomes active. A case wakes in turn and runs its step at
full speed, so cases fall into a staggered rhythm instead of a convoy. Callbacks of the active
case scheduled during its burst run in the same loop iteration: I/O and timers are polled
between cases, not between every callback. A case busy for more than `QUANTUM` seconds
without waiting yields to the others (it goes to the back of the queue), so no case can
starve the rest even if it polls with `asyncio.sleep(0)`.

Callbacks outside any case (the runner itself, other libraries' background tasks) and those
that arrive from timers, I/O and other threads are scheduled as usual; only what they schedule
in turn, inside a case, waits for the case's turn.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["CaseLoop", "enter_case", "run_on_case_loop"]

QUANTUM = 0.01
"""Seconds a case may run without waiting before the others get their turn."""

_CASE: contextvars.ContextVar[object | None] = contextvars.ContextVar("agentorch_eval_case", default=None)

_Entry = tuple[asyncio.Handle, Callable[..., Any], tuple[Any, ...], contextvars.Context]

def enter_case() -> None:
    """Mark the running task (and the tasks it starts) as one case of its own."""
    _CASE.set(object())


class CaseLoop(asyncio.SelectorEventLoop):
    """An asyncio loop that runs one case at a time until it waits (see the module docs).

    The platform's selector loop (what `asyncio.run` uses on Linux and macOS) with its
    `call_soon` scheduling by case; a task belongs to the case `enter_case` marked it with.
    """

    def __init__(self) -> None:
        super().__init__()
        self._active: object | None = None
        self._burst: deque[_Entry] = deque()
        self._waiting: dict[object, deque[_Entry]] = {}  # other cases, in the order they woke
        self._drain_scheduled = False

    def call_soon(self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> asyncio.Handle:
        case = context.get(_CASE) if context is not None else _CASE.get()
        if case is None or self.is_closed():  # a closed loop raises, as asyncio's does
            return super().call_soon(callback, *args, context=context)
        if context is None:
            context = contextvars.copy_context()
        handle = asyncio.Handle(callback, args, self, context)
        entry = (handle, callback, args, context)
        if self._active is None:
            self._active = case
        if case is self._active:
            self._burst.append(entry)
            if not self._drain_scheduled:
                self._drain_scheduled = True
                super().call_soon(self._drain)
        else:
            self._waiting.setdefault(case, deque()).append(entry)
        return handle

    def _drain(self) -> None:
        """Run the active case's callbacks, and those they schedule, until it waits."""
        burst, deadline = self._burst, self.time() + QUANTUM
        try:
            while burst and self.time() <= deadline:
                self._run(*burst.popleft())
        finally:  # busy past its quantum (or interrupted): the case goes to the back
            if burst:
                self._waiting[self._active] = burst
            self._drain_scheduled = False
            self._next_case()

    def _next_case(self) -> None:
        self._active, self._burst = None, deque()
        while self._waiting:
            case = next(iter(self._waiting))
            entries = self._waiting.pop(case)
            if any(not entry[0].cancelled() for entry in entries):
                self._active, self._burst = case, entries
                self._drain_scheduled = True
                super().call_soon(self._drain)
                return

    def _run(self, handle: asyncio.Handle, callback: Callable[..., Any], args: tuple[Any, ...],
             context: contextvars.Context) -> None:
        if handle.cancelled():
            return
        try:
            context.run(callback, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # as asyncio does: report it, keep the loop running
            self.call_exception_handler(
                {"message": f"Exception in callback {callback!r}", "exception": exc, "handle": handle}
            )


def run_on_case_loop(coro: Any) -> Any:
    """Run `coro` to completion on a new `CaseLoop` (from sync code without a running loop)."""
    with asyncio.Runner(loop_factory=CaseLoop) as runner:
        return runner.run(coro)
