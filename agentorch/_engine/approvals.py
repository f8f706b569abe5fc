"""Approvals: the one place for what a person decides.

- **The pause.** A gated tool call (or a call whose earlier execution is in doubt after a crash)
  asks a person through `ask`, a LangGraph task of its own (`approval`) that calls `interrupt()`
  with the payload `tool_payload` builds. The task returns the decision tagged with the call it
  is about, so the decision is saved in the checkpoint as that task's result, once, with every
  checkpoint saver, and a sub-task that runs again replays it instead of asking again.
- **The answer.** `answer_for` turns what `Team.resume` was given into the value the paused
  call receives: True, False, or `{"approved": bool, "args": {...}, "by": name}` (the one set of
  answer keys, `ANSWER_KEYS`); edited arguments are checked against the tool's schema here, so a
  bad edit is refused before the run continues. `read_answer` reads it back inside the run.
- **Still waiting?** `waiting_interrupts`: a tool approval waits until a decision for its call
  is recorded (`ask`'s result in the checkpoint's pending writes); a plan approval waits while
  LangGraph lists it.
- **What a paused sub-task spent**: `spent_while_paused`, counted toward budgets before a
  resumed run calls a model again.
- The CLI (`agentorch.cli.store`, `agentorch.cli.approvals`) reads these same functions.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.func import task
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agentorch._errors import ConfigError
from agentorch._keys import CALL_KEY
from agentorch._types import PendingInterrupt, TokenUsage

log = logging.getLogger("agentorch")

__all__ = [
    "ANSWER_KEYS",
    "DECISION_KEY",
    "Decision",
    "answer_for",
    "args_problem",
    "ask",
    "pending_interrupts",
    "spent_while_paused",
    "tool_payload",
    "waiting_interrupts",
]

ANSWER_KEYS = frozenset({"approved", "args", "by"})
"""The keys a tool approval's answer may have (besides the call it is tagged with)."""

DECISION_KEY = "agentorch_decision"
"""Key of an `approval` task's result naming the call it decided: how "still waiting?" finds it."""

Decision = dict[str, Any]
"""A recorded decision: `{DECISION_KEY: call, "approved": bool, "args": {...}, "by": str}`."""


def tool_payload(
    *,
    agent: str,
    subtask_id: str,
    tool: str,
    args: dict[str, Any],
    call: str,
    key: str,
    spent: TokenUsage,
) -> dict[str, Any]:
    """What a person is shown for a tool call: who asks, the tool and its arguments, the call's
    id (`call`) and effect key (`key`), and what the sub-task has spent so far. A call in doubt
    after a crash adds `in_doubt: True` and its `executions` (`agentorch._engine.effects`)."""
    return {
        "kind": "tool",
        "agent": agent,
        "subtask_id": subtask_id,
        "tool": tool,
        "args": args,
        CALL_KEY: call,
        "key": key,
        # a person may want to know; a resume counts it toward the budget before any branch
        # calls a model again (`spent_while_paused`)
        "spent": {"calls": spent.calls, "total_tokens": spent.total_tokens, "cost": spent.cost},
    }


async def _ask_body(payload: dict[str, Any]) -> Decision:
    """The body of an `approval` task: the person's answer, as a decision tagged with the call
    it was given for (which may differ from `payload`'s: see `ask`)."""
    answer = interrupt(payload)
    meant = answer.get(CALL_KEY) if isinstance(answer, dict) else None
    approved, args, by = read_answer(answer, payload["args"])
    return {DECISION_KEY: payload[CALL_KEY], "meant": meant, "approved": approved, "args": args, "by": by}


_ask_task: Any = task(name="approval")(_ask_body)  # type: ignore[arg-type]  # ParamSpec lost


async def ask(payload: dict[str, Any]) -> Decision:
    """Ask a person about the call in `payload` and return the recorded decision.

    `Team.resume` tags each answer with the call it was shown for. An answer tagged with another
    call (LangGraph hands a task's answer to whichever interrupt the task raises, and after a
    crash a model call may be made again and ask for a different call at the same place) is
    never applied here: the person is asked again, in a new task, about this call."""
    while True:
        decision: Decision = await _ask_task(payload)
        if decision["meant"] in (None, payload[CALL_KEY]):
            return decision
        log.warning(
            "an approval answer for call %s reached call %s; asking again",
            decision["meant"],
            payload[CALL_KEY],
        )


def read_answer(answer: Any, args: dict[str, Any]) -> tuple[bool, dict[str, Any], str]:
    """An answer as (approved, the arguments to run, who approved): True/False or a mapping of
    `ANSWER_KEYS`; `answer_for` has already refused anything else."""
    if isinstance(answer, bool):
        return answer, args, "human" if answer else ""
    if isinstance(answer, dict):
        approved = bool(answer.get("approved", True))
        by = str(answer.get("by") or "human")
        return approved, dict(answer.get("args", args)), by if approved else ""
    return False, args, ""


def answer_for(
    pending: PendingInterrupt,
    answer: Any,
    *,
    tool: BaseTool | None,
    by: str | None = None,
) -> dict[str, Any]:
    """The value `Command(resume=...)` carries for a tool approval: `answer` checked and tagged
    with the call it was shown for.

    Accepts True, False or a mapping with the keys `approved` (a bool), `args` (a mapping) and
    `by`. Anything ambiguous is refused, never taken as a yes: a typo (`arg`), a string
    `"approved": "no"`, or `{}`. Edited `args` must fit `tool`'s schema. `by` names the person
    when the answer does not."""
    if isinstance(answer, bool):
        answer = {"approved": answer}
    if not (
        isinstance(answer, Mapping)
        and answer
        and set(answer) <= ANSWER_KEYS
        and isinstance(answer.get("approved", True), bool)
        and isinstance(answer.get("args", {}), Mapping)
    ):
        raise ConfigError(
            f"Answer a tool approval with True, False or {{'args': {{...}}, 'by': 'name'}} "
            f"(keys: approved (a bool), args, by), got {answer!r}."
        )
    out = dict(answer)
    if by is not None and "by" not in out:
        out["by"] = by
    if "args" in out and out.get("approved", True):
        out["args"] = dict(out["args"])
        problem = args_problem(tool, out["args"]) if tool is not None else None
        if problem is not None:
            name = pending.payload.get("tool")
            raise ConfigError(
                f"The edited arguments do not fit `{name}`: {problem}. Nothing was run; answer "
                f"approval `{pending.id}` again with valid arguments."
            )
    out[CALL_KEY] = pending.payload.get(CALL_KEY)
    return out


def args_problem(tool: BaseTool, args: dict[str, Any]) -> str | None:
    """What is wrong with `args` for `tool`, checked by the tool's own pydantic `args_schema`
    (validators, aliases and config included) on a copy; None when they fit, when the tool has
    no pydantic schema, or when checking fails for another reason (the tool then decides).
    Arguments the model was never shown (injected ones) may be missing."""
    schema = tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    shown = tool.tool_call_schema
    shown_fields = (
        set(shown.model_fields) if isinstance(shown, type) and issubclass(shown, BaseModel) else set()
    )
    try:
        schema.model_validate(copy.deepcopy(args))
    except ValidationError as e:
        problems = [
            f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}"
            for err in e.errors(include_url=False)
            if not (err["type"] == "missing" and err["loc"] and err["loc"][0] not in shown_fields)
        ]
        return "; ".join(problems) or None
    except Exception:  # a validator that breaks on a copy: let the tool itself judge
        return None
    return None


def pending_interrupts(interrupts: Any) -> list[PendingInterrupt]:
    """LangGraph `Interrupt` objects as `PendingInterrupt` values."""
    return [
        PendingInterrupt(id=i.id, kind=i.value.get("kind", "plan"), payload=dict(i.value))
        for i in interrupts
        if isinstance(getattr(i, "value", None), dict)
    ]


def decided_calls(pending_writes: Iterable[Any]) -> set[str]:
    """The calls with a recorded decision among a checkpoint's pending writes (`ask`'s results,
    each a task's own write: every saver keeps them)."""
    return {
        value[DECISION_KEY]
        for _task, _channel, value in pending_writes
        if isinstance(value, dict)
        and DECISION_KEY in value
        and value.get("meant") in (None, value[DECISION_KEY])
    }


def waiting_interrupts(interrupts: Iterable[Any], pending_writes: Iterable[Any]) -> list[PendingInterrupt]:
    """Which of the `interrupts` LangGraph lists for a checkpoint still wait for a person.

    LangGraph lists an interrupt until the node that raised it ends, so a sub-task that was
    answered, ran on (or finished) while a sibling failed still shows it; answering it again
    could reach the sub-task's next call. A tool approval stops waiting when a decision for its
    call is recorded (`decided_calls` over the checkpoint's `pending_writes`)."""
    decided = decided_calls(pending_writes)
    return [
        i
        for i in pending_interrupts(interrupts)
        if i.kind != "tool" or i.payload.get(CALL_KEY) not in decided
    ]


def spent_while_paused(pending: Iterable[PendingInterrupt]) -> dict[str, TokenUsage]:
    """What each sub-task paused for approval had spent when it paused, by sub-task (from its
    payloads; one count per sub-task, whatever the number of its pauses)."""
    out: dict[str, TokenUsage] = {}
    for p in pending:
        spent = p.payload.get("spent") or {}
        if p.kind == "tool" and p.payload["subtask_id"] not in out:
            out[p.payload["subtask_id"]] = TokenUsage(
                calls=int(spent.get("calls", 0)),
                total_tokens=int(spent.get("total_tokens", 0)),
                cost=float(spent.get("cost", 0.0)),
            )
    return out


def tool_lookup(agents: Mapping[str, Iterable[BaseTool]]) -> Callable[[PendingInterrupt], BaseTool | None]:
    """A function giving the tool a pending approval is about, from each agent's tools."""

    def find(p: PendingInterrupt) -> BaseTool | None:
        for t in agents.get(str(p.payload.get("agent")), ()):
            if t.name == p.payload.get("tool"):
                return t
        return None

    return find
