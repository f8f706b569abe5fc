"""OpenTelemetry spans of a team run, read back from the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentorch import Agent, RunFailed, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st


class _Switch(trace.TracerProvider):
    """The process's tracer provider in these tests: an SDK provider while a test wants spans,
    otherwise no-op tracers (what the SDK hands out with OTEL_SDK_DISABLED=true), so the other
    tests of the session run as without any provider."""

    def __init__(self) -> None:
        self.sdk: TracerProvider | None = None

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self.sdk.get_tracer(*args, **kwargs) if self.sdk else trace.NoOpTracer()


@pytest.fixture(scope="module")
def switch() -> _Switch:
    current = trace.get_tracer_provider()
    if isinstance(current, _Switch):
        return current
    if not isinstance(current, trace.ProxyTracerProvider):
        pytest.skip("another tracer provider is installed in this process")
    provider = _Switch()
    trace.set_tracer_provider(provider)
    return provider


@pytest.fixture
def exporter(switch: _Switch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(exporter))
    switch.sdk = sdk
    try:
        yield exporter
    finally:
        switch.sdk = None


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return f"facts about {query}"


@tool
def broken(query: str) -> str:
    """Always fails."""
    raise RuntimeError("the index is down")


def _team(**script: Any) -> Team:
    return Team(
        agents=[
            Agent(name="finder", role="Finds facts", tools=[lookup, broken]),
            Agent(name="writer", role="Writes"),
        ],
        llm=ScriptedChatModel(script, model_name="m-1"),
        name="otel-team",
    )


def _two_rounds() -> Team:
    """find (finder, one tool call) -> write (writer); the critic sends `write` back once."""
    return _team(
        planner=[plan(st("find", "finder"), st("write", "writer", "find"))],
        finder=[call("lookup", query="cells"), "found: cells"],
        writer=["draft", "better draft"],
        critic=[{"decision": "revise", "revise": ["write"], "feedback": "shorter"}, ACCEPT],
        synthesizer=["the answer"],
    )


def _ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "agentorch"]


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    kids = [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]
    return sorted(kids, key=lambda s: s.start_time or 0)


def _shape(spans: list[ReadableSpan], parent: ReadableSpan) -> list[tuple[str, str | None]]:
    return [(s.name, s.attributes.get("agentorch.role")) for s in _children(spans, parent)]


def test_a_run_is_one_trace_of_rounds_subtasks_model_and_tool_calls(
    exporter: InMemorySpanExporter,
) -> None:
    team = _two_rounds()
    with trace.get_tracer("app").start_as_current_span("handle request") as request:
        result = team.run("Brief me", thread_id="t-otel")
    assert result.status == "completed" and result.rounds == 2
    spans = _ours(exporter)
    assert {s.context.trace_id for s in spans} == {request.get_span_context().trace_id}

    (root,) = [s for s in spans if s.parent and s.parent.span_id == request.get_span_context().span_id]
    assert root.name == "invoke_workflow otel-team"
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["agentorch.run_id"] == result.run_id
    assert root.attributes["agentorch.thread_id"] == "t-otel"
    assert root.attributes["agentorch.status"] == "completed"
    assert not root.links  # a new run resumes nothing
    total = result.usage.total
    assert root.attributes["gen_ai.usage.input_tokens"] == total.input_tokens
    assert root.attributes["gen_ai.usage.output_tokens"] == total.output_tokens
    for s in spans:  # every span names its thread and run
        assert s.attributes["agentorch.thread_id"] == "t-otel", s.name
        assert s.attributes["agentorch.run_id"] == result.run_id, s.name

    round1, round2 = _children(spans, root)
    assert (round1.name, round1.attributes["agentorch.round"]) == ("round 1", 1)
    assert (round2.name, round2.attributes["agentorch.round"]) == ("round 2", 2)
    assert _shape(spans, round1) == [
        ("chat m-1", "planner"),
        ("invoke_agent finder", "finder"),
        ("invoke_agent writer", "writer"),
        ("chat m-1", "critic"),
    ]
    assert _shape(spans, round2) == [
        ("invoke_agent writer", "writer"),
        ("chat m-1", "critic"),
        ("chat m-1", "synthesizer"),
    ]
    find = _children(spans, round1)[1]
    assert find.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert find.attributes["gen_ai.agent.name"] == "finder"
    assert find.attributes["agentorch.subtask_id"] == "find"
    assert _shape(spans, find) == [
        ("chat m-1", "finder"),
        ("execute_tool lookup", "finder"),
        ("chat m-1", "finder"),
    ]
    tool_span = _children(spans, find)[1]
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "lookup"
    assert tool_span.attributes["agentorch.subtask_id"] == "find"
    assert tool_span.attributes["agentorch.round"] == 1
    rewrite = _children(spans, round2)[0]
    assert (rewrite.attributes["agentorch.subtask_id"], rewrite.attributes["agentorch.round"]) == ("write", 2)

    calls = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(calls) == 8 and len(calls) == total.calls
    for c in calls:
        assert c.kind is trace.SpanKind.CLIENT
        assert c.attributes["gen_ai.request.model"] == c.attributes["gen_ai.response.model"] == "m-1"
        assert c.attributes["gen_ai.provider.name"] == c.attributes["gen_ai.system"]
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in calls) == total.input_tokens
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in calls) == total.output_tokens
    assert (
        sum(c.attributes["gen_ai.usage.output_tokens"] for c in _children(spans, find)[::2])
        == (find.attributes["gen_ai.usage.output_tokens"])
    )
    # a parent's time holds its children's
    by_id = {s.context.span_id: s for s in spans}
    for s in spans:
        parent = by_id.get(s.parent.span_id) if s.parent else None
        if parent is not None:
            assert parent.start_time <= s.start_time <= s.end_time <= parent.end_time, (parent.name, s.name)


def test_failures_are_error_spans(exporter: InMemorySpanExporter) -> None:
    team = _team(
        planner=[plan(st("find", "finder"))],
        finder=[call("broken", query="x"), ValueError("the model fell over")],
        critic=[ACCEPT],
        synthesizer=["never"],
    )
    with pytest.raises(RunFailed):
        team.run("Brief me")
    spans = _ours(exporter)
    (failed_tool,) = [s for s in spans if s.name == "execute_tool broken"]
    assert failed_tool.status.status_code is trace.StatusCode.ERROR
    assert failed_tool.attributes["error.type"] == "RuntimeError"
    assert failed_tool.attributes["agentorch.subtask_id"] == "find"
    failed_calls = [
        s for s in spans if s.name == "chat m-1" and s.status.status_code is trace.StatusCode.ERROR
    ]
    assert failed_calls and all(s.attributes["error.type"] == "ValueError" for s in failed_calls)
    (root,) = [s for s in spans if s.name == "invoke_workflow otel-team"]
    assert root.status.status_code is trace.StatusCode.ERROR
    assert "the model fell over" in (root.status.description or "")


def test_a_paused_run_and_its_resume_are_two_linked_traces(exporter: InMemorySpanExporter) -> None:
    @tool(requires_approval=True)
    def send(to: str) -> str:
        """Send a mail."""
        return f"sent to {to}"

    team = Team(
        agents=[Agent(name="mailer", role="Sends mail", tools=[send])],
        llm=ScriptedChatModel(
            {
                "planner": [plan(st("mail", "mailer"))],
                "mailer": [call("send", to="bob"), "mailed bob"],
                "critic": [ACCEPT],
                "synthesizer": ["done"],
            }
        ),
        name="mail-team",
    )
    paused = team.run("Mail bob", thread_id="t-mail")
    assert paused.status == "interrupted"
    first = _ours(exporter)
    (root1,) = [s for s in first if s.name == "invoke_workflow mail-team"]
    assert root1.status.status_code is not trace.StatusCode.ERROR
    assert root1.attributes["agentorch.status"] == "interrupted"
    assert not [s for s in first if s.name.startswith("execute_tool")]  # asked, not run
    exporter.clear()

    assert team.resume("t-mail", approve=True).status == "completed"
    second = _ours(exporter)
    (root2,) = [s for s in second if s.name == "invoke_workflow mail-team"]
    assert root2.context.trace_id != root1.context.trace_id
    # the resume links to the run it resumes
    (link,) = root2.links
    assert link.context.span_id == root1.context.span_id and link.context.trace_id == root1.context.trace_id
    assert link.attributes == {"agentorch.link.type": "resumes"}
    assert root2.attributes["agentorch.status"] == "completed"
    assert root2.attributes["agentorch.run_id"] == root1.attributes["agentorch.run_id"] == paused.run_id
    (sent,) = [s for s in second if s.name == "execute_tool send"]
    assert sent.attributes["agentorch.subtask_id"] == "mail"
    # the span carries the call's effect key, as the run's record does
    record = team.result("t-mail").results["mail"].tool_calls[0]
    assert sent.attributes["agentorch.tool.call_key"] == record.key != ""


def test_a_team_run_inside_a_traced_runnable_stays_nested_in_its_callbacks(
    exporter: InMemorySpanExporter,
) -> None:
    """The OTel handler joins the caller's callbacks instead of replacing them (LangSmith's
    tracer is one of those)."""

    class Parents(BaseCallbackHandler):
        def __init__(self) -> None:
            self.runs: dict[Any, tuple[str, Any]] = {}

        def on_chain_start(
            self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any
        ) -> None:
            self.runs[run_id] = (kw.get("name") or "", parent_run_id)

    team = _two_rounds()
    outer = RunnableLambda(lambda goal: team.run(goal).answer, name="outer")
    seen = Parents()
    assert outer.invoke("Brief me", {"callbacks": [seen]}) == "the answer"
    (outer_id,) = [k for k, (name, _) in seen.runs.items() if name == "outer"]
    (graph_parent,) = [p for name, p in seen.runs.values() if name == "otel-team"]
    assert graph_parent == outer_id
    assert [s.name for s in _ours(exporter) if s.parent is None] == ["invoke_workflow otel-team"]


def test_without_a_recording_provider_no_handler_joins_the_run(switch: _Switch) -> None:
    """No SDK (the API's proxy provider) or a no-op one: the run's config carries no callback,
    so tracing costs nothing (benchmarks/otel_overhead.py measures it)."""
    from agentorch._observe.otel import OTelHandler
    from agentorch._observe.tracing import trace_config

    assert switch.sdk is None  # hands out no-op tracers, as the SDK does when disabled
    assert "callbacks" not in trace_config("t", "r", "team")
    switch.sdk = TracerProvider()
    try:
        (handler,) = trace_config("t", "r", "team")["callbacks"]  # type: ignore[misc]
        assert isinstance(handler, OTelHandler)
    finally:
        switch.sdk = None
