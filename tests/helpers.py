"""Builders every test folder shares: scripted plans, sub-tasks, tool-call messages, verdicts."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

ACCEPT = {"decision": "accept", "feedback": "good"}
"""The critic's verdict that accepts a round."""


def st(id: str, agent: str, *deps: str, description: str | None = None) -> dict[str, Any]:
    """A sub-task dict for scripted plans."""
    return {"id": id, "description": description or f"do {id}", "agent": agent, "depends_on": list(deps)}


def plan(*subtasks: dict[str, Any]) -> dict[str, Any]:
    """A scripted planner answer."""
    return {"subtasks": list(subtasks), "rationale": "test"}


def call(name: str, _id: str | None = None, **args: Any) -> AIMessage:
    """A scripted model message asking for one tool call."""
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": _id or f"c-{name}-{len(args)}"}])
