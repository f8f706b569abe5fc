"""A whole team on the real `ChatOpenAI`, over real HTTP: runs, retries, timeouts, resume.

The model is built by `agentorch.llms.from_env` from an env dict pointing at a local
`OpenAIServer`, exactly as a user's would be; the server answers each role from a script.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentorch import RunFailed
from agentorch.llms import from_env
from agentorch.testing._openai_server import Fault, OpenAIServer

from .conftest import (
    ANALYST,
    ANSWER_MARK,
    PLANNER,
    RESEARCHER,
    SECRET_KEY,
    WRITER,
    always,
    analyst,
    calls_by_role,
    env_for,
    faults_then,
    http_team,
    planner,
    research_script,
    retry_counts,
    writer,
)

GOAL = "Write a one-page brief on solid-state batteries"

# A clean run: planner 1, researcher 2 x 2 (tool call, answer), analyst 2 (revised once),
# writer 2 (re-run downstream of the revision), critic 2, synthesizer 1.
CLEAN_CALLS = {"planner": 1, "researcher": 4, "analyst": 2, "writer": 2, "critic": 2, "synthesizer": 1}


def test_full_team_run_over_http(tmp_path: Any) -> None:
    with OpenAIServer(research_script(), latency=0.1) as server:
        result = http_team(server).run(GOAL)
        server.assert_complete()

    assert result.status == "completed", result.error
    assert result.answer.startswith(ANSWER_MARK) and "Risks:" in result.answer
    assert [st.id for st in result.plan.subtasks] == ["tech", "market", "analysis", "brief"]
    assert all(r.status == "done" for r in result.results.values())
    assert [v.decision for v in result.verdicts] == ["revise", "accept"]
    # the researcher's tool calls went through the real client and the real tool
    tech = result.results["tech"]
    assert [(c.name, c.executed) for c in tech.tool_calls] == [("search", True)]
    assert "400-500 Wh/kg" in tech.tool_calls[0].output and "400-500 Wh/kg" in tech.output
    # the two independent sub-tasks ran at the same time (each waits 2 x 0.1 s on the server)
    market = result.results["market"]
    assert max(tech.started_at, market.started_at) < min(tech.finished_at, market.finished_at)
    # usage as the server reported it, under the model name it answered with
    assert set(result.usage.by_model) == {"primary"}
    assert result.usage.total.calls == sum(CLEAN_CALLS.values())
    assert result.usage.total.total_tokens > 1000
    assert dict(calls_by_role(server)) == CLEAN_CALLS

    # what went over the wire: strict JSON schema for the planner, tools for the researcher
    plan_request = next(r.body for r in server.requests if r.script_key == PLANNER)
    assert plan_request["response_format"]["type"] == "json_schema"
    research = next(r.body for r in server.requests if r.script_key == RESEARCHER)
    assert [t["function"]["name"] for t in research["tools"]] == ["search"]
    assert all(r.headers["authorization"] == "[redacted]" for r in server.requests)


def test_sdk_retries_429_with_retry_after_then_500() -> None:
    """The OpenAI SDK's own retries (max_retries=2) absorb a 429 and a 500 on the planner."""
    script = research_script(
        planner=faults_then(planner, Fault(status=429, retry_after=0.4), Fault(status=500))
    )
    with OpenAIServer(script) as server:
        team = http_team(server, llm=from_env(env=env_for(server, AGENTORCH_MAX_RETRIES="2")))
        started = time.monotonic()
        result = team.run(GOAL)
        elapsed = time.monotonic() - started
        server.assert_complete()
    assert result.status == "completed", result.error
    assert retry_counts(server, PLANNER) == ["0", "1", "2"]  # one call, three attempts
    assert elapsed >= 0.4  # Retry-After was honoured
    assert calls_by_role(server)["planner"] == 3


def test_graph_retry_policy_retries_5xx_and_429_when_the_sdk_does_not() -> None:
    """With SDK retries off, `Team(retry=...)` re-runs the failed call; finished work stays."""
    script = research_script(
        writer=faults_then(writer, Fault(status=503), Fault(status=429)),
        analyst=faults_then(analyst, Fault(status=500)),
    )
    with OpenAIServer(script) as server:
        result = http_team(server).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    # each retry is a new call from the graph (the SDK never retried: count 0 every time)
    assert retry_counts(server, WRITER) == ["0"] * 4
    assert retry_counts(server, ANALYST) == ["0"] * 3
    assert calls_by_role(server)["researcher"] == CLEAN_CALLS["researcher"]  # not redone


@pytest.mark.parametrize(("status", "error"), [(400, "Error code: 400"), (401, "Error code: 401")])
def test_client_errors_fail_fast_with_partial_results_and_resume(status: int, error: str) -> None:
    script = research_script(writer=faults_then(writer, Fault(status=status)))
    with OpenAIServer(script) as server:
        team = http_team(server)
        with pytest.raises(RunFailed) as info:
            team.run(GOAL, thread_id="t-4xx")
        failed = info.value.result
        assert calls_by_role(server)["writer"] == 1  # a 4xx is not retried
        assert failed.status == "failed"
        assert error in failed.error and "`brief`" in failed.error and "t-4xx" in str(info.value)
        assert {k for k, r in failed.results.items() if r.status == "done"} == {"tech", "market", "analysis"}

        before = calls_by_role(server)
        result = team.resume("t-4xx")
        after = calls_by_role(server)
        server.assert_complete()
    assert result.status == "completed", result.error
    assert after["researcher"] == before["researcher"]  # finished sub-tasks were not redone
    assert after["planner"] == 1


@pytest.mark.parametrize("where", ["client timeout", "model_timeout"])
def test_a_hung_call_times_out_and_is_retried(where: str) -> None:
    script = research_script(analyst=faults_then(analyst, Fault(hang=20)))
    with OpenAIServer(script) as server:
        if where == "client timeout":
            llm = from_env(env=env_for(server, AGENTORCH_TIMEOUT="0.5"))
            team = http_team(server, llm=llm)
        else:
            team = http_team(server, model_timeout=0.5)  # client timeout stays 5 s
        started = time.monotonic()
        result = team.run(GOAL)
        elapsed = time.monotonic() - started
        server.assert_complete()
    assert result.status == "completed", result.error
    assert elapsed < 10  # the timeout cut the 20 s hang
    assert calls_by_role(server)["analyst"] == CLEAN_CALLS["analyst"] + 1


def test_malformed_response_body_is_retried() -> None:
    """A 200 whose body is not JSON: the SDK raises JSONDecodeError; the graph retries it."""
    script = research_script(writer=faults_then(writer, Fault(malformed=True)))
    with OpenAIServer(script) as server:
        result = http_team(server).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    assert calls_by_role(server)["writer"] == CLEAN_CALLS["writer"] + 1


def test_server_down_then_back_resumes_without_redoing_finished_work() -> None:
    """503 until retries run out -> RunFailed; server gone -> RunFailed; a new server -> done."""
    saver = InMemorySaver()
    with OpenAIServer(research_script(analyst=always(Fault(status=503)))) as server:
        team = http_team(server, checkpointer=saver)
        gone = server.base_url
        with pytest.raises(RunFailed) as info:
            team.run(GOAL, thread_id="t-down")
        assert calls_by_role(server)["analyst"] == 3  # FAST_RETRY: three attempts
    failed = info.value.result
    assert "Error code: 503" in failed.error and "`analysis`" in failed.error
    assert {k for k, r in failed.results.items() if r.status == "done"} == {"tech", "market"}
    assert failed.usage.by_role["researcher"].calls == 4

    # the server is gone now (connection refused): resuming fails the same clear way
    with pytest.raises(RunFailed) as again:
        team.resume("t-down")
    assert "ConnectionError: Connection error" in again.value.result.error
    assert f"(request to {gone}" in again.value.result.error  # says which server
    assert set(again.value.result.results) == {"tech", "market"}

    # a new server (new address): a team on it, sharing the checkpoints, finishes the run
    with OpenAIServer(research_script()) as back:
        result = http_team(back, checkpointer=saver).resume("t-down")
        back.assert_complete()
    assert result.status == "completed", result.error
    assert result.answer.startswith(ANSWER_MARK)
    assert "researcher" not in calls_by_role(back) and "planner" not in calls_by_role(back)
    assert result.results["tech"].output == failed.results["tech"].output
    assert SECRET_KEY not in result.model_dump_json()


def test_a_failure_report_names_the_server_but_never_its_credentials() -> None:
    import httpx
    import openai

    from agentorch._errors import describe_error

    request = httpx.Request("POST", "https://ann:s3cret@llm.example:8443/v1/chat/completions?key=AIzaSECRET")
    text = describe_error(openai.APIConnectionError(request=request))
    assert text == (
        "APIConnectionError: Connection error. (request to https://llm.example:8443/v1/chat/completions)"
    )
    assert describe_error(ValueError("no request here")) == "ValueError: no request here"


def test_an_ended_event_loop_in_a_failure_report_comes_with_the_cure() -> None:
    from agentorch._errors import describe_error

    text = describe_error(RuntimeError("Event loop is closed"))
    assert text.startswith("RuntimeError: Event loop is closed — ")
    assert "one `asyncio.run`" in text and "agentorch.llms.from_env" in text
    assert describe_error(RuntimeError("other")) == "RuntimeError: other"


def test_runs_on_successive_event_loops_share_one_server() -> None:
    """`asyncio.run(team.arun(...))` twice: the second run must not be handed the first
    loop's connections (langchain-openai's shared pool fails there: "Event loop is closed")."""
    with OpenAIServer(research_script()) as server:
        team = http_team(server)
        first = asyncio.run(team.arun(GOAL))
        second = asyncio.run(http_team(server).arun(GOAL))
    assert first.status == second.status == "completed", (first.error, second.error)
    assert calls_by_role(server)["planner"] == 2
