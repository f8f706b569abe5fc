"""Token streaming on the real `ChatOpenAI` over real HTTP: the local server answers
`stream: true` with SSE chunks, and `team.stream(..., tokens=True)` turns them into events."""

from __future__ import annotations

from agentorch import Event
from agentorch.testing._openai_server import OpenAIServer

from .conftest import CRITIC, PLANNER, http_team, research_script

GOAL = "Write a one-page brief on solid-state batteries"


def _run(tokens: bool) -> tuple[list[Event], object, OpenAIServer]:
    with OpenAIServer(research_script()) as server:
        team = http_team(server)
        events = list(team.stream(GOAL, thread_id="t", tokens=tokens))
        server.assert_complete()
    return events, team.result("t"), server


def test_specialists_and_synthesizer_stream_over_sse_and_the_planner_and_critic_do_not() -> None:
    events, result, server = _run(tokens=True)
    assert result.status == "completed"  # type: ignore[attr-defined]
    tokens = [e for e in events if e["type"] == "token"]
    assert {t["role"] for t in tokens} == {"researcher", "analyst", "writer", "synthesizer"}
    # the last call of each sub-task (its latest attempt) wrote exactly its output, in pieces
    for sid, r in result.results.items():  # type: ignore[attr-defined]
        mine = [t for t in tokens if t["subtask_id"] == sid]
        last = [t["text"] for t in mine if t["message_id"] == mine[-1]["message_id"]]
        assert len(last) > 1 and "".join(last) == r.output
    answer = [t["text"] for t in tokens if t["role"] == "synthesizer"]
    assert len(answer) > 1 and "".join(answer) == result.answer  # type: ignore[attr-defined]
    # the agents' and synthesizer's calls were streamed over SSE; the planner's and critic's
    # structured calls never are (nothing reads their tokens)
    structured = [r for r in server.requests if r.script_key in (PLANNER, CRITIC)]
    assert structured and all(r.body["response_format"]["type"] == "json_schema" for r in structured)
    assert not any(r.body.get("stream") for r in structured)
    others = [r for r in server.requests if r.script_key not in (PLANNER, CRITIC)]
    assert others and all(r.body["stream"] is True for r in others)


def test_usage_of_streamed_calls_is_what_the_server_reported_once_per_call() -> None:
    _, streamed, _ = _run(tokens=True)
    _, invoked, server = _run(tokens=False)
    assert not any(body.get("stream") for body in server.chat_requests)  # no tokens: no streaming
    assert streamed.usage == invoked.usage  # type: ignore[attr-defined]
    assert streamed.usage.total.calls == len(server.chat_requests)  # type: ignore[attr-defined]
