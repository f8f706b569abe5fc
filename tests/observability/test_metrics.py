"""OpenTelemetry metrics of team runs, read back with the SDK's in-memory reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from agentorch import Agent, RunFailed, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st


class _Switch(metrics.MeterProvider):
    """The process's meter provider in these tests: an SDK provider while a test wants metrics,
    no-op meters otherwise (what the SDK hands out with OTEL_SDK_DISABLED=true)."""

    def __init__(self) -> None:
        self.sdk: MeterProvider | None = None

    def get_meter(self, *args: Any, **kwargs: Any) -> metrics.Meter:
        return self.sdk.get_meter(*args, **kwargs) if self.sdk else metrics.NoOpMeter("off")


@pytest.fixture(scope="module")
def switch() -> _Switch:
    current = metrics.get_meter_provider()
    if isinstance(current, _Switch):
        return current
    if not type(current).__module__.startswith("opentelemetry.metrics"):
        pytest.skip("another meter provider is installed in this process")
    provider = _Switch()
    metrics.set_meter_provider(provider)
    return provider


@pytest.fixture
def reader(switch: _Switch) -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    switch.sdk = MeterProvider(metric_readers=[reader])
    try:
        yield reader
    finally:
        switch.sdk = None


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """The data points of metric `name` (scope agentorch)."""
    data = reader.get_metrics_data()
    found = []
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            if sm.scope.name != "agentorch":
                continue
            for m in sm.metrics:
                if m.name == name:
                    found.extend(m.data.data_points)
    return found


def by(pts: list[Any], *keys: str) -> dict[tuple[Any, ...], Any]:
    """Sum (counters) or count/sum (histograms) of the points, keyed by attribute values."""
    out: dict[tuple[Any, ...], Any] = {}
    for p in pts:
        k = tuple(p.attributes.get(key) for key in keys)
        if isinstance(p, HistogramDataPoint):
            count, total = out.get(k, (0, 0.0))
            out[k] = (count + p.count, total + p.sum)
        else:
            out[k] = out.get(k, 0) + p.value
    return out


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return f"facts about {query}"


@tool
def broken(query: str) -> str:
    """Always fails."""
    raise RuntimeError("the index is down")


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish the text."""
    return "published"


def _team(**script: Any) -> Team:
    return Team(
        agents=[
            Agent(name="finder", role="Finds facts", tools=[lookup, broken]),
            Agent(name="writer", role="Writes and publishes", tools=[publish]),
        ],
        llm=ScriptedChatModel(script, model_name="m-1"),
        name="metrics-team",
        prices={"m-1": (1.0, 2.0)},
    )


def test_a_paused_and_resumed_run_records_genai_and_run_metrics(reader: InMemoryMetricReader) -> None:
    team = _team(
        planner=[plan(st("find", "finder"), st("write", "writer", "find"))],
        finder=[call("lookup", query="cells"), call("broken", query="x"), "found: cells"],
        writer=[call("publish", text="draft"), "not published"],
        critic=[ACCEPT],
        synthesizer=["the answer"],
    )
    paused = team.run("Brief me", thread_id="t-metrics")
    assert paused.status == "interrupted"
    assert by(points(reader, "agentorch.runs"), "agentorch.status") == {("interrupted",): 1}
    result = team.resume("t-metrics", approve=False)
    assert result.status == "completed"

    runs = points(reader, "agentorch.runs")
    assert by(runs, "agentorch.status", "gen_ai.workflow.name") == {
        ("interrupted", "metrics-team"): 1,
        ("completed", "metrics-team"): 1,
    }
    assert by(points(reader, "agentorch.run.duration"), "agentorch.status")[("completed",)][0] == 1

    # the GenAI client metrics add up to what the result reports
    total = result.usage.total
    tokens = by(points(reader, "gen_ai.client.token.usage"), "gen_ai.token.type")
    assert tokens == {
        ("input",): (total.calls, total.input_tokens),
        ("output",): (total.calls, total.output_tokens),
    }
    duration = points(reader, "gen_ai.client.operation.duration")
    assert sum(p.count for p in duration) == total.calls
    for p in duration:
        assert p.attributes["gen_ai.operation.name"] == "chat"
        assert p.attributes["gen_ai.request.model"] == p.attributes["gen_ai.response.model"] == "m-1"
    calls_by_role = by(duration, "agentorch.role")
    assert {r: c for (r,), (c, _) in calls_by_role.items()} == {
        role: u.calls for role, u in result.usage.by_role.items()
    }

    # cost by role and model, under the team's prices
    cost = by(points(reader, "agentorch.cost"), "agentorch.role", "gen_ai.request.model")
    assert cost.keys() == {(role, "m-1") for role in result.usage.by_role}
    for (role, _), spent in cost.items():
        assert spent == pytest.approx(result.usage.by_role[role].cost)
    assert sum(cost.values()) == pytest.approx(result.usage.total.cost) and result.usage.total.cost > 0

    # sub-tasks by agent and outcome; tool calls by outcome (the denial included)
    subtasks = by(points(reader, "agentorch.subtask.duration"), "gen_ai.agent.name", "agentorch.status")
    assert {k: c for k, (c, _) in subtasks.items()} == {("finder", "done"): 1, ("writer", "done"): 1}
    tools = by(
        points(reader, "agentorch.tool.calls"),
        "gen_ai.agent.name",
        "gen_ai.tool.name",
        "agentorch.tool.outcome",
    )
    assert tools == {
        ("finder", "lookup", "ok"): 1,
        ("finder", "broken", "error"): 1,
        ("writer", "publish", "denied"): 1,
    }


def test_a_failed_model_call_and_run_are_counted(reader: InMemoryMetricReader) -> None:
    team = _team(
        planner=[plan(st("find", "finder"))],
        finder=[ValueError("the model fell over")] * 5,
        critic=[ACCEPT],
        synthesizer=["never"],
    )
    with pytest.raises(RunFailed):
        team.run("Brief me")
    assert by(points(reader, "agentorch.runs"), "agentorch.status") == {("failed",): 1}
    failed = [p for p in points(reader, "gen_ai.client.operation.duration") if "error.type" in p.attributes]
    assert failed and {p.attributes["error.type"] for p in failed} == {"ValueError"}
    assert {p.attributes["agentorch.role"] for p in failed} == {"finder"}


def test_no_meter_provider_attaches_nothing(switch: _Switch) -> None:
    from agentorch._observe.tracing import trace_config

    assert switch.sdk is None
    assert "callbacks" not in trace_config("t", "r", "team")
