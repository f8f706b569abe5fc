"""Runs the observability tests look at: the research demo, and a team whose texts hold markup."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agentorch import Agent, RunResult, Team, tool
from agentorch.graphs.research import build_team, demo_model
from agentorch.llms import ScriptedChatModel

XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def run_demo(latency: float = 0.05) -> RunResult:
    """The research demo: 4 sub-tasks (two in parallel), a critic revision, 6 attempts."""
    return build_team(demo_model(latency=latency)).run("Brief me on solid-state batteries")


@pytest.fixture(scope="session")
def demo_result() -> RunResult:
    return run_demo()


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return f"</pre>{XSS} result for {query}"


def nasty_team() -> Team:
    """A team whose goal, plan, outputs and tool results all contain HTML and script."""
    plan = {
        "rationale": XSS,
        "subtasks": [
            {"id": "a<b>", "description": f"Find {XSS}", "agent": "finder"},
            {"id": "c&d", "description": "Write it", "agent": "writer", "depends_on": ["a<b>"]},
        ],
    }
    script: dict[str, Any] = {
        "planner": [plan],
        "finder": [
            AIMessage("", tool_calls=[{"name": "lookup", "args": {"query": XSS}, "id": "1"}]),
            f"found {XSS}",
        ],
        "writer": [f"written {XSS}"],
        "critic": [{"decision": "accept", "feedback": XSS}],
        "synthesizer": [f"answer {XSS}"],
    }
    return Team(
        agents=[Agent(name="finder", role="Finds", tools=[lookup]), Agent(name="writer", role="Writes")],
        llm=ScriptedChatModel(script, model_name="m-<i>"),
    )


@pytest.fixture(scope="session")
def nasty_result() -> RunResult:
    return nasty_team().run(f"Goal {XSS}")
