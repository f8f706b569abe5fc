"""Builders for the small teams the core tests run."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agentorch import Agent, Team, tool

CALLS: dict[str, list[dict[str, Any]]] = {}


@tool
def search(query: str) -> str:
    """Search the web."""
    CALLS.setdefault("search", []).append({"query": query})
    return f"results for {query}"


@tool
def delete_records(table: str) -> str:
    """Delete every record of a table."""
    CALLS.setdefault("delete_records", []).append({"table": table})
    return f"deleted {table}"


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def st(id: str, agent: str, *deps: str, description: str | None = None) -> dict[str, Any]:
    """A sub-task dict for scripted plans."""
    return {"id": id, "description": description or f"do {id}", "agent": agent,
            "depends_on": list(deps)}


def plan(*subtasks: dict[str, Any]) -> dict[str, Any]:
    return {"subtasks": list(subtasks), "rationale": "test"}


def call(name: str, **args: Any) -> AIMessage:
    """A scripted model message asking for one tool call."""
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"c-{name}-{len(args)}"}])


def team_of(llm: Any, **kwargs: Any) -> Team:
    """researcher (search), writer, admin (delete_records, approval-gated)."""
    agents = [
        Agent(name="researcher", role="Finds and checks facts", tools=[search]),
        Agent(name="writer", role="Writes clear reports"),
    ]
    agents.extend(kwargs.pop("extra_agents", []))
    return Team(agents=agents, llm=llm, **kwargs)


ACCEPT = {"decision": "accept", "feedback": "good"}
