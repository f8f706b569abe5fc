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
without waiting yields to the others (it goes behind every case that is waiting, including
those its own time woke), so no case can starve the rest even if it polls with
`asyncio.sleep(0)`.

Callbacks outside any case (the runner itself, other libraries' background tasks), timers and
I/O handlers are scheduled as usual; only what they schedule in turn, inside a case, waits for
the case's turn. Within a case callbacks keep their order; across cases they do not, which is
the point. A case's parked callbacks wait for its turn, so a timeout can expire on work that is
ready but not yet run. After `loop.stop()` the running case's ready callbacks still run; other
cases' run when the loop runs again.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["CaseLoop", "enter_case", "run_on_case_loop"]

QUANTUM = 0.01
"""Seconds a case may run without waiting before the others get their turn."""

_CASE: contextvars.ContextVar[object | None] = contextvars.ContextVar("agentorch_eval_case", default=None)


def enter_case() -> None:
    """Make the running task one case of its own, from its next step on.

    Tasks it starts afterwards belong to the same case (they inherit its context); tasks
    started before stay where they were. Calling it again in the same task starts a new case.
    """
    _CASE.set(object())


class CaseLoop(asyncio.SelectorEventLoop):
    """An asyncio loop that runs one case at a time until it waits (see the module docs).

    The platform's selector loop (what `asyncio.run` uses on Linux and macOS) with callbacks
    scheduled by case; a task belongs to the case `enter_case` marked it with.
    """

    def __init__(self) -> None:
        super().__init__()
        self._active: object | None = None  # the case being run, and its queue
        self._burst: deque[asyncio.Handle] = deque()
        self._inbox: deque[tuple[object, asyncio.Handle]] = deque()  # callbacks not yet sorted
        self._queues: dict[object, deque[asyncio.Handle]] = {}  # per case, in the order they woke
        self._yielded: object | None = None  # the case that last ran out of its quantum
        self._drain_token: object | None = None  # the pending drain (or hop); loop thread only

    def _call_soon(self, callback: Callable[..., Any], args: tuple[Any, ...],
                   context: contextvars.Context | None) -> asyncio.Handle:
        # Where `call_soon` and `call_soon_threadsafe` queue a checked callback. Each path is one
        # atomic append, and only `_drain` moves callbacks between queues, so a call from a
        # finalizer, a signal handler or another thread, at any point of `_drain`, is never lost.
        case = _CASE.get() if context is None else context.get(_CASE)
        if case is None:
            return super()._call_soon(callback, args, context)
        handle = asyncio.Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        on_loop_thread = self._thread_id == threading.get_ident()
        if case is self._active and not self._inbox and on_loop_thread:
            self._burst.append(handle)  # runs in the burst under way, after what it scheduled
        else:
            self._inbox.append((case, handle))
            if not on_loop_thread:  # another thread: a drain that runs only if none is pending
                super()._call_soon(self._drain, (None,), contextvars.Context())
            elif self._drain_token is None:
                self._schedule(self._drain)
        return handle

    def _schedule(self, step: Callable[[object], None]) -> None:
        # The token is set only once the step is queued. A step superseded by a later one (a
        # re-entrant call in between) returns at once, so no second chain of drains outlives it.
        token = object()
        super()._call_soon(step, (token,), contextvars.Context())
        self._drain_token = token

    def _current(self, token: object) -> bool:
        return self._drain_token is None or token is self._drain_token

    def _hop(self, token: object) -> None:  # one loop iteration (a poll) before the drain
        if self._current(token):
            self._schedule(self._drain)

    def _drain(self, token: object) -> None:
        """Run the first waiting case's callbacks, and those it schedules, until it waits."""
        if not self._current(token):
            return
        case: object | None = None
        queue: deque[asyncio.Handle] = deque()
        front = True
        try:
            self._sort_inbox(None, queue)
            if not self._queues:
                return
            case = next(iter(self._queues))
            if case is self._yielded and len(self._queues) > 1:  # others woke meanwhile: after them
                self._queues[case] = self._queues.pop(case)
                case = next(iter(self._queues))
            self._yielded = None
            queue = self._burst = self._queues.pop(case)
            self._active = case  # after `_burst`: a call in between goes to the inbox
            clock = self.time
            deadline = clock() + QUANTUM
            ready = len(queue)  # after `loop.stop()`, what was ready still runs, as in asyncio
            while True:
                if self._inbox:  # scheduled earlier than what the burst appends: first
                    self._sort_inbox(case, queue)
                if not queue or (self._stopping and ready <= 0):
                    break
                if clock() > deadline:  # busy past its quantum: behind the cases that wait
                    front, self._yielded = False, case
                    break
                ready -= 1
                handle = queue.popleft()
                if not handle._cancelled:
                    handle._run()  # reports errors as asyncio does; raises only on exit/Ctrl-C
        finally:  # a loop stop or Ctrl-C keeps the case's turn; the rest run on the next drain
            self._active = None  # first: from here on, the case's new callbacks go to the inbox
            if queue and front:  # first in line again
                self._queues = {case: queue, **self._queues}
            elif queue:  # the case is not in `_queues` while it runs: this puts it last
                self._queues[case] = queue
            self._drain_token = None
            if self._inbox or self._queues:  # past its quantum: a hop first, so that the
                # next poll's timers and I/O wake their cases before the next drain
                self._schedule(self._drain if front else self._hop)

    def _sort_inbox(self, case: object | None, queue: deque[asyncio.Handle]) -> None:
        """Move the inbox to the running `case`'s `queue` and the other cases' queues."""
        self._active = None  # meanwhile, new calls queue behind the inbox's, in the inbox
        while self._inbox:
            owner, handle = self._inbox.popleft()
            (queue if owner is case else self._queues.setdefault(owner, deque())).append(handle)
        self._active = case

    def close(self) -> None:
        super().close()
        self._inbox.clear()
        self._queues.clear()
        self._burst = deque()  # may still hold the parked rest of the last burst


def run_on_case_loop(coro: Any) -> Any:
    """Run `coro` to completion on a new `CaseLoop` (from sync code without a running loop)."""
    with asyncio.Runner(loop_factory=CaseLoop) as runner:
        return runner.run(coro)
