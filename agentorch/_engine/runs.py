"""The run façade of a `Team`: run, stream and resume it, read its results, async and sync.

`Team` (`agentorch._team`) is the description a user builds, and a base of `Runs`; a run reads
the team's frozen settings (`Team.settings()`) through its `RunContext`. This is the thin layer
that drives the compiled graph for a thread and turns its stream into agentorch's events and its
state into a `RunResult`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StreamMode

from agentorch._engine import approvals
from agentorch._engine.context import RunContext
from agentorch._engine.events import Event, Interrupted, describe_event, events_from_chunk
from agentorch._engine.graph import mark_sent_back
from agentorch._engine.state import add_usage, merge_subtask_updates
from agentorch._errors import AgentorchError, ConfigError, CriticError, PlanError, RunFailed, describe_error
from agentorch._observe.metrics import run_metrics
from agentorch._observe.tracing import ensure_tracing_usable, trace_config
from agentorch._plan import plan_problems
from agentorch._sync import iterate_sync, run_sync
from agentorch._types import (
    PendingInterrupt,
    Plan,
    RunResult,
    StepRecord,
    SubTaskResult,
    Usage,
    Verdict,
)

if TYPE_CHECKING:
    from agentorch._settings import TeamSettings

log = logging.getLogger("agentorch")

__all__ = ["Runs"]


class Runs:
    """How a `Team` runs: `run`/`arun`, `stream`/`astream`, `resume`/`aresume`,
    `aresume_stream` and `result`/`aresult`. A base of `Team`, which supplies what is declared
    here: its settings for a run and the compiled graph that runs them."""

    def settings(self) -> TeamSettings:
        """The team's frozen settings for the next run (supplied by `Team`)."""
        raise NotImplementedError

    def _compiled(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The compiled graph a run drives, with the team's checkpointer (supplied by `Team`)."""
        raise NotImplementedError

    async def astream(
        self, goal: str, *, thread_id: str | None = None, tokens: bool = False
    ) -> AsyncIterator[Event]:
        """Run the team on `goal`, yielding typed events as the work happens.

        `tokens=True` adds a `Token` event for each piece of text the specialists and the
        synthesizer write, as the models stream it (LangGraph's "messages" stream mode)."""
        goal = _check_goal(goal)
        tid = thread_id or uuid.uuid4().hex
        await self._check_fresh_thread(tid)
        start = {"goal": goal, "run_id": uuid.uuid4().hex, "round": 0}
        async for ev in self._drive(start, tid, tokens=tokens):
            yield ev

    async def aresume_stream(
        self,
        thread_id: str,
        approve: Any = None,
        *,
        decisions: Mapping[str, Any] | None = None,
        approve_all: bool | None = None,
        by: str | None = None,
        tokens: bool = False,
    ) -> AsyncIterator[Event]:
        """Continue an interrupted or failed run, yielding events (see `resume`; `tokens` as in
        `astream`: calls replayed from the checkpoint stream nothing)."""
        command, pending = await self._resume_command(thread_id, approve, decisions, approve_all, by)
        # a sub-task whose approval is answered carries on where it paused: it already started
        carrying_on = {p.payload.get("subtask_id") for p in pending if p.kind == "tool"}
        async for ev in self._drive(command, thread_id, carrying_on, tokens=tokens):
            yield ev

    async def arun(self, goal: str, *, thread_id: str | None = None) -> RunResult:
        """Run the team on `goal` and return the result.

        Raises `PlanError` if no valid plan could be made, and `RunFailed` (carrying the partial
        result) if a model or tool error outlived its retries; `resume(thread_id)` continues it.
        """
        tid = thread_id or uuid.uuid4().hex
        async for _ in self.astream(goal, thread_id=tid):
            pass
        return await self.aresult(tid)

    async def aresume(
        self,
        thread_id: str,
        approve: Any = None,
        *,
        decisions: Mapping[str, Any] | None = None,
        approve_all: bool | None = None,
        by: str | None = None,
    ) -> RunResult:
        """Continue the run on `thread_id`.

        After an interrupt, `approve` answers the one approval that waits: for a plan, True (run
        it), False (stop, status "rejected") or an edited `Plan`; for a gated tool call, True,
        False, or `{"args": {...}}` to run edited arguments (checked against the tool's schema
        now: a bad edit raises `ConfigError` and the run keeps waiting). When several wait,
        `decisions` maps interrupt ids to answers, and `approve_all=True` (or False) answers
        every one not in `decisions`. `by` records who decided (an answer's own `"by"` wins).
        After a failure, call it without answers to continue from the last checkpoint:
        finished sub-tasks and recorded tool calls are not run again.
        """
        async for _ in self.aresume_stream(
            thread_id, approve, decisions=decisions, approve_all=approve_all, by=by
        ):
            pass
        return await self.aresult(thread_id)

    def run(self, goal: str, *, thread_id: str | None = None) -> RunResult:
        """Sync `arun`."""
        return run_sync(self.arun(goal, thread_id=thread_id))

    def resume(
        self,
        thread_id: str,
        approve: Any = None,
        *,
        decisions: Mapping[str, Any] | None = None,
        approve_all: bool | None = None,
        by: str | None = None,
    ) -> RunResult:
        """Sync `aresume`."""
        return run_sync(self.aresume(thread_id, approve, decisions=decisions, approve_all=approve_all, by=by))

    def stream(self, goal: str, *, thread_id: str | None = None, tokens: bool = False) -> Iterator[Event]:
        """Sync `astream`."""
        return iterate_sync(self.astream(goal, thread_id=thread_id, tokens=tokens))

    async def aresult(self, thread_id: str) -> RunResult:
        """The `RunResult` of the run on `thread_id`, as its last checkpoint holds it."""
        snapshot = await self._compiled().aget_state(_config(thread_id))
        values = _with_round_so_far(snapshot.values or {}, await self._pending_writes(snapshot))
        interrupts = await self._waiting(snapshot)
        status = values.get("status") or ("interrupted" if interrupts else "failed")
        return _result_from_state(values, thread_id, status, interrupts)

    def result(self, thread_id: str) -> RunResult:
        """Sync `aresult`."""
        return run_sync(self.aresult(thread_id))

    # -- internals --------------------------------------------------------------------------

    async def _waiting(self, snapshot: Any) -> list[PendingInterrupt]:
        """The interrupts of `snapshot` that wait for an answer (`approvals.waiting_interrupts`)."""
        listed = [i for t in snapshot.tasks for i in t.interrupts]
        if not listed:
            return []
        return approvals.waiting_interrupts(listed, await self._pending_writes(snapshot))

    async def _pending_writes(self, snapshot: Any) -> list[Any]:
        """The writes saved for the step of `snapshot` (its tasks' results and answers)."""
        saved = await self._compiled().checkpointer.aget_tuple(snapshot.config)  # type: ignore[union-attr]
        return list(saved.pending_writes or []) if saved else []

    async def _failed_result(self, thread_id: str, message: str, spent: Usage | None = None) -> RunResult:
        """The run on `thread_id` as its checkpoint holds it, marked failed, plus `spent` usage
        that no checkpoint holds."""
        partial = await self.aresult(thread_id)
        usage = partial.usage
        if spent is not None:
            usage = Usage.model_validate(add_usage(usage.model_dump(), spent.model_dump()))
        return partial.model_copy(update={"status": "failed", "error": message, "usage": usage})

    async def _check_fresh_thread(self, thread_id: str) -> None:
        snapshot = await self._compiled().aget_state(_config(thread_id))
        if snapshot.values:
            hint = (
                f"call `team.resume({thread_id!r})` to continue it"
                if _unfinished(snapshot)
                else "use a new thread_id for a new run"
            )
            raise ConfigError(f"thread_id {thread_id!r} already holds a run; {hint}.")

    async def _resume_command(
        self,
        thread_id: str,
        approve: Any,
        decisions: Mapping[str, Any] | None,
        approve_all: bool | None = None,
        by: str | None = None,
    ) -> tuple[Command[Any] | None, list[PendingInterrupt]]:
        """The input that resumes the run on `thread_id`, and the interrupts it answers."""
        snapshot = await self._compiled().aget_state(_config(thread_id))
        if not snapshot.values:
            raise ConfigError(f"No run found on thread_id {thread_id!r}; start one with `run`.")
        pending = await self._waiting(snapshot)
        if not pending:
            if not _unfinished(snapshot):
                raise ConfigError(f"The run on thread_id {thread_id!r} has already finished.")
            if approve is not None or decisions or approve_all is not None:
                raise ConfigError(f"The run on {thread_id!r} is not waiting for approval.")
            return None, []
        if approve is not None and approve_all is not None:
            raise ConfigError(
                "Pass `approve=` (one waiting approval) or `approve_all=` (all of them), not both."
            )
        undecided = [p for p in pending if p.id not in (decisions or {})]
        if approve is not None and len(undecided) > 1:
            raise ConfigError(
                f"The run on {thread_id!r} waits for {len(undecided)} approvals ("
                + ", ".join(f"`{p.id}` {_what(p)}" for p in undecided)
                + "): answer each with `decisions={id: answer}`, or all at once with "
                "`approve_all=True` or `approve_all=False`."
            )
        unknown = sorted(set(decisions or {}) - {p.id for p in pending})
        if unknown:
            raise ConfigError(
                f"`decisions` names {', '.join(f'`{u}`' for u in unknown)}, which the run on "
                f"{thread_id!r} is not waiting for; it waits for: "
                + ", ".join(f"`{p.id}`" for p in pending)
                + "."
            )
        settings = self.settings()
        find_tool = approvals.tool_lookup({a.name: a.tools for a in settings.agents})
        answers: dict[str, Any] = {}
        for p in pending:
            answer = (decisions or {}).get(p.id, approve if approve is not None else approve_all)
            if answer is None:
                raise ConfigError(
                    f"The run on {thread_id!r} is waiting for approval of a {_what(p)} "
                    f"(interrupt `{p.id}`): pass `approve=True`, `approve=False`"
                    + (" or an edited `Plan`" if p.kind == "plan" else " or {'args': {...}}")
                    + (", or `decisions={id: answer}` for each." if len(pending) > 1 else ".")
                )
            if p.kind == "plan":
                answers[p.id] = (
                    answer
                    if isinstance(answer, bool)
                    else edited_plan(answer, settings.agent_names, settings.max_subtasks)
                )
            else:
                answers[p.id] = approvals.answer_for(p, answer, tool=find_tool(p), by=by)
        # always by interrupt id: a bare value would be kept as the thread's answer to
        # whichever interrupt asks next, and could reach a call nobody was shown
        return Command(resume=answers), pending

    async def _drive(
        self, graph_input: Any, thread_id: str, carrying_on: Collection[Any] = (), *, tokens: bool = False
    ) -> AsyncIterator[Event]:
        graph = self._compiled()
        settings = self.settings()
        if isinstance(graph_input, dict):  # a new run on a fresh thread: nothing spent yet
            ctx = RunContext(settings=settings, thread_id=thread_id)
            run_id = graph_input.get("run_id", "")
        else:  # resuming: budgets count on from what the thread already spent
            snapshot = await graph.aget_state(_config(thread_id))
            values = _with_round_so_far(snapshot.values or {}, await self._pending_writes(snapshot))
            ctx = RunContext.resuming(settings, thread_id, values, await self._waiting(snapshot))
            run_id = values.get("run_id", "")
        ensure_tracing_usable()
        carrying_on = set(carrying_on)
        started: set[tuple[str, int, int]] = set()  # a task retried after its first call failed
        paused: list[PendingInterrupt] = []  # says it started again
        traced = trace_config(thread_id, run_id, settings.name, settings.prices)
        meter = run_metrics()
        # the status the run (or resume) ended in; "cancelled" if its caller stopped reading
        began, ended = time.monotonic(), "cancelled"
        log.debug(
            "run %s on thread %s: %s",
            run_id,
            thread_id,
            "resuming" if not isinstance(graph_input, dict) else "starting",
        )
        try:
            async for mode, chunk in graph.astream(
                graph_input, traced, context=ctx, stream_mode=_TOKEN_STREAM_MODES if tokens else _STREAM_MODES
            ):
                for ev in events_from_chunk(str(mode), chunk):
                    if ev["type"] == "interrupted":
                        # the step goes on until its other branches end: say it after them
                        paused.extend(ev["interrupts"])
                        continue
                    if ev["type"] == "subtask_started":
                        once = (ev["subtask_id"], ev["round"], ev["attempt"])
                        if ev["subtask_id"] in carrying_on or once in started:
                            carrying_on.discard(ev["subtask_id"])
                            continue
                        started.add(once)
                    if ev["type"] != "token" and log.isEnabledFor(logging.DEBUG):
                        log.debug("thread %s: %s", thread_id, describe_event(ev))
                    if meter is not None and ev["type"] == "subtask_finished":
                        meter.subtask_finished(settings.name, ev["result"])
                    elif ev["type"] == "final":
                        ended = ev["status"]
                    yield ev
            if paused:
                ended = "interrupted"
                yield Interrupted(type="interrupted", interrupts=paused)
        except ConfigError:
            ended = ""  # refused before it ran (e.g. a price missing under a money budget)
            raise
        except PlanError as e:
            ended = "failed"
            e.result = await self._failed_result(thread_id, str(e), e.spent)
            raise
        except (AgentorchError, GraphRecursionError, Exception) as e:
            ended = "failed"
            message = str(e) if isinstance(e, AgentorchError) else describe_error(e)
            if ctx.failed_role and not isinstance(e, AgentorchError):
                message = f"The `{ctx.failed_role}` model call failed: {message}"
            failed = await self._failed_result(thread_id, message, ctx.carried_usage())
            # raised to the caller, who decides what to show: only logged for -v
            log.info("run on thread %s failed: %s", thread_id, message)
            resumable = (
                f"{message} (thread_id {thread_id!r}; finished sub-tasks are kept — "
                f"`team.resume({thread_id!r})` continues the run)"
            )
            if isinstance(e, CriticError):  # the answers' problems are the cause: no resume hint
                raise CriticError(message, e.problems, failed) from e
            raise RunFailed(resumable, failed) from e
        finally:
            if meter is not None and ended:
                meter.run_ended(settings.name, ended, time.monotonic() - began)


def _with_round_so_far(values: Mapping[str, Any], pending_writes: Iterable[Any]) -> dict[str, Any]:
    """A thread's state `values` plus the sub-tasks that finished in a round that has not ended
    (paused, failed or cut off): their `specialist` tasks' updates, saved as each finished, are
    in the checkpoint's `pending_writes` but not yet in its values."""
    merged = merge_subtask_updates(values, (write[2] for write in pending_writes))
    return {**values, **{k: merged[k] for k in ("results", "history", "usage") if k in merged}}


def edited_plan(answer: Any, agents: Collection[str], max_subtasks: int) -> dict[str, Any]:
    """A person's edited plan (a `Plan` or its JSON form) as the plan-approval answer, or
    `ConfigError` saying what is wrong with it for a team of `agents`."""
    try:
        plan = answer if isinstance(answer, Plan) else Plan.model_validate(answer)
    except ValueError as e:
        raise ConfigError(f"The edited plan is not a valid `Plan`: {e}") from None
    problems = plan_problems(plan, agents, max_subtasks)
    if problems:
        raise ConfigError("The edited plan is invalid: " + " ".join(problems))
    return plan.model_dump(mode="json")


def _what(p: PendingInterrupt) -> str:
    """A pending approval in a few words: "plan", or the tool and its sub-task."""
    return (
        "plan" if p.kind == "plan" else f"tool `{p.payload.get('tool')}` for `{p.payload.get('subtask_id')}`"
    )


def _unfinished(snapshot: Any) -> bool:
    """Whether the thread's run can continue. `snapshot.next` alone is not enough: after a crash
    between steps, the last checkpoint's tasks have all saved their writes, so `next` is empty,
    yet the steps those writes lead to (e.g. the `Send`s to specialists) have not run."""
    return bool(snapshot.next or snapshot.tasks)


_STREAM_MODES: list[StreamMode] = ["updates", "custom"]
_TOKEN_STREAM_MODES: list[StreamMode] = [*_STREAM_MODES, "messages"]


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _check_goal(goal: Any) -> str:
    if not isinstance(goal, str) or not goal.strip():
        raise ConfigError(f"The goal must be a non-empty string, got {goal!r}.")
    return goal.strip()


def _result_from_state(
    values: Mapping[str, Any], thread_id: str, status: str, interrupts: list[PendingInterrupt]
) -> RunResult:
    plan = values.get("plan")
    return RunResult(
        goal=values.get("goal", ""),
        answer=values.get("answer", ""),
        status=status,
        plan=Plan.model_validate(plan) if plan else None,
        plans=[Plan.model_validate(p) for p in values.get("plans", [])],
        results={k: SubTaskResult.model_validate(v) for k, v in values.get("results", {}).items()},
        history=[
            SubTaskResult.model_validate(h)
            for h in mark_sent_back(values.get("history", []), values.get("verdicts", []))
        ],
        verdicts=[Verdict.model_validate(v) for v in values.get("verdicts", [])],
        steps=[StepRecord.model_validate(s) for s in values.get("steps", [])],
        rounds=int(values.get("round", 0)),
        usage=Usage.model_validate(values.get("usage") or {}),
        thread_id=thread_id,
        run_id=values.get("run_id", ""),
        quote=values.get("quote"),
        error=values.get("error", ""),
        interrupts=interrupts,
    )
