"""Builders shared by the safety tests: small teams, scripted plans, tools that count calls."""

from __future__ import annotations

from typing import Any

import pytest

from agentorch import Agent, Team, tool

EXECUTED: list[tuple[str, dict[str, Any]]] = []
"""Every tool execution of the tools below, in order: (name, args)."""


@tool
def search(query: str) -> str:
    """Search the web."""
    EXECUTED.append(("search", {"query": query}))
    return f"results for {query}"


@tool(requires_approval=True)
def delete_records(table: str) -> str:
    """Delete every record of a table (needs a person's approval)."""
    EXECUTED.append(("delete_records", {"table": table}))
    return f"deleted {table}"


@tool
def count_rows(table: str, limit: int) -> str:
    """Count rows of a table, up to a limit."""
    EXECUTED.append(("count_rows", {"table": table, "limit": limit}))
    return f"{table}: {min(limit, 7)} rows"


@pytest.fixture(autouse=True)
def _reset_executed() -> None:
    EXECUTED.clear()


def team_of(llm: Any, **kwargs: Any) -> Team:
    """researcher (search), writer (no tools), admin (delete_records, gated; count_rows)."""
    agents = [
        Agent(name="researcher", role="Finds and checks facts", tools=[search]),
        Agent(name="writer", role="Writes clear reports"),
        Agent(name="admin", role="Maintains records", tools=[delete_records, count_rows]),
    ]
    return Team(agents=agents, llm=llm, **kwargs)
