"""`Agent` (a specialist's description) and `tool` (langchain-core's, plus approval and timeout)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.tools import tool as _lc_tool
from pydantic import BaseModel, RootModel

from agentorch._errors import ConfigError
from agentorch._keys import ON_IN_DOUBT, REQUIRES_APPROVAL, RESERVED_ROLES, TOOL_TIMEOUT
from agentorch._models import ModelSpec, chat_model_problem

__all__ = ["Agent", "tool", "requires_approval"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def tool(
    *args: Any,
    requires_approval: bool = False,
    timeout: float | None = None,
    on_in_doubt: str = "rerun",
    **kwargs: Any,
) -> Any:
    """langchain-core's `@tool`, plus two agentorch options.

    Args:
        requires_approval: pause the run with `interrupt()` before each call until a person
            approves, denies or edits the arguments (`team.resume(thread_id, approve=...)`).
        timeout: seconds a single call may take; a call that takes longer becomes an error
            observation for the agent.
        on_in_doubt: what a resumed run does with a call of this tool that started and has no
            recorded outcome (the process died while it ran): "rerun" (default: run it again
            with the same `tool_call_key()`), "ask" (pause for a person, showing the call may
            already have run) or "skip" (tell the agent the outcome is unknown).

    Example:
        >>> from agentorch import tool
        >>> @tool(requires_approval=True)
        ... def delete_records(table: str) -> str:
        ...     '''Delete every record of a table.'''
        ...     return f"deleted {table}"
        >>> delete_records.name
        'delete_records'
    """

    def mark(t: BaseTool) -> BaseTool:
        return mark_tool(t, requires_approval=requires_approval, timeout=timeout, on_in_doubt=on_in_doubt)

    if args and (callable(args[0]) or isinstance(args[0], BaseTool)) and not kwargs:
        return mark(_lc_tool(*args))
    decorator = _lc_tool(*args, **kwargs)
    if isinstance(decorator, BaseTool):
        return mark(decorator)
    return lambda fn: mark(decorator(fn))


def requires_approval(t: BaseTool, timeout: float | None = None) -> BaseTool:
    """Mark an existing LangChain tool as needing a person's approval before each call."""
    return mark_tool(t, requires_approval=True, timeout=timeout)


def mark_tool(
    t: BaseTool, *, requires_approval: bool, timeout: float | None, on_in_doubt: str = "rerun"
) -> BaseTool:
    """Set agentorch's approval, timeout and in-doubt marks on `t` (beside its other metadata)."""
    if on_in_doubt not in ("rerun", "ask", "skip"):
        raise ConfigError(
            f'Tool `{t.name}`: `on_in_doubt` must be "rerun", "ask" or "skip", got {on_in_doubt!r}.'
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ConfigError(f"Tool `{t.name}`: `timeout` must be > 0 seconds, got {timeout!r}.")
    meta = dict(t.metadata or {})
    if requires_approval:
        meta[REQUIRES_APPROVAL] = True
    if timeout is not None:
        meta[TOOL_TIMEOUT] = float(timeout)
    if on_in_doubt != "rerun":
        meta[ON_IN_DOUBT] = on_in_doubt
    t.metadata = meta
    return t


def tool_needs_approval(t: BaseTool) -> bool:
    """Whether calls to `t` must be approved by a person."""
    return bool((t.metadata or {}).get(REQUIRES_APPROVAL))


def tool_timeout(t: BaseTool, default: float | None) -> float | None:
    """Per-call timeout of `t`, falling back to the team's default."""
    return (t.metadata or {}).get(TOOL_TIMEOUT, default)


class Agent:
    """A specialist: a name the planner assigns work to, a role, instructions, tools, a model.

    Args:
        name: unique within the team; letters, digits, `_` and `-`, starting with a letter.
        role: one line the planner reads to decide what to assign (e.g. "Finds and checks facts").
        instructions: extra system-prompt text for this agent.
        tools: LangChain tools (use `agentorch.tool`); the agent can call only these.
        llm: this agent's own chat model, or a `cascade(cheap, strong)` it escalates through
            per attempt; default is the team's model for this agent's name.
        output: a pydantic model class: the agent's final answer is asked for as this schema
            (structured output, repaired like the planner's when invalid) and kept as a dict in
            `RunResult.results[id].data`; `output` holds its JSON text. None: a text answer.

    Example:
        >>> from pydantic import BaseModel
        >>> class Quote(BaseModel):
        ...     supplier: str
        ...     price: float
        >>> Agent(name="pricer", role="Finds the best price", output=Quote).output.__name__
        'Quote'
    """

    __slots__ = ("name", "role", "instructions", "tools", "llm", "output")

    def __init__(
        self,
        name: str,
        role: str,
        instructions: str | None = None,
        tools: Sequence[BaseTool | Callable[..., Any]] = (),
        llm: ModelSpec | None = None,
        output: type[BaseModel] | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(
                f"Invalid agent name {name!r}: use 1-64 letters, digits, `_` or `-`, starting "
                "with a letter (e.g. 'researcher')."
            )
        if name in RESERVED_ROLES:
            raise ConfigError(
                f"Agent name `{name}` is reserved for a team role "
                f"({', '.join(sorted(RESERVED_ROLES))}); pick another name."
            )
        if not isinstance(role, str) or not role.strip():
            raise ConfigError(f"Agent `{name}` needs a non-empty `role` describing what it does.")
        if isinstance(tools, (str, bytes, BaseTool)) or not isinstance(tools, Sequence):
            raise ConfigError(f"Agent `{name}`: `tools` must be a list of tools, got {type(tools).__name__}.")
        checked: list[BaseTool] = []
        for t in tools:
            if not isinstance(t, BaseTool):
                raise ConfigError(
                    f"Agent `{name}`: {t!r} is not a tool. Decorate functions with "
                    "`@agentorch.tool` (or pass LangChain `BaseTool` instances)."
                )
            checked.append(t)
        names = [t.name for t in checked]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"Agent `{name}` has two tools named {', '.join(dupes)}.")
        if llm is not None and (problem := chat_model_problem(llm)) is not None:
            raise ConfigError(f"Agent `{name}`: `llm`: {problem}.")
        if output is not None:
            _check_output(name, output)
        self.name = name
        self.role = role.strip()
        self.instructions = instructions
        self.tools: tuple[BaseTool, ...] = tuple(checked)
        self.llm = llm
        self.output: type[BaseModel] | None = output

    def __repr__(self) -> str:
        tools = ", ".join(t.name for t in self.tools)
        typed = f", output={self.output.__name__}" if self.output is not None else ""
        return f"Agent(name={self.name!r}, role={self.role!r}, tools=[{tools}]{typed})"


def _check_output(agent: str, output: object) -> None:
    """Raise `ConfigError` unless `output` is a pydantic model class a model can answer with:
    an object with fields, whose JSON schema can be generated."""
    hint = "e.g. `class Quote(BaseModel): price: float`, then `Agent(..., output=Quote)`"
    if isinstance(output, BaseModel):
        raise ConfigError(
            f"Agent `{agent}`: `output` must be a pydantic model class, got an instance of "
            f"`{type(output).__name__}`; pass the class itself (`output={type(output).__name__}`)."
        )
    if not (isinstance(output, type) and issubclass(output, BaseModel)):
        raise ConfigError(
            f"Agent `{agent}`: `output` must be a pydantic model class ({hint}), got {output!r}."
        )
    if issubclass(output, RootModel):
        raise ConfigError(
            f"Agent `{agent}`: `output={output.__name__}` is a RootModel; structured output needs an "
            f"object with named fields ({hint}; wrap a list in a field)."
        )
    try:
        output.model_json_schema()
    except Exception as e:  # pydantic raises several kinds for types without a JSON schema
        raise ConfigError(
            f"Agent `{agent}`: `output={output.__name__}` has no JSON schema to ask a model for "
            f"({type(e).__name__}: {e}); use JSON-compatible field types."
        ) from None
