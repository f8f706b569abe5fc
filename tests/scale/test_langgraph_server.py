"""`langgraph.json` served by `langgraph dev`: a thread and a run through langgraph-sdk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import REPO


def test_langgraph_json_points_at_a_factory_the_server_can_load() -> None:
    """The server looks graphs up in the module's namespace, not through `__getattr__`."""
    from agentorch.graphs import research

    spec = json.loads((REPO / "langgraph.json").read_text())["graphs"]["research"]
    path, name = spec.split(":")
    assert Path(REPO / path).resolve() == Path(research.__file__).resolve()
    assert name in vars(research) and callable(vars(research)[name])


@pytest.mark.slow
async def test_a_run_through_langgraph_server(langgraph_server: str) -> None:
    from langgraph_sdk import get_client

    client = get_client(url=langgraph_server)
    assistants = await client.assistants.search(graph_id="research")
    assert assistants, "the research graph is not registered"
    thread = await client.threads.create()
    events: list[tuple[str, object]] = []
    async for part in client.runs.stream(
        thread["thread_id"],
        "research",
        input={"goal": "Write a one-page brief on solid-state batteries"},
        stream_mode=["updates", "custom"],
    ):
        assert part.event != "error", part.data
        events.append((part.event, part.data))

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "metadata"
    nodes = {node for kind, data in events if kind == "updates" and isinstance(data, dict) for node in data}
    assert {"plan", "specialist", "critic", "synthesize"} <= nodes
    started = [d for k, d in events if k == "custom" and d.get("type") == "subtask_started"]  # type: ignore[union-attr]
    assert {d["subtask_id"] for d in started} == {"tech", "market", "analysis", "brief"}  # type: ignore[index]

    state = await client.threads.get_state(thread["thread_id"])
    values = state["values"]
    assert values["status"] == "completed"
    assert values["answer"].startswith("Solid-state batteries: investment brief")
    assert "Risks:" in values["answer"]  # the critic's revision round happened
    assert state["next"] == []


async def test_the_served_graph_runs_as_the_server_calls_it() -> None:
    """No checkpointer of its own, and `context` arrives as a plain dict (not a RunContext)."""
    from agentorch.graphs.research import DEMO_GOAL, build_team, demo_model

    graph = build_team(demo_model()).compile(checkpointer=False)
    assert graph.checkpointer is None
    out = await graph.ainvoke({"goal": DEMO_GOAL}, context={})
    assert out["status"] == "completed"
    assert out["answer"].startswith("Solid-state batteries: investment brief")
