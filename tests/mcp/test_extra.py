"""Without the `mcp` extra, agentorch imports and its CLI works; using MCP says what to install."""

from __future__ import annotations

import sys

import pytest

from agentorch import Agent, ConfigError, Team, mcp_server, mcp_tools
from agentorch.llms import ScriptedChatModel


async def test_without_the_extra_mcp_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_mcp_adapters.client", None)  # import raises
    monkeypatch.setitem(sys.modules, "mcp.server.fastmcp", None)
    stdio = {"transport": "stdio", "command": sys.executable, "args": ["server.py"]}
    with pytest.raises(ConfigError, match=r'pip install "agentorch\[mcp\]"'):
        await mcp_tools({"facts": stdio})
    team = Team(agents=[Agent(name="researcher", role="Finds facts")], llm=ScriptedChatModel({}))
    with pytest.raises(ConfigError, match=r'pip install "agentorch\[mcp\]"'):
        mcp_server(team)
