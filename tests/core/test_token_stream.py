"""`team.stream(goal, tokens=True)`: what the specialists and the synthesizer write, as they write
it, between the run's other events — and nothing of the planner, the critic or the summarizer."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langgraph.types import RetryPolicy

from agentorch import Agent, Event, RunFailed, Team, Token, tool
from agentorch.llms import ScriptedChatModel, cascade

from ..helpers import call, plan, st
from .conftest import CALLS, team_of

ACCEPT = {"decision": "accept"}
NO_RETRY = RetryPolicy(max_attempts=1)
FACTS = "Solid electrolytes remove the flammable solvent; pilot lines target 2027."
MARKET = "Toyota and Samsung SDI announced pilot production, CATL goes semi-solid first."
BRIEF = "Solid-state batteries:\n\nsafer cells, first cars in 2027."
ANSWER = "Brief: solid-state batteries are safer;  first cars in 2027."


def _script(**overrides: Any) -> dict[str, Any]:
    script: dict[str, Any] = {
        "planner": [
            plan(
                st("facts", "researcher"),
                st("market", "researcher"),
                st("brief", "writer", "facts", "market"),
            )
        ],
        "researcher:facts": [call("search", query="electrolytes"), FACTS],
        "researcher:market": [MARKET],
        "writer": [BRIEF],
        "critic": [ACCEPT],
        "synthesizer": [ANSWER],
    }
    return {**script, **overrides}


def _tokens(events: list[Event], **where: Any) -> list[Token]:
    return [e for e in events if e["type"] == "token" and all(e[k] == v for k, v in where.items())]  # type: ignore[literal-required]


def _text(tokens: list[Token]) -> str:
    return "".join(t["text"] for t in tokens)


def _index(events: list[Event], kind: str, **where: Any) -> int:
    return next(
        i for i, e in enumerate(events) if e["type"] == kind and all(e[k] == v for k, v in where.items())
    )  # type: ignore[literal-required]


def test_tokens_of_each_subtask_come_between_its_start_and_finish_and_join_to_its_output() -> None:
    llm = ScriptedChatModel(_script())
    events = list(team_of(llm).stream("Write a brief", tokens=True))
    result_outputs = {e["subtask_id"]: e["result"].output for e in events if e["type"] == "subtask_finished"}

    assert result_outputs == {"facts": FACTS, "market": MARKET, "brief": BRIEF}
    for sid, agent in (("facts", "researcher"), ("market", "researcher"), ("brief", "writer")):
        tokens = _tokens(events, subtask_id=sid)
        assert len(tokens) > 3  # streamed in pieces, not in one
        assert {(t["role"], t["agent"], t["round"]) for t in tokens} == {(agent, agent, 1)}
        assert _text(tokens) == result_outputs[sid]
        started, finished = (
            _index(events, "subtask_started", subtask_id=sid),
            _index(events, "subtask_finished", subtask_id=sid),
        )
        assert all(started < events.index(t) < finished for t in tokens)
        assert len({t["message_id"] for t in tokens}) == 1  # the tool call wrote no text
    answer = _tokens(events, role="synthesizer")
    assert {(t["agent"], t["subtask_id"], t["round"]) for t in answer} == {(None, None, 1)}
    assert _text(answer) == ANSWER == events[-1]["answer"]  # type: ignore[typeddict-item]
    assert _index(events, "critic_verdict") < events.index(answer[0]) and events[-1]["type"] == "final"
    # the planner's and the critic's structured outputs are not tokens
    assert {t["role"] for t in _tokens(events)} == {"researcher", "writer", "synthesizer"}
    assert CALLS["search"] == [{"query": "electrolytes"}]


def test_parallel_subtasks_interleave_each_tagged_with_its_own_subtask() -> None:
    # both answer at once; the latency is spread over the chunks, so they write side by side
    llm = ScriptedChatModel(_script(**{"researcher:facts": [FACTS]}), latency={"researcher": 0.2})
    events = list(team_of(llm).stream("Write a brief", tokens=True))
    order = [t["subtask_id"] for t in _tokens(events, role="researcher")]
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches >= 3  # facts and market wrote at the same time
    assert _text(_tokens(events, subtask_id="facts")) == FACTS
    assert _text(_tokens(events, subtask_id="market")) == MARKET


def test_without_tokens_the_events_are_the_same_and_so_is_the_usage() -> None:
    with_tokens = team_of(ScriptedChatModel(_script()))
    events = list(with_tokens.stream("Write a brief", thread_id="t", tokens=True))
    without = team_of(ScriptedChatModel(_script()))
    plain = list(without.stream("Write a brief", thread_id="t"))

    assert not _tokens(plain)
    assert [e["type"] for e in plain] == [e["type"] for e in events if e["type"] != "token"]
    # a streamed answer counts its tokens once, exactly as an invoked one
    assert with_tokens.result("t").usage == without.result("t").usage
    assert with_tokens.result("t").usage.total.calls == 7


def test_a_model_that_does_not_stream_sends_its_answer_as_one_token() -> None:
    llm = ScriptedChatModel(_script(), disable_streaming=True)
    events = list(team_of(llm).stream("Write a brief", tokens=True))
    assert [t["text"] for t in _tokens(events, subtask_id="brief")] == [BRIEF]
    assert [t["text"] for t in _tokens(events, role="synthesizer")] == [ANSWER]


def test_a_call_that_fails_midway_leaves_its_tokens_and_the_next_model_writes_anew() -> None:
    # streams "Half " character by character, then raises; the cascade moves on to `strong`
    flaky = FakeListChatModel(responses=["Half an answer"], error_on_chunk_number=5)
    strong = ScriptedChatModel({"writer": [BRIEF]}, model_name="strong")
    team = team_of(ScriptedChatModel(_script()), llms={"writer": cascade(flaky, strong)}, retry=NO_RETRY)
    events = list(team.stream("Write a brief", tokens=True))

    brief = _tokens(events, subtask_id="brief")
    calls = list(dict.fromkeys(t["message_id"] for t in brief))
    assert len(calls) == 2
    assert _text([t for t in brief if t["message_id"] == calls[0]]) == "Half "
    assert _text([t for t in brief if t["message_id"] == calls[1]]) == BRIEF
    finished = [e for e in events if e["type"] == "subtask_finished" and e["subtask_id"] == "brief"]
    assert [(e["status"], e["result"].output) for e in finished] == [("failed", ""), ("done", BRIEF)]


async def test_resumed_runs_do_not_stream_replayed_calls_again() -> None:
    @tool(requires_approval=True)
    def purge(table: str) -> str:
        """Delete every record of a table (needs approval)."""
        return f"deleted {table}"

    before = AIMessage(
        content="I will purge the staging table.",
        tool_calls=[{"name": "purge", "args": {"table": "staging"}, "id": "c1"}],
    )
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("notes", "writer"), st("purge", "admin"))],
            "writer": ["Notes written."],
            "admin": [before, "Purged staging."],
            "critic": [ACCEPT],
            "synthesizer": ["Done."],
        }
    )
    team = Team(
        agents=[Agent(name="writer", role="Writes"), Agent(name="admin", role="Maintains", tools=[purge])],
        llm=llm,
    )
    first = [e async for e in team.astream("Clean up", thread_id="p", tokens=True)]
    assert first[-1]["type"] == "interrupted"
    assert _text(_tokens(first, subtask_id="purge")) == "I will purge the staging table."
    assert _text(_tokens(first, subtask_id="notes")) == "Notes written."

    second = [e async for e in team.aresume_stream("p", approve=True, tokens=True)]
    # the admin's first call and the writer's sub-task are replayed from the checkpoint: silent
    assert [(t["subtask_id"], t["text"]) for t in _tokens(second) if t["subtask_id"]] == [
        ("purge", "Purged "),
        ("purge", "staging."),
    ]
    assert _text(_tokens(second, role="synthesizer")) == "Done."
    assert len(llm.calls_for("admin")) == 2


async def test_a_run_resumed_after_a_failure_streams_only_the_work_that_runs_again() -> None:
    llm = ScriptedChatModel(_script(writer=[RuntimeError("model down"), BRIEF]))
    team = team_of(llm, retry=NO_RETRY)
    seen: list[Event] = []
    with pytest.raises(RunFailed):
        async for ev in team.astream("Write a brief", thread_id="f", tokens=True):
            seen.append(ev)
    assert _text(_tokens(seen, subtask_id="facts")) == FACTS

    again = [e async for e in team.aresume_stream("f", tokens=True)]
    assert {t["subtask_id"] for t in _tokens(again)} == {"brief", None}
    assert _text(_tokens(again, subtask_id="brief")) == BRIEF
    assert again[-1]["type"] == "final" and again[-1]["status"] == "completed"
