"""`Team(checkpointer="runs.sqlite")`: the team opens the file and closes it, and the same
file serves sync and async code — a run paused for approval in one resumes in the other, and
the command lists it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import Agent, ConfigError, Team, tool
from agentorch.cli import main
from agentorch.llms import ScriptedChatModel

RAN: list[str] = []


@tool(requires_approval=True)
def send_invoice(customer: str) -> str:
    """Send the invoice to a customer (needs approval)."""
    RAN.append(customer)
    return f"sent to {customer}"


def _team(db: Path) -> Team:
    def clerk(messages: list) -> AIMessage | str:
        if not any(m.type == "tool" for m in messages):
            return AIMessage(
                "", tool_calls=[{"name": "send_invoice", "args": {"customer": "acme"}, "id": "c1"}]
            )
        return "Invoice sent to acme."

    llm = ScriptedChatModel(
        {
            "planner": lambda m: {"subtasks": [{"id": "bill", "description": "Bill acme", "agent": "clerk"}]},
            "clerk": clerk,
            "critic": lambda m: {"decision": "accept"},
            "synthesizer": lambda m: "Billed acme.",
        }
    )
    return Team(
        agents=[Agent(name="clerk", role="Bills", tools=[send_invoice])], llm=llm, checkpointer=str(db)
    )


def test_a_run_paused_in_sync_code_resumes_from_async_code_on_the_same_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    RAN.clear()
    db = tmp_path / "runs.sqlite"
    with _team(db) as team:
        paused = team.run("Bill acme", thread_id="inv-1")
        assert paused.status == "interrupted" and not RAN

    async def later() -> str:
        async with _team(db) as team:  # another team, another event loop: the same file
            return (await team.aresume("inv-1", approve=True, by="ana")).status

    assert asyncio.run(later()) == "completed"
    assert RAN == ["acme"]
    with _team(db) as team:
        result = team.result("inv-1")
    assert result.answer == "Billed acme." and result.results["bill"].tool_calls[0].approved_by == "ana"

    assert main(["runs", "--checkpoints", str(db), "--json"]) == 0
    (row,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert (row["thread_id"], row["status"]) == ("inv-1", "completed")


def test_the_team_closes_what_it_opened(tmp_path: Path) -> None:
    team = _team(tmp_path / "runs.sqlite")
    conn = team.checkpointer.conn  # type: ignore[attr-defined]
    team.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("select 1")


def test_checkpointer_strings_and_context_managers_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        _team(tmp_path)
    with pytest.raises(ConfigError, match="the folder `.*nowhere` does not exist"):
        _team(tmp_path / "nowhere" / "runs.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database " * 100)
    with pytest.raises(ConfigError, match="not a usable SQLite checkpoint file"):
        _team(tmp_path / "junk.sqlite")
    with pytest.raises(ConfigError, match="pass the file name or URL itself"):
        Team(
            agents=[Agent(name="a", role="r")],
            llm=ScriptedChatModel({}),
            checkpointer=AsyncSqliteSaver.from_conn_string(str(tmp_path / "x.sqlite")),  # type: ignore[arg-type]
        )
