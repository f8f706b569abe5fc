"""Builders for the small teams the core tests run."""

from __future__ import annotations

from typing import Any

import pytest

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


def team_of(llm: Any, **kwargs: Any) -> Team:
    """researcher (search), writer, admin (delete_records, approval-gated)."""
    agents = [
        Agent(name="researcher", role="Finds and checks facts", tools=[search]),
        Agent(name="writer", role="Writes clear reports"),
    ]
    agents.extend(kwargs.pop("extra_agents", []))
    return Team(agents=agents, llm=llm, **kwargs)
