"""Record and replay: real BaseChatModels, order-independent replay, clear misses, no secrets."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from agentorch.evals import (
    Case,
    CassetteError,
    CassetteMiss,
    ModelSetup,
    RecordingChatModel,
    ReplayChatModel,
    Suite,
    run_suite,
)
from agentorch.graphs.research import DEMO_GOAL, build_team, demo_model
from agentorch.llms import ScriptedChatModel
from agentorch.testing import OpenAIServer

WRITER = {"metadata": {"agentorch_role": "writer"}}


class Verdict(BaseModel):
    decision: str


def test_a_research_run_replays_offline_with_parallel_branches_in_another_order(tmp_path: Path) -> None:
    cassette = tmp_path / "research.jsonl"
    recorded = build_team(RecordingChatModel(demo_model(), cassette)).run(DEMO_GOAL)
    lines = [json.loads(x) for x in cassette.read_text().splitlines()]
    assert len(lines) == recorded.usage.total.calls == 12
    planner = next(e for e in lines if e["role"] == "planner")
    assert planner["request"]["structured_output"]["properties"]["subtasks"]
    assert {e["role"] for e in lines} == {
        "planner",
        "researcher",
        "analyst",
        "writer",
        "critic",
        "synthesizer",
    }
    assert any(
        e["request"]["tools"] and e["response"]["tool_calls"] for e in lines if e["role"] == "researcher"
    )
    # ...and replay from the lines in reverse order: served by request key, not by position
    reversed_cassette = tmp_path / "reversed.jsonl"
    reversed_cassette.write_text("\n".join(reversed(cassette.read_text().splitlines())) + "\n")
    replay = ReplayChatModel(reversed_cassette)
    assert isinstance(replay, BaseChatModel)
    replayed = build_team(replay).run(DEMO_GOAL)
    assert replayed.answer == recorded.answer and replayed.status == "completed"
    assert replayed.usage.total.total_tokens == recorded.usage.total.total_tokens


def test_replay_supports_bind_tools_and_structured_output(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    real = ScriptedChatModel({"critic": [{"decision": "accept"}]})
    rec = RecordingChatModel(real, cassette)
    out = rec.with_structured_output(Verdict).invoke(
        "review", config={"metadata": {"agentorch_role": "critic"}}
    )
    assert out == Verdict(decision="accept")
    again = (
        ReplayChatModel(cassette)
        .with_structured_output(Verdict)
        .invoke("review", config={"metadata": {"agentorch_role": "critic"}})
    )
    assert again == out


def test_a_request_not_in_the_cassette_shows_the_nearest_and_the_difference(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    rec = RecordingChatModel(ScriptedChatModel({"writer": ["One.", "Two."]}), cassette)
    rec.invoke("Write about solid-state batteries", config=WRITER)
    rec.invoke("Summarize the market", config=WRITER)
    replay = ReplayChatModel(cassette)
    with pytest.raises(CassetteMiss) as caught:
        replay.invoke("Write about sodium-ion batteries", config=WRITER)
    msg = str(caught.value)
    assert "no response for this `writer` request" in msg and str(cassette) in msg
    assert re.search(r'^-\s+"content": "Write about solid-state batteries"', msg, re.M)
    assert re.search(r'^\+\s+"content": "Write about sodium-ion batteries"', msg, re.M)
    assert "Summarize the market" not in msg  # only the nearest request is shown
    assert replay.invoke("Write about solid-state batteries", config=WRITER).content == "One."
    with pytest.raises(CassetteMiss, match="all 1 recorded were used"):
        replay.invoke("Write about solid-state batteries", config=WRITER)


def test_broken_cassettes_name_the_file_and_line(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    RecordingChatModel(ScriptedChatModel({"writer": ["One."]}), cassette).invoke("x", config=WRITER)
    whole = cassette.read_text()
    cassette.write_text(whole + whole[: len(whole) // 2])
    with pytest.raises(CassetteError, match=r"line 2 is not valid JSON.*truncated"):
        ReplayChatModel(cassette)
    cassette.write_bytes(b"\xff\xfe")
    with pytest.raises(CassetteError, match="not UTF-8"):
        ReplayChatModel(cassette)
    with pytest.raises(CassetteError, match="Cannot read"):
        ReplayChatModel(tmp_path / "missing.jsonl")


async def test_recording_through_a_real_http_client_never_stores_the_key(tmp_path: Path) -> None:
    key = "sk-test-SECRETKEY1234567890"
    cassette = tmp_path / "http.jsonl"
    with OpenAIServer(["Hello from the server."]) as server:
        real = ChatOpenAI(
            model="agentorch-test",
            base_url=server.base_url,
            api_key=key,
            timeout=5,
            max_retries=0,
            use_responses_api=False,
        )
        rec = RecordingChatModel(real, cassette)
        answer = await rec.ainvoke(
            f"Say hello. (debug: key={key}, Authorization: Bearer {key})", config=WRITER
        )
        assert answer.content == "Hello from the server."
    text = cassette.read_text()
    assert "SECRETKEY" not in text and "Bearer sk-" not in text and "[redacted]" in text
    entry = json.loads(text)
    assert entry["role"] == "writer" and entry["response"]["usage"]["total_tokens"] > 0


def test_a_suite_can_replay_a_cassette(tmp_path: Path, write) -> None:
    cassette = tmp_path / "run.jsonl"
    build_team(RecordingChatModel(demo_model(), cassette)).run("Write a brief")
    path = write(
        "replay.yaml",
        f"""
team: research
model: {{cassette: {cassette.name}}}
cases:
  - {{id: same, goal: Write a brief, expect: {{status: completed, answer_contains: Risks}}}}
  - {{id: other, goal: Write a haiku, expect: {{status: completed}}}}
""",
    )
    result = run_suite(path)
    by_id = {c.case: c for c in result.cases}
    assert by_id["same"].passed
    assert by_id["other"].status == "failed" and "has no response" in by_id["other"].error


def test_replay_is_safe_under_concurrency(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    rec = RecordingChatModel(ScriptedChatModel({"writer": lambda m: f"echo {m[-1].content}"}), cassette)

    async def record() -> None:
        await asyncio.gather(*(rec.ainvoke(f"q{i}", config=WRITER) for i in range(20)))

    asyncio.run(record())
    replay = ReplayChatModel(cassette)

    async def ask() -> list[str]:
        return [
            m.content
            for m in await asyncio.gather(
                *(replay.ainvoke(f"q{i}", config=WRITER) for i in reversed(range(20)))
            )
        ]

    assert asyncio.run(ask()) == [f"echo q{i}" for i in reversed(range(20))]
    suite = Suite(
        name="s", team="research", model=ModelSetup(cassette=cassette), cases=[Case(id="c", goal="g")]
    )
    assert suite.model.cassette == cassette
