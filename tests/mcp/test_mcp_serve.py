"""`agentorch mcp-serve`: a team served as one MCP tool, called with the `mcp` client over stdio
and streamable HTTP; the team runs on the offline demo model (AGENTORCH_MODEL=scripted)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import RetryPolicy

from agentorch import Agent, Team, mcp_server
from agentorch.cli import main
from agentorch.llms import ScriptedChatModel
from tests.helpers import plan, st

from .conftest import free_port, serve_http, stop

ROOT = Path(__file__).resolve().parents[2]
SERVE = ["-m", "agentorch", "mcp-serve", "--team", "graphs/research.py"]
GOAL = "Write a one-page brief on solid-state batteries"


def _env() -> dict[str, str]:
    return {**os.environ, "AGENTORCH_MODEL": "scripted"}


async def _call_team(session: Any) -> None:
    """List the one tool, give it a goal, and check the answer and run summary."""
    await session.initialize()
    [tool] = (await session.list_tools()).tools
    assert tool.name == "research" and "researcher: Finds and checks facts" in (tool.description or "")
    assert tool.inputSchema["required"] == ["goal"]
    out = await session.call_tool("research", {"goal": GOAL})
    assert not out.isError
    summary = out.structuredContent
    assert summary["status"] == "completed" and summary["rounds"] == 2 and summary["error"] == ""
    assert "Risks:" in summary["answer"]
    assert summary["usage"]["calls"] > 5 and summary["usage"]["total_tokens"] > 0
    assert summary["subtasks"] == {"tech": "done", "market": "done", "analysis": "done", "brief": "done"}
    assert '"status": "completed"' in out.content[0].text  # the same summary as text, for any client


@pytest.mark.slow
async def test_a_team_served_over_stdio_answers_a_goal() -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=SERVE, env=_env(), cwd=ROOT)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await _call_team(session)


@pytest.mark.slow
async def test_a_team_served_over_http_answers_a_goal(tmp_path: Path) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    proc = serve_http(
        [*SERVE, "--http", "--port", str(port)], tmp_path / "serve.log", port, env=_env(), cwd=ROOT
    )
    try:
        async with (
            streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await _call_team(session)
    finally:
        stop(proc)
    log = (tmp_path / "serve.log").read_text()
    assert "serving team `research` over MCP (http://127.0.0.1:" in log
    assert "ERROR" not in log and "ClosedResourceError" not in log  # the client hung up: no error


def test_mcp_serve_without_a_model_exits_2_and_says_what_to_set(capsys, monkeypatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTORCH_MODEL"):
        monkeypatch.delenv(var, raising=False)
    assert main(["mcp-serve"]) == 2
    captured = capsys.readouterr()
    assert "takes its model from the environment, and none is configured" in captured.err
    assert "OPENAI_API_KEY" in captured.err and captured.out == ""


def test_mcp_serve_with_a_bad_team_is_a_usage_error(capsys, monkeypatch) -> None:
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    assert main(["mcp-serve", "--team", "no/such/file.py"]) == 2
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and captured.out == ""


async def test_a_failed_run_answers_its_partial_summary_with_the_error() -> None:
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts")],
        llm=ScriptedChatModel(
            {"planner": [plan(st("facts", "researcher"))], "researcher": [RuntimeError("model down")]}
        ),
        retry=RetryPolicy(max_attempts=1),
        name="facts",
    )
    server = mcp_server(team, tool_name="ask_facts")
    [tool] = await server.list_tools()
    assert tool.name == "ask_facts"
    _, summary = await server.call_tool("ask_facts", {"goal": "Find the facts"})
    assert summary["status"] == "failed" and summary["answer"] == ""
    assert "Sub-task `facts` (agent `researcher`) failed: RuntimeError: model down" in summary["error"]
    assert summary["usage"]["calls"] == 1 and summary["subtasks"] == {}  # the planner's call
