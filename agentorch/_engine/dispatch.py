"""Eager dispatch: a sub-task starts the moment its own dependencies have finished.

One `dispatch` node runs a whole round. It starts one `specialist` task (LangGraph's functional
API) per sub-task of the round that has no result yet, all at once and in plan order, and each
task first waits, in-process, for the results of its own dependencies. So a sub-task never waits
for a slow sibling it does not depend on, as it would between LangGraph supersteps.

Why all at once: LangGraph names a task by the node's step and the order of the task calls, and
replays a finished task's checkpointed result when the node runs again with the same call
order (after an approval, a failure or a crash). Calls made as dependencies finish would follow
the timing of the models; calls made up front in plan order are the same on every run.

What each task ends with:
- its state update (the sub-task finished, failed or was skipped by a budget): checkpointed when
  it finishes, streamed as an `updates` chunk (`{"specialist": update}`), merged into the node's
  update at the end of the round;
- None: it never started, because a dependency did not finish with status "done" or it became
  ready after the run stopped (a budget, reached in this invocation of the node); that is final
  for the round, so it may be replayed;
- `_NotStarted` (raised): a dependency raised or paused for approval. Raised, not returned,
  because LangGraph keeps no result for a task that raised: when the run continues, it starts.

A failure or a pause never cancels a sibling: every task that can run ends first (its result is
saved), then the node raises the error, or pauses with every pending interrupt at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from langgraph.errors import GraphInterrupt
from langgraph.func import task
from langgraph.types import RetryPolicy

from agentorch._engine.context import FirstCallFailed, RunContext, first_call_retry
from agentorch._engine.specialist import specialist, subtask_failed
from agentorch._engine.state import (
    SpecialistInput,
    SubtaskUpdate,
    merge_subtask_updates,
)
from agentorch._keys import NODE_SPECIALIST
from agentorch._plan import may_start

log = logging.getLogger("agentorch")

__all__ = ["run_round"]


class _NotStarted(Exception):
    """A sub-task did not start: one of its dependencies raised or paused."""


class _Round:
    """What the tasks of one round share: the run context, and each sub-task's outcome.

    `outcome[id]` resolves with the sub-task's result (a dumped `SubTaskResult`), with None when
    it never ran, or with `_NotStarted` when it raised or paused.
    """

    def __init__(self, ctx: RunContext, results: dict[str, dict[str, Any]], todo: list[str]) -> None:
        self.ctx = ctx
        loop = asyncio.get_running_loop()
        self.outcome: dict[str, asyncio.Future[Any]] = {}
        for sid, result in results.items():
            self.outcome[sid] = loop.create_future()
            self.outcome[sid].set_result(result)
        for sid in todo:
            self.outcome[sid] = loop.create_future()
        self.order: dict[str, int] = {}  # when each task of this round ended: 1 for the first, ...
        self.stopped_at: int | None = None  # how many had ended when a budget stopped the run

    def __repr__(self) -> str:  # what traces show as the task's second input
        return f"<round of {len(self.outcome)} sub-tasks>"

    def settle(self, sid: str, fut: asyncio.Future[Any]) -> None:
        """Record how the task of `sid` ended (a done callback of its future)."""
        self.order[sid] = len(self.order) + 1
        if fut.cancelled() or fut.exception() is not None:
            self.outcome[sid].set_result(_NotStarted)
            return
        update = fut.result()
        self.outcome[sid].set_result(None if update is None else update["results"][sid])

    async def dependencies(self, depends_on: list[str]) -> dict[str, dict[str, Any]] | None:
        """The results of `depends_on` once all have finished; None when one did not finish
        with status "done" or the sub-task became ready after a budget stopped the run; raises
        `_NotStarted` when one raised or paused.

        Ready before the stop, a sub-task starts (and its first call finds the budget spent):
        which sub-tasks a stop holds back depends on the order tasks end, not on the order the
        event loop wakes the waiting ones."""
        # shielded: a waiter cancelled (the run stopped) must not cancel the shared outcome,
        # which `settle` still resolves when the dependency's own task ends
        found = {d: await asyncio.shield(self.outcome[d]) for d in depends_on}
        if any(r is _NotStarted for r in found.values()):
            raise _NotStarted()
        statuses = {d: None if r is None else r["status"] for d, r in found.items()}
        return found if may_start(depends_on, statuses, self.order, self.stopped_at) else None


async def _specialist_task(inp: SpecialistInput, this_round: _Round) -> SubtaskUpdate | None:
    deps = await this_round.dependencies(list(inp["subtask"]["depends_on"]))
    if deps is None:
        return None
    update = await specialist(this_round.ctx, {**inp, "dependencies": deps})
    if update.get("stop"):
        # set by a sub-task that ran now, never by a replayed one: a sub-task resumed after
        # an approval carries on (the budget refuses its next call if it must)
        if this_round.stopped_at is None:
            this_round.stopped_at = len(this_round.order)
    return update


@functools.lru_cache(maxsize=64)
def _specialist_call(retry: RetryPolicy) -> Any:
    """The `specialist` task, retried by `retry` when the first call it made directly failed."""
    # langgraph 1.2 types `task(...)` as taking functions of no arguments (ParamSpec lost)
    return task(name=NODE_SPECIALIST, retry_policy=first_call_retry(retry))(_specialist_task)  # type: ignore[arg-type]


async def run_round(
    ctx: RunContext, inputs: list[SpecialistInput], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Run every sub-task of `inputs` (plan order, no result yet) as its dependencies finish;
    `results` holds the round's results so far. Returns the round's merged state update."""
    this_round = _Round(ctx, results, [inp["subtask"]["id"] for inp in inputs])
    futures: dict[str, asyncio.Future[Any]] = {}
    finished: list[SubtaskUpdate] = []  # task updates, in the order the tasks ended
    call = _specialist_call(ctx.settings.retry)
    for inp in inputs:
        sid = inp["subtask"]["id"]
        fut = call(inp, this_round)
        fut.add_done_callback(lambda f, sid=sid: this_round.settle(sid, f))
        futures[sid] = fut
    await asyncio.wait(futures.values())
    interrupts: list[Any] = []
    failure: BaseException | None = None
    for inp, fut in zip(inputs, futures.values(), strict=True):  # plan order: the first failure
        exc = fut.exception()  # of the plan is raised
        if isinstance(exc, FirstCallFailed) and exc.__cause__ is not None:
            exc = subtask_failed(inp["subtask"]["id"], inp["subtask"]["agent"], exc.__cause__)
        if isinstance(exc, GraphInterrupt):
            interrupts.extend(exc.args[0] if exc.args else ())
        elif isinstance(exc, _NotStarted):
            continue
        elif exc is not None:
            failure = failure or exc
        elif (update := fut.result()) is not None:
            finished.append(update)
    if failure is not None:
        raise failure
    if interrupts:
        log.debug("round paused with %d pending interrupts", len(interrupts))
        raise GraphInterrupt(interrupts)
    finished.sort(key=lambda u: min(h["finished_at"] for h in u["history"]))
    return _merge(finished)


def _merge(updates: list[SubtaskUpdate]) -> dict[str, Any]:
    """The state update of a round: its tasks' updates, merged as the state's reducers would."""
    return merge_subtask_updates({"results": {}, "history": [], "feedback": {}, "usage": {}}, updates)
