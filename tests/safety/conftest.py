"""Builders shared by the safety tests: small teams, scripted plans, tools that count calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import Agent, Team, tool
from tests.scale.conftest import postgres_url  # noqa: F401  (the fixture: a PostgreSQL cluster)

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


# -- checkpoint savers ------------------------------------------------------------------------
# Every saver agentorch supports; PostgreSQL is a throwaway cluster on loopback (the fixture of
# tests/scale, which skips locally and fails under CI=true when the binaries are missing).

SAVERS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.slow)]


@asynccontextmanager
async def open_saver(kind: str, tmp: Path, url: str | None = None) -> AsyncIterator[Any]:
    """A fresh checkpoint saver of `kind` ("memory", "sqlite" in a new file under `tmp`, or
    "postgres" on `url`; callers keep threads apart by thread id there)."""
    if kind == "memory":
        yield InMemorySaver()
    elif kind == "sqlite":
        async with AsyncSqliteSaver.from_conn_string(str(tmp / f"{uuid.uuid4().hex}.sqlite")) as saver:
            yield saver
    elif kind == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        assert url, "the postgres saver needs the `postgres_url` fixture"
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
    else:
        raise ValueError(f"unknown saver {kind!r}")


@pytest.fixture(params=SAVERS)
def saver_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def saver_url(saver_kind: str, request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL URL for the postgres saver (starting the cluster once), else None."""
    return str(request.getfixturevalue("postgres_url")) if saver_kind == "postgres" else None
