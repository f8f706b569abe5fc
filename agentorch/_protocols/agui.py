"""A team run as AG-UI events over SSE (`pip install "agentorch[agui]"`).

`agui_events(team, run_input)` turns one AG-UI `RunAgentInput` into the run's AG-UI events;
`agui_app(team)` serves them at `POST /` as `text/event-stream`, for any AG-UI client.

- A new run: the last user message is the goal and `thread_id` the run's thread. A run input
  with `resume` entries answers the approvals the thread waits for (AG-UI interrupts):
  `status: "resolved"` with the payload `team.resume` takes as an answer (true, false,
  `{"args": {...}}`, an edited plan), `status: "cancelled"` denies.
- `RUN_STARTED`, then a `STATE_SNAPSHOT` of the run (below) and `STATE_DELTA`s (JSON Patch) as
  it changes; a step per sub-task attempt (`STEP_STARTED`/`STEP_FINISHED`, named by sub-task id);
  `TEXT_MESSAGE_START`/`CONTENT`/`END` for the text the agents and the synthesizer write as the
  models stream it (the message's `name` is the writer, its metadata the sub-task); tool calls
  as `TOOL_CALL_START`/`ARGS`/`END`/`RESULT` when the sub-task that made them finishes (agentorch
  records a call with its outcome); a `CUSTOM` `critic_verdict` per review.
- It ends with `RUN_FINISHED`: outcome `success` with `result` `{status, answer}`, or outcome
  `interrupt` listing what waits for a person; or with `RUN_ERROR` when the run failed.

The state: `{goal, thread_id, status, round, plan, subtasks: {id: {agent, description,
depends_on, status, attempts, output, duration, tokens, model}}, verdicts, interrupts, answer,
error, usage}` — `status` of a sub-task is `waiting`, `running`, `done`, `failed` or `skipped`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentorch._engine.events import Event
from agentorch._errors import AgentorchError, ConfigError, RunFailed
from agentorch._types import PendingInterrupt, Plan, Quote, RunResult

if TYPE_CHECKING:
    from ag_ui.core import BaseEvent, RunAgentInput
    from starlette.applications import Starlette

    from agentorch._team import Team

__all__ = ["agui_app", "agui_events", "run_state"]

log = logging.getLogger("agentorch")

_INSTALL = 'AG-UI support needs the `agui` extra: pip install "agentorch[agui]"'


def _core() -> Any:
    try:
        import ag_ui.core
    except ImportError as e:
        raise ConfigError(f"{_INSTALL} ({e.name} is missing).") from None
    return ag_ui.core


def run_state(result: RunResult) -> dict[str, Any]:
    """The AG-UI state of a run as its checkpoint holds it (see the module doc)."""
    subtasks: dict[str, Any] = {}
    if result.plan is not None:
        subtasks = _plan_rows(result.plan)
        for sid, r in result.results.items():
            if sid in subtasks:
                subtasks[sid].update(_finished(r))
        for h in result.history:
            if h.subtask_id in subtasks:
                subtasks[h.subtask_id]["attempts"] += 1
    return {
        "goal": result.goal,
        "thread_id": result.thread_id,
        "status": result.status,
        "round": result.rounds,
        "plan": result.plan.model_dump(mode="json") if result.plan else None,
        "subtasks": subtasks,
        "verdicts": [v.model_dump(mode="json") for v in result.verdicts],
        "interrupts": [p.model_dump(mode="json") for p in result.interrupts],
        "answer": result.answer,
        "error": result.error,
        "usage": result.usage.model_dump(mode="json"),
    }


def _plan_rows(plan: Plan) -> dict[str, Any]:
    return {st.id: _row(st.agent, st.description, st.depends_on) for st in plan.subtasks}


def _row(agent: str, description: str = "", depends_on: Any = ()) -> dict[str, Any]:
    """A sub-task's row in the state, before it runs."""
    return {
        "agent": agent,
        "description": description,
        "depends_on": list(depends_on),
        "status": "waiting",
        "attempts": 0,
        "output": "",
        "duration": 0.0,
        "tokens": 0,
        "model": "",
    }


def _finished(r: Any) -> dict[str, Any]:
    return {
        "status": r.status,
        "output": r.output,
        "duration": r.duration,
        "tokens": r.usage.total_tokens,
        "model": r.model,
    }


def _interrupt(core: Any, p: PendingInterrupt) -> Any:
    what = (
        "the plan"
        if p.kind == "plan"
        else f"tool `{p.payload.get('tool')}` for `{p.payload.get('subtask_id')}`"
    )
    quote = p.payload.get("quote") if p.kind == "plan" else None
    cost = f" Quote: {Quote.model_validate(quote).describe()}." if quote else ""
    return core.Interrupt(
        id=p.id,
        reason="plan_approval" if p.kind == "plan" else "tool_approval",
        message=f"Approve {what}?{cost}",
        tool_call_id=str(p.payload["call"]) if p.payload.get("call") else None,
        metadata=json.loads(json.dumps({"kind": p.kind, **p.payload}, default=str)),
    )


def _goal(run_input: RunAgentInput) -> str:
    for message in reversed(run_input.messages):
        if message.role == "user":
            content = message.content
            if isinstance(content, str):
                return content
            return " ".join(getattr(part, "text", "") for part in content).strip()
    raise ConfigError("The run input has no user message: send the goal as a user message.")


async def agui_events(team: Team, run_input: RunAgentInput) -> AsyncIterator[BaseEvent]:
    """The AG-UI events of running (or resuming, with `run_input.resume`) `team` on
    `run_input.thread_id` (see the module doc)."""
    core = _core()
    thread = run_input.thread_id
    yield core.RunStartedEvent(thread_id=thread, run_id=run_input.run_id)
    try:
        if run_input.resume:
            decisions = {
                e.interrupt_id: (e.payload if e.status == "resolved" else False) for e in run_input.resume
            }
            events = team.aresume_stream(thread, decisions=decisions, tokens=True)
            first = await anext(aiter(events), None)  # refuses bad answers before anything runs
            state = run_state(await team.aresult(thread))
            state["status"], state["interrupts"] = "running", []
        else:
            goal = _goal(run_input)
            events = team.astream(goal, thread_id=thread, tokens=True)
            first = await anext(aiter(events), None)
            state = {**run_state(RunResult(goal=goal, thread_id=thread)), "status": "running"}
    except AgentorchError as e:
        yield core.RunErrorEvent(message=str(e), code=type(e).__name__)
        return
    yield core.StateSnapshotEvent(snapshot=state)
    relay = _Relay(core, state)
    try:
        if first is not None:
            for out in relay.translate(first):
                yield out
            async for ev in events:
                for out in relay.translate(ev):
                    yield out
    except (RunFailed, ConfigError) as e:
        for out in relay.close_all("failed"):
            yield out
        yield core.StateDeltaEvent(delta=[_replace("/status", "failed"), _replace("/error", str(e))])
        yield core.RunErrorEvent(message=str(e), code=type(e).__name__)
        return
    result = await team.aresult(thread)
    for out in relay.close_all("ended"):
        yield out
    yield core.StateDeltaEvent(delta=[_replace("/usage", result.usage.model_dump(mode="json"))])
    if relay.paused:
        outcome = core.RunFinishedInterruptOutcome(interrupts=[_interrupt(core, p) for p in relay.paused])
        yield core.RunFinishedEvent(thread_id=thread, run_id=run_input.run_id, outcome=outcome)
    else:
        yield core.RunFinishedEvent(
            thread_id=thread,
            run_id=run_input.run_id,
            result={"status": result.status, "answer": result.answer},
            outcome=core.RunFinishedSuccessOutcome(),
        )


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


class _Relay:
    """Translates one run's agentorch events into AG-UI events, keeping the state up to date."""

    def __init__(self, core: Any, state: dict[str, Any]) -> None:
        self.core = core
        self.state = state
        self.open: dict[str | None, str] = {}  # sub-task (None: the synthesizer) -> open message id
        self.paused: list[PendingInterrupt] = []
        self.steps: set[str] = set()  # sub-tasks whose step is open

    def start_step(self, sid: str | None, agent: str, rnd: int) -> list[Any]:
        """The STEP_STARTED of `sid` unless its step is open (a sub-task carried on after an
        approval starts its step again with its first text or its end)."""
        if sid is None or sid in self.steps:
            return []
        self.steps.add(sid)
        return [self.core.StepStartedEvent(step_name=sid, metadata={"agent": agent, "round": rnd})]

    def close_all(self, why: str) -> list[Any]:
        """End the open messages and steps (the run paused or ended)."""
        steps = [
            self.core.StepFinishedEvent(step_name=s, metadata={"status": why}) for s in sorted(self.steps)
        ]
        self.steps.clear()
        return [*self.close_messages(), *steps]

    def delta(self, *ops: dict[str, Any]) -> Any:
        return self.core.StateDeltaEvent(delta=list(ops))

    def close_messages(self, subtask: str | None | object = ...) -> list[Any]:
        keys = list(self.open) if subtask is ... else [subtask] if subtask in self.open else []
        return [self.core.TextMessageEndEvent(message_id=self.open.pop(k)) for k in keys]

    def translate(self, ev: Event) -> list[Any]:
        core, out = self.core, []
        if ev["type"] == "token":
            sid = ev["subtask_id"]
            out += self.start_step(sid, ev["role"], ev["round"])
            if self.open.get(sid) != ev["message_id"]:
                out += self.close_messages(sid)
                self.open[sid] = ev["message_id"] or uuid.uuid4().hex
                out.append(
                    core.TextMessageStartEvent(
                        message_id=self.open[sid],
                        role="assistant",
                        name=ev["role"],
                        metadata={"subtask_id": sid, "round": ev["round"]},
                    )
                )
            out.append(core.TextMessageContentEvent(message_id=self.open[sid], delta=ev["text"]))
        elif ev["type"] in ("plan_created", "replanned"):
            plan = ev["plan"]
            rows = _plan_rows(plan)
            for sid, row in self.state["subtasks"].items():  # a replan keeps what was done
                if sid in rows and row["status"] == "done":
                    rows[sid] = row
            self.state.update(plan=plan.model_dump(mode="json"), subtasks=rows, round=ev["round"])
            out.append(
                self.delta(
                    _replace("/plan", self.state["plan"]),
                    _replace("/subtasks", rows),
                    _replace("/round", ev["round"]),
                )
            )
        elif ev["type"] == "subtask_started":
            sid = ev["subtask_id"]
            row = self.state["subtasks"].setdefault(sid, _row(ev["agent"]))
            row.update(status="running", attempts=row["attempts"] + 1, model=ev["model"])
            out += self.close_messages(sid)
            if sid in self.steps:  # an earlier attempt's step
                self.steps.discard(sid)
                out.append(core.StepFinishedEvent(step_name=sid, metadata={"status": "retried"}))
            out += self.start_step(sid, ev["agent"], ev["round"])
            out.append(self.delta(_replace(f"/subtasks/{_ptr(sid)}", row)))
        elif ev["type"] == "subtask_finished":
            sid, result = ev["subtask_id"], ev["result"]
            out += self.start_step(sid, ev["agent"], ev["round"])
            out += self.close_messages(sid)
            for i, call in enumerate(result.tool_calls):
                call_id = call.key or f"{sid}:{result.round}:{i}"
                out += [
                    core.ToolCallStartEvent(tool_call_id=call_id, tool_call_name=call.name),
                    core.ToolCallArgsEvent(tool_call_id=call_id, delta=json.dumps(call.args, default=str)),
                    core.ToolCallEndEvent(tool_call_id=call_id),
                    core.ToolCallResultEvent(
                        message_id=uuid.uuid4().hex,
                        tool_call_id=call_id,
                        content=call.output
                        if call.outcome == "ok"
                        else f"{call.outcome}: {call.error}".rstrip(": "),
                    ),
                ]
            row = self.state["subtasks"].setdefault(sid, _row(ev["agent"]))
            row.update(_finished(result))
            out.append(self.delta(_replace(f"/subtasks/{_ptr(sid)}", row)))
            self.steps.discard(sid)
            out.append(core.StepFinishedEvent(step_name=sid, metadata={"status": result.status}))
        elif ev["type"] == "critic_verdict":
            verdict = ev["verdict"].model_dump(mode="json")
            self.state["verdicts"].append(verdict)
            out.append(core.CustomEvent(name="critic_verdict", value={"round": ev["round"], **verdict}))
            out.append(self.delta({"op": "add", "path": "/verdicts/-", "value": verdict}))
        elif ev["type"] == "interrupted":
            self.paused = list(ev["interrupts"])
            out += self.close_all("waiting")
            waiting = [p.model_dump(mode="json") for p in self.paused]
            out.append(self.delta(_replace("/status", "interrupted"), _replace("/interrupts", waiting)))
        elif ev["type"] == "final":
            out += self.close_all("ended")
            self.state.update(status=ev["status"], answer=ev["answer"])
            out.append(self.delta(_replace("/status", ev["status"]), _replace("/answer", ev["answer"])))
        return out


def _ptr(key: str) -> str:
    """`key` as one JSON Pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def agui_app(team: Team) -> Starlette:
    """An ASGI app serving `team` over AG-UI: `POST /` takes a `RunAgentInput` (JSON) and
    answers with the run's events as SSE."""
    _core()
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route("/", agui_endpoint(team), methods=["POST"])])


def agui_endpoint(team: Team) -> Any:
    """The Starlette endpoint of `agui_app` (also mounted by the live view)."""
    from ag_ui.core import RunAgentInput
    from ag_ui.encoder import EventEncoder
    from pydantic import ValidationError
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse

    encoder = EventEncoder()

    async def endpoint(request: Request) -> Any:
        try:
            run_input = RunAgentInput.model_validate(await request.json())
        except (ValueError, ValidationError) as e:
            return JSONResponse({"error": f"The body is not an AG-UI `RunAgentInput`: {e}"}, status_code=422)

        async def stream() -> AsyncIterator[str]:
            began = time.monotonic()
            async for event in agui_events(team, run_input):
                yield encoder.encode(event)
            log.debug(
                "AG-UI run on thread %s streamed in %.2fs", run_input.thread_id, time.monotonic() - began
            )

        return StreamingResponse(stream(), media_type=encoder.get_content_type())

    return endpoint
