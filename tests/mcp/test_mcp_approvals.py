"""Approvals over MCP: a served run that pauses answers `interrupted` with what waits, and the
server's approval tool answers by thread id — driven by the `mcp` client over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agentorch import Agent, Team, mcp_server
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_a_paused_run_is_answered_through_the_approval_tool(tmp_path: Path) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    published = tmp_path / "published.txt"
    env = {
        **os.environ,
        "AGENTORCH_MODEL": "scripted",
        "PUBLISHED_FILE": str(published),
        "PYTHONPATH": str(ROOT),
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentorch", "mcp-serve", "--team", "tests/mcp/_approval_team.py"],
        env=env,
        cwd=ROOT,
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"newsroom", "newsroom_approve"}
        assert "newsroom_approve" in (tools["newsroom"].description or "")
        assert set(tools["newsroom_approve"].inputSchema["properties"]) == {
            "thread_id",
            "decisions",
            "approve_all",
            "by",
        }

        paused = (await session.call_tool("newsroom", {"goal": "Publish a brief"})).structuredContent
        assert paused["status"] == "interrupted" and not published.exists()
        (waiting,) = paused["interrupts"]
        assert waiting["kind"] == "tool" and waiting["payload"]["tool"] == "publish"
        assert waiting["payload"]["args"] == {"text": "first brief"}

        # an answer the run cannot take is a tool error, and the run keeps waiting
        bad = await session.call_tool(
            "newsroom_approve", {"thread_id": paused["thread_id"], "decisions": {"nope": True}}
        )
        assert bad.isError and "`nope`" in bad.content[0].text

        done = await session.call_tool(
            "newsroom_approve",
            {"thread_id": paused["thread_id"], "decisions": {waiting["id"]: True}, "by": "alice"},
        )
        summary = done.structuredContent
        assert summary["status"] == "completed" and summary["answer"] == "Published the first brief."
        assert summary["interrupts"] == [] and published.read_text() == "first brief\n"

        # a second run, denied
        second = (await session.call_tool("newsroom", {"goal": "Publish another"})).structuredContent
        denied = await session.call_tool(
            "newsroom_approve", {"thread_id": second["thread_id"], "approve_all": False}
        )
        assert denied.structuredContent["status"] == "completed" and published.read_text() == "first brief\n"


async def test_a_team_without_approval_gates_serves_one_tool() -> None:
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts")],
        llm=ScriptedChatModel(
            {
                "planner": [plan(st("f", "researcher"))],
                "researcher": ["x"],
                "critic": [ACCEPT],
                "synthesizer": ["y"],
            }
        ),
    )
    assert [t.name for t in await mcp_server(team).list_tools()] == ["team"]
    team.approve_plan = True
    assert [t.name for t in await mcp_server(team).list_tools()] == ["team", "team_approve"]
