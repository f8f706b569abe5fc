"""Typed events yielded by `Team.stream` / `Team.astream`.

They are derived from LangGraph's own stream modes ("updates" for node results, "custom" for a
sub-task's start, "messages" for the text models write as they write it, with
`tokens=True`), not from a second bookkeeping path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal, TypedDict

from langchain_core.messages import AIMessage

from agentorch._engine.approvals import pending_interrupts
from agentorch._keys import (
    CRITIC,
    NODE_CRITIC,
    NODE_PLAN,
    NODE_SPECIALIST,
    PLANNER,
    ROLE_KEY,
    ROUND_KEY,
    SUBTASK_KEY,
    SUMMARIZER,
    SYNTHESIZER,
)
from agentorch._types import PendingInterrupt, Plan, SubTaskResult, Verdict

__all__ = [
    "Event",
    "PlanCreated",
    "Replanned",
    "SubtaskStarted",
    "SubtaskFinished",
    "CriticVerdict",
    "Interrupted",
    "Final",
    "Token",
    "events_from_chunk",
    "describe_event",
    "data_line",
    "event_to_json",
]


class PlanCreated(TypedDict):
    """The planner produced the first plan of the run."""

    type: Literal["plan_created"]
    round: int
    plan: Plan


class Replanned(TypedDict):
    """The planner produced a new plan after the critic asked for one."""

    type: Literal["replanned"]
    round: int
    plan: Plan


class SubtaskStarted(TypedDict):
    """A specialist started working on a sub-task (`started_at` is a UNIX time)."""

    type: Literal["subtask_started"]
    subtask_id: str
    agent: str
    round: int
    attempt: int
    model: str
    """The model this attempt runs on (a cascade's member, as configured)."""
    started_at: float


class SubtaskFinished(TypedDict):
    """A specialist finished a sub-task; `result` has output, status, times, tokens, tool calls."""

    type: Literal["subtask_finished"]
    subtask_id: str
    agent: str
    round: int
    status: str
    duration: float
    tokens: int
    model: str
    """The model that answered (or failed) on this attempt."""
    result: SubTaskResult


class CriticVerdict(TypedDict):
    """The critic reviewed a round."""

    type: Literal["critic_verdict"]
    round: int
    verdict: Verdict


class Interrupted(TypedDict):
    """The run paused for a person: a plan to approve or a gated tool call."""

    type: Literal["interrupted"]
    interrupts: list[PendingInterrupt]


class Final(TypedDict):
    """The run ended with an answer and a status."""

    type: Literal["final"]
    status: str
    answer: str


class Token(TypedDict):
    """A piece of text a model just wrote: a specialist working on a sub-task, or the
    synthesizer writing the answer (only with `team.stream(..., tokens=True)`).

    The deltas of one call (`message_id`) join to its text: the last call of a sub-task to its
    output, the synthesizer's to the answer. A call that fails midway and is made again (a
    retry, the next model of a cascade) streams again under a new `message_id`. The planner's
    and critic's structured outputs and the summarizer's text are not streamed."""

    type: Literal["token"]
    role: str
    """Who is writing: the agent's name, or "synthesizer"."""
    agent: str | None
    """The agent writing a sub-task; None for the synthesizer."""
    subtask_id: str | None
    """The sub-task being written; None for the synthesizer."""
    round: int
    message_id: str
    """The model call the text belongs to (one per call, shared by all its deltas)."""
    text: str
    """The new text (a delta: append it to the text so far)."""


Event = (
    PlanCreated | Replanned | SubtaskStarted | SubtaskFinished | CriticVerdict | Interrupted | Final | Token
)


def finished_event(r: SubTaskResult) -> SubtaskFinished:
    """The `subtask_finished` event of one attempt's result."""
    return SubtaskFinished(
        type="subtask_finished",
        subtask_id=r.subtask_id,
        agent=r.agent,
        round=r.round,
        status=r.status,
        duration=r.duration,
        tokens=r.usage.total_tokens,
        model=r.model,
        result=r,
    )


def events_from_chunk(mode: str, chunk: Any) -> Iterator[Event]:
    """Translate one `(mode, chunk)` of `astream(stream_mode=["updates", "custom"])`, plus
    "messages" for tokens."""
    if mode == "messages":
        yield from _tokens(*chunk)
        return
    if mode == "custom":
        if isinstance(chunk, dict) and chunk.get("type") == "subtask_started":
            yield SubtaskStarted(**chunk)  # type: ignore[typeddict-item]
        return
    if chunk.get("__metadata__", {}).get("cached"):
        return  # writes a resumed step replays: reported when they were made
    for node, update in chunk.items():
        if node == "__interrupt__":
            yield Interrupted(type="interrupted", interrupts=pending_interrupts(update))
            continue
        if not isinstance(update, dict):
            continue
        if node == NODE_PLAN and update.get("plan"):
            plan = Plan.model_validate(update["plan"])
            rnd = int(update.get("round", 1))
            if rnd == 1:
                yield PlanCreated(type="plan_created", round=rnd, plan=plan)
            else:
                yield Replanned(type="replanned", round=rnd, plan=plan)
        elif node == NODE_SPECIALIST:
            # every attempt the node made: several when a cascade moved on after a failure
            for raw in update.get("history") or update.get("results", {}).values():
                yield finished_event(SubTaskResult.model_validate(raw))
        elif node == NODE_CRITIC and update.get("verdicts"):
            v = update["verdicts"][-1]
            yield CriticVerdict(
                type="critic_verdict",
                round=int(update.get("reviewed_round", 0)),
                verdict=Verdict.model_validate(v),
            )
        if "status" in update:
            yield Final(type="final", status=update["status"], answer=update.get("answer", ""))


def _tokens(message: Any, metadata: dict[str, Any]) -> Iterator[Token]:
    """A `Token` for a piece of a specialist's or the synthesizer's answer in LangGraph's
    "messages" stream.

    Every agentorch model call carries its role in its metadata (`RunContext`). The planner's
    and critic's structured outputs (their JSON, with ChatOpenAI) and the summarizer's notes
    are not answers anyone reads as they are written: left out, by role, however LangGraph
    found them (it also re-sends answers it finds in a node's or task's output: a streamed
    answer it drops as already sent; a `model_call` task's output carries no role). A model that
    does not stream sends its whole answer once, at the end of its call: one delta. Tool-call
    chunks carry no text and give no event.
    """
    role = metadata.get(ROLE_KEY)
    if not role or role in _NOT_STREAMED or not isinstance(message, AIMessage) or not (text := message.text):
        return
    yield Token(
        type="token",
        role=role,
        agent=None if role == SYNTHESIZER else role,
        subtask_id=metadata.get(SUBTASK_KEY),
        round=int(metadata.get(ROUND_KEY) or 0),
        message_id=str(message.id or ""),
        text=text,
    )


_NOT_STREAMED = frozenset({PLANNER, CRITIC, SUMMARIZER})


def data_line(data: Mapping[str, Any], limit: int = 200) -> str:
    """A typed answer on one line: compact JSON, cut at `limit` characters."""
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_event(ev: Event) -> str:
    """One human-readable line for an event (the `--plain` view and DEBUG logs)."""
    if ev["type"] == "plan_created" or ev["type"] == "replanned":
        tasks = "; ".join(
            f"{st.id}[{st.agent}]" + (f"<-{','.join(st.depends_on)}" if st.depends_on else "")
            for st in ev["plan"].subtasks
        )
        return f"{ev['type']} round={ev['round']}: {tasks}"
    if ev["type"] == "subtask_started":
        return (
            f"started {ev['subtask_id']} [{ev['agent']}] round={ev['round']} "
            f"attempt={ev['attempt']} model={ev.get('model', '')}"
        )
    if ev["type"] == "subtask_finished":
        data = ev["result"].data
        return (
            f"finished {ev['subtask_id']} [{ev['agent']}] {ev['status']} "
            f"{ev['duration']:.2f}s {ev['tokens']} tokens model={ev.get('model', '')}"
            + (f" data={data_line(data)}" if data is not None else "")
        )
    if ev["type"] == "critic_verdict":
        v = ev["verdict"]
        return f"critic round={ev['round']}: {v.decision} {v.revise or ''} {v.feedback}".rstrip()
    if ev["type"] == "interrupted":
        return "interrupted: " + ", ".join(f"{i.kind} {i.id}" for i in ev["interrupts"])
    if ev["type"] == "token":
        who = "synthesizer" if ev["subtask_id"] is None else f"{ev['subtask_id']} [{ev['agent']}]"
        return f"token {who}: {ev['text']!r}"
    return f"final status={ev['status']}\n{ev['answer']}"


def event_to_json(ev: Event) -> dict[str, Any]:
    """A JSON-ready copy of an event (pydantic values dumped)."""
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if hasattr(v, "model_dump"):
            out[k] = v.model_dump(mode="json")
        elif isinstance(v, list):
            out[k] = [x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in v]
        else:
            out[k] = v
    return out
