"""The sync API (`run`, `resume`, `stream`) on real clients: one loop, the caller's context."""

from __future__ import annotations

import asyncio

from langchain_core.tracers.context import collect_runs

from agentorch.testing._openai_server import OpenAIServer

from .conftest import ANSWER_MARK, http_team, research_script


def test_sequential_sync_calls_reuse_the_pooled_http_client() -> None:
    """langchain-openai shares one async httpx client per process; its pooled connections
    belong to the loop that opened them, so every sync call must run on the same loop."""
    with OpenAIServer(research_script()) as server:
        team = http_team(server)
        first = team.run("Write a brief")
        events = [e["type"] for e in team.stream("Write another brief")]
        second = team.run("Write a third brief")
    assert first.status == second.status == "completed"
    assert events[0] == "plan_created" and events[-1] == "final"


def test_sync_run_sees_the_callers_context_variables() -> None:
    with OpenAIServer(research_script()) as server:
        team = http_team(server)
        with collect_runs() as traced:
            team.run("Write a brief")
    names = {run.name for run in traced.traced_runs}
    assert {"planner", "critic", "synthesizer"} <= names


def test_sync_run_works_inside_a_running_event_loop() -> None:
    """As in Jupyter: a sync call from a coroutine (it blocks that loop, but completes)."""

    async def notebook_cell() -> str:
        with OpenAIServer(research_script()) as server:
            return http_team(server).run("Write a brief").answer

    assert asyncio.run(notebook_cell()).startswith(ANSWER_MARK)
