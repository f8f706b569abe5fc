"""Agents calling the tools of a real MCP server (stdio and streamable HTTP) through `mcp_tools`:
the result reaches the answer; least privilege, approval, timeouts and the call record apply as
to local tools; a server that dies mid-call is an observation for the agent, not a crash."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agentorch import Agent, ConfigError, Team, mcp_tools, mcp_tools_sync
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

from .conftest import SERVER, Facts

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def calls_then_reports(tool: str, **args: Any) -> Callable[[Sequence[BaseMessage]], AIMessage | str]:
    """An agent's script: call `tool` once, then answer with what the call returned."""

    def respond(messages: Sequence[BaseMessage]) -> AIMessage | str:
        if isinstance(messages[-1], ToolMessage):
            return f"Observed: {messages[-1].text}"
        return AIMessage("", tool_calls=[{"name": tool, "args": args, "id": f"call-{tool}"}])

    return respond


def echo_inputs(messages: Sequence[BaseMessage]) -> str:
    """The synthesizer: answers with the results it was given."""
    return "Brief: " + messages[-1].text


def one_task(agent: str, script: Callable[..., Any]) -> ScriptedChatModel:
    return ScriptedChatModel(
        {"planner": [plan(st("t", agent))], agent: script, "critic": [ACCEPT], "synthesizer": echo_inputs}
    )


async def test_an_agent_calls_its_mcp_tool_and_the_result_reaches_the_answer(facts: Facts) -> None:
    tools = await mcp_tools({"facts": facts.connection})
    assert {t.name for t in tools} == {"lookup", "delete_note", "wait", "crash"}
    lookup = [t for t in tools if t.name == "lookup"]
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts", tools=lookup)],
        llm=one_task("researcher", calls_then_reports("lookup", topic="lithium")),
    )
    result = await team.arun("How dense are lithium-metal cells?")
    assert result.status == "completed"
    assert "Lithium-metal anodes reach 400-500 Wh/kg." in result.answer
    [record] = result.results["t"].tool_calls
    assert record.name == "lookup" and record.args == {"topic": "lithium"}
    assert (
        record.executed and record.output == "Lithium-metal anodes reach 400-500 Wh/kg." and not record.error
    )


async def test_an_mcp_tool_the_agent_was_not_given_is_refused(facts: Facts, notes: Path) -> None:
    tools = await mcp_tools({"facts": facts.connection})
    lookup_only = [t for t in tools if t.name == "lookup"]
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts", tools=lookup_only)],
        llm=one_task("researcher", calls_then_reports("delete_note", name="q3.txt")),
    )
    result = await team.arun("Tidy up")
    assert result.status == "completed" and result.interrupts == []
    [record] = result.results["t"].tool_calls
    assert not record.executed and "`delete_note` is not one of your tools (yours: lookup)" in record.error
    assert (notes / "q3.txt").exists()  # the server never got the call
    assert "not one of your tools" in result.results["t"].output


async def test_an_approval_gated_mcp_tool_pauses_the_run_until_a_person_answers(
    facts: Facts, notes: Path
) -> None:
    tools = await mcp_tools({"facts": facts.connection}, requires_approval=["delete_note"])
    team = Team(
        agents=[Agent(name="admin", role="Maintains notes", tools=tools)],
        llm=one_task("admin", calls_then_reports("delete_note", name="q3.txt")),
    )
    paused = await team.arun("Delete the Q3 note", thread_id="gate")
    assert paused.status == "interrupted"
    [pending] = paused.interrupts
    assert pending.kind == "tool" and pending.payload["tool"] == "delete_note"
    assert pending.payload["args"] == {"name": "q3.txt"} and pending.payload["agent"] == "admin"
    assert (notes / "q3.txt").exists()  # nothing runs while waiting

    result = await team.aresume("gate", approve={"by": "alice"})
    assert result.status == "completed"
    assert not (notes / "q3.txt").exists()
    [record] = result.results["t"].tool_calls
    assert record.executed and record.approved_by == "alice" and record.output == "deleted note q3.txt"


async def test_a_denied_mcp_call_is_not_sent_to_the_server(facts: Facts, notes: Path) -> None:
    tools = await mcp_tools({"facts": facts.connection}, requires_approval=["delete_note"])
    team = Team(
        agents=[Agent(name="admin", role="Maintains notes", tools=tools)],
        llm=one_task("admin", calls_then_reports("delete_note", name="q3.txt")),
    )
    assert (await team.arun("Delete the Q3 note", thread_id="deny")).status == "interrupted"
    result = await team.aresume("deny", approve=False)
    assert result.status == "completed" and (notes / "q3.txt").exists()
    [record] = result.results["t"].tool_calls
    assert not record.executed and "A person denied the call" in record.error


async def test_a_server_that_dies_mid_call_is_an_error_observation(facts: Facts) -> None:
    tools = await mcp_tools({"facts": facts.connection})
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts", tools=tools)],
        llm=one_task("researcher", calls_then_reports("crash", reason="test")),
    )
    result = await team.arun("Look something up")
    assert result.status == "completed"
    [record] = result.results["t"].tool_calls
    assert record.executed and not record.output
    assert "MCP server `facts` failed during the call" in record.error
    assert "MCP server `facts` failed during the call" in result.results["t"].output  # the agent saw it
    if facts.proc is not None:
        assert facts.proc.wait(timeout=10) == 3  # the HTTP server really died


async def test_a_timeout_given_by_name_applies_to_an_mcp_tool(facts: Facts) -> None:
    tools = await mcp_tools({"facts": facts.connection}, timeouts={"wait": 1})
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts", tools=tools)],
        llm=one_task("researcher", calls_then_reports("wait", seconds=60)),
    )
    result = await team.arun("Wait for it")
    [record] = result.results["t"].tool_calls
    assert record.error == "Tool `wait` timed out after 1.0 s." and not record.output


async def test_a_tool_error_from_the_server_is_an_error_observation(facts: Facts) -> None:
    tools = await mcp_tools({"facts": facts.connection})
    team = Team(
        agents=[Agent(name="admin", role="Maintains notes", tools=tools)],
        llm=one_task("admin", calls_then_reports("delete_note", name="missing.txt")),
    )
    result = await team.arun("Delete a note that is not there")
    [record] = result.results["t"].tool_calls
    assert record.executed and record.error.startswith(
        "Tool `delete_note` raised ToolException: Error executing tool delete_note: [Errno 2] No such file"
    )


def test_sync_loading_for_scripts_that_use_team_run(notes: Path) -> None:
    stdio = {"transport": "stdio", "command": sys.executable, "args": [str(SERVER), "stdio"]}
    tools = mcp_tools_sync({"facts": stdio}, prefix=True)
    assert sorted(t.name for t in tools) == ["facts_crash", "facts_delete_note", "facts_lookup", "facts_wait"]
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts", tools=tools)],
        llm=one_task("researcher", calls_then_reports("facts_lookup", topic="sodium")),
    )
    result = team.run("Sodium cell cost?")
    assert "Sodium cells cost 30% less." in result.answer


async def test_unknown_tool_names_and_unreachable_servers_are_config_errors(tmp_path: Path) -> None:
    stdio = {"transport": "stdio", "command": sys.executable, "args": [str(SERVER), "stdio"]}
    with pytest.raises(ConfigError, match=r"No MCP tool named 'delete' \(found: crash, delete_note"):
        await mcp_tools({"facts": stdio}, requires_approval=["delete"])
    with pytest.raises(ConfigError, match="`timeout` must be > 0 seconds"):
        await mcp_tools({"facts": stdio}, timeouts={"wait": 0})
    with pytest.raises(ConfigError, match="Cannot list the tools of MCP server `gone`"):
        await mcp_tools({"gone": {"transport": "streamable_http", "url": "http://127.0.0.1:9/mcp"}})
    missing = {"transport": "stdio", "command": sys.executable, "args": [str(tmp_path / "none.py")]}
    with pytest.raises(ConfigError, match="Cannot list the tools of MCP server `missing`"):
        await mcp_tools({"missing": missing})
    with pytest.raises(ConfigError, match="Several MCP servers have tools named crash, delete_note"):
        await mcp_tools({"a": stdio, "b": stdio})


async def test_servers_must_be_a_mapping_of_connections() -> None:
    with pytest.raises(ConfigError, match="`servers` must map server names to connections"):
        await mcp_tools({})
