"""Tool calls with their effects recorded: every call's outcome once, never run again.

Every tool call an agent asks for ends in one `ToolCallRecord`. A call that is executed leaves
two kinds of LangGraph task results in the checkpoint: a **start** (`tool_start`, written just
before the tool's function starts) and an **outcome** (`tool_call`: the result, the error, or
the timeout — the tool's own failures are outcomes, never raised, so the task always saves one).
When the sub-task runs again (after an approval, a failure or a crash), both are replayed: a
call whose outcome is recorded is never started again.

**In doubt.** A start with no outcome means the process died (or the call was cancelled) while
the tool ran: its effect may or may not have happened. The outcome task then records "lost"
for that execution, and the tool's `on_in_doubt` policy decides: `"rerun"` (the default) starts
it again with the same key, recorded as a further execution; `"ask"` pauses for a person with
`in_doubt` in the payload (approve runs it again, deny tells the agent); `"skip"` tells the
agent the outcome is unknown.

**The key.** `tool_call_key()`, called inside a tool, returns the call's stable key
`thread/sub-task/round/attempt/index-digest`: the same for every execution of one call, so a
tool with outside effects can pass it as an idempotency key and make a repeat harmless.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables.config import ensure_config
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.func import task

from agentorch._engine import approvals
from agentorch._keys import ON_IN_DOUBT, TOOL_CALL_KEY

__all__ = [
    "InDoubtPolicy",
    "Execution",
    "call_id",
    "effect_key",
    "execute",
    "in_doubt_policy",
    "tool_call_key",
]

InDoubtPolicy = Literal["rerun", "ask", "skip"]
"""What happens to a call that started and has no recorded outcome after a crash."""

IN_DOUBT_POLICIES: tuple[InDoubtPolicy, ...] = ("rerun", "ask", "skip")

_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("agentorch_tool_call_key", default=None)


def tool_call_key() -> str | None:
    """The stable key of the tool call being executed, or None outside a tool call.

    The same for every execution of one call (a re-run after a crash included) and different
    for every other call, so a tool with outside effects can hand it to an API as an
    idempotency key:

        >>> from agentorch import tool, tool_call_key
        >>> @tool
        ... def pay(invoice: str, amount: float) -> str:
        ...     '''Pay an invoice.'''
        ...     key = tool_call_key()  # e.g. "t1/pay-rent/1/1/0-3f2a9c1e"
        ...     return f"paid {invoice} (idempotency key {key})"
    """
    return _KEY.get()


def in_doubt_policy(t: BaseTool) -> InDoubtPolicy:
    """The tool's `on_in_doubt` policy (see `agentorch.tool`), "rerun" by default."""
    policy = (t.metadata or {}).get(ON_IN_DOUBT, "rerun")
    return policy if policy in IN_DOUBT_POLICIES else "rerun"


def call_id(subtask_id: str, attempt: int, index: int, name: str, args: dict[str, Any]) -> str:
    """Names one call of a sub-task's attempt: its place, and a digest of the tool and
    arguments (a different call at the same place after a crash gets another id)."""
    digest = hashlib.sha256((name + json.dumps(args, sort_keys=True, default=str)).encode()).hexdigest()[:16]
    return f"{subtask_id}/{attempt}/{index}/{digest}"


def effect_key(thread_id: str, round: int, call: str) -> str:
    """The effect key of `call` (see `call_id`) in round `round` of a thread's run."""
    subtask, attempt, index, digest = call.rsplit("/", 3)
    return f"{thread_id}/{subtask}/{round}/{attempt}/{index}-{digest[:8]}"


@dataclass
class _Here:
    """Set by a `tool_start` task whose body ran in this process (a replayed one does not run)."""

    started: bool = False


async def _start_body(key: str, execution: int, here: _Here) -> dict[str, Any]:
    here.started = True
    return {"key": key, "execution": execution, "started_at": time.time()}


async def _outcome_body(
    tool: BaseTool, args: dict[str, Any], key: str, timeout: float | None, here: _Here
) -> dict[str, Any]:
    if not here.started:  # started by an earlier process, which died before the outcome
        return {"outcome": "lost"}
    token = _KEY.set(key)
    config = ensure_config()  # the task's own, plus the key: traces show it
    config["metadata"] = {**config.get("metadata", {}), TOOL_CALL_KEY: key}
    try:
        out = await asyncio.wait_for(tool.ainvoke(args, config), timeout)
        text = out if isinstance(out, str) else json.dumps(out, default=str)
        return {"outcome": "ok", "output": text, "finished_at": time.time()}
    except GraphBubbleUp:
        raise
    except TimeoutError:
        return {
            "outcome": "timeout",
            "error": f"Tool `{tool.name}` timed out after {timeout} s.",
            "finished_at": time.time(),
        }
    except Exception as e:  # a tool's failure is an observation for the model, not a crash
        return {
            "outcome": "error",
            "error": f"Tool `{tool.name}` raised {type(e).__name__}: {e}",
            "finished_at": time.time(),
        }
    finally:
        _KEY.reset(token)


# tools are never retried: a tool may have side effects, and its failure is an observation
_start_task: Any = task(name="tool_start")(_start_body)  # type: ignore[arg-type]  # ParamSpec lost
_outcome_task: Any = task(name="tool_call")(_outcome_body)  # type: ignore[arg-type]


@dataclass
class Execution:
    """What executing one call came to."""

    outcome: Literal["ok", "error", "timeout", "denied", "unknown"]
    output: str = ""
    error: str = ""
    executions: int = 0
    in_doubt: bool = False
    started_at: float | None = None
    finished_at: float | None = None
    approved_by: str = ""


async def execute(
    tool: BaseTool,
    args: dict[str, Any],
    *,
    key: str,
    timeout: float | None,
    payload: dict[str, Any],
) -> Execution:
    """Run `tool` on `args` once, recorded (see the module's docstring); `payload` is what a
    person is shown when the call is in doubt and its policy is "ask"."""
    executions, in_doubt, first_start, approved_by = 0, False, None, ""
    while True:
        here = _Here()
        start = await _start_task(key, executions, here)
        first_start = first_start or start["started_at"]
        executions += 1
        out = await _outcome_task(tool, args, key, timeout, here)
        if out["outcome"] != "lost":
            return Execution(
                outcome=out["outcome"],
                output=out.get("output", ""),
                error=out.get("error", ""),
                executions=executions,
                in_doubt=in_doubt,
                started_at=first_start,
                finished_at=out.get("finished_at"),
                approved_by=approved_by,
            )
        in_doubt = True
        policy = in_doubt_policy(tool)
        unknown = Execution(outcome="unknown", executions=executions, in_doubt=True, started_at=first_start)
        if policy == "skip":
            unknown.error = (
                f"The call to `{tool.name}` may or may not have run (the process stopped while it "
                "ran); its outcome is unknown. It was not run again."
            )
            return unknown
        if policy == "ask":
            decision = await approvals.ask({**payload, "in_doubt": True, "executions": executions})
            if not decision["approved"]:
                unknown.error = (
                    f"The call to `{tool.name}` may or may not have run (the process stopped while "
                    "it ran); a person decided not to run it again. Its outcome is unknown."
                )
                return unknown
            args, approved_by = decision["args"], decision["by"]
