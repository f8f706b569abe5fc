"""Structured calls against a server with llama.cpp's quirks, on the real `ChatOpenAI` over
HTTP: each team's own plan and verdict schemas, no streaming of structured calls, a clear end
(not nine retries) when the server refuses the method, and length stops repaired, not retried."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentorch import ConfigError, PlanError
from agentorch.cli import EXIT_OK, EXIT_USAGE, main
from agentorch.llms import from_env, structured_output_from_env
from agentorch.testing._openai_server import LLAMA_CPP_QUIRKS, Fault, OpenAIServer, ToolCalls

from .conftest import (
    CRITIC,
    PLAN,
    PLANNER,
    SYNTHESIZER,
    calls_by_role,
    env_for,
    http_team,
    research_script,
    specialist_key,
)

GOAL = "Write a one-page brief on solid-state batteries"
AGENTS = ["researcher", "analyst", "writer"]


def _schema_sent(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a structured request carried, whatever the method."""
    response_format = body.get("response_format")
    if response_format is None:
        return body["tools"][0]["function"]["parameters"]
    if response_format["type"] == "json_object":
        return response_format["schema"]
    return response_format["json_schema"]["schema"]


def _agent_enum(schema: dict[str, Any]) -> list[str]:
    subtask = schema["$defs"]["SubTask"] if "$defs" in schema else schema["properties"]["subtasks"]["items"]
    agent = subtask["properties"]["agent"]
    return agent["enum"] if "enum" in agent else [agent["const"]]  # one agent: a `const`


@pytest.mark.parametrize("method", ["json_mode", "function_calling"])
def test_a_llama_cpp_like_server_runs_the_team_with_a_method_it_takes(method: str) -> None:
    """Tokens streamed; the planner's and critic's calls not streamed (so the repeated tool-call
    headers cannot corrupt them) and carrying the team's own schema. The specialists' tool
    calls need ChatOpenAI's `disable_streaming="tool_calling"` on this server (docs/models.md)."""
    with OpenAIServer(research_script(), quirks=LLAMA_CPP_QUIRKS) as server:
        llm = from_env(env=env_for(server)).model_copy(update={"disable_streaming": "tool_calling"})
        team = http_team(server, llm=llm, structured_output_method=method)
        events = list(team.stream(GOAL, thread_id="t", tokens=True))
        server.assert_complete()
    result = team.result("t")
    assert result.status == "completed", result.error
    assert {e["role"] for e in events if e["type"] == "token"} == {*AGENTS, "synthesizer"}
    calls = [r for r in server.requests if isinstance(r.reply, ToolCalls)]
    assert calls and not any(r.body.get("stream") for r in calls)  # whole tool names arrive
    assert all(t.name == "search" for r in result.results.values() for t in r.tool_calls)
    plans = [r.body for r in server.requests if r.script_key == PLANNER]
    critics = [r.body for r in server.requests if r.script_key == CRITIC]
    assert len(plans) == 1 and len(critics) == 2
    for body in plans + critics:
        assert not body.get("stream")
        if method == "json_mode":
            assert body["response_format"]["type"] == "json_object"
        else:
            assert "response_format" not in body and body["tool_choice"]["type"] == "function"
    plan_schema = _schema_sent(plans[0])
    assert sorted(_agent_enum(plan_schema)) == sorted(AGENTS)
    assert plan_schema["properties"]["subtasks"]["maxItems"] == team.max_subtasks
    revise = _schema_sent(critics[0])["properties"]["revise"]["items"]
    assert sorted(revise["enum"]) == sorted(st["id"] for st in PLAN["subtasks"])


def test_json_schema_refused_by_the_server_ends_at_once_naming_the_method() -> None:
    """llama-cpp-python's server answers 500 to `json_schema`: one request, not 3 x 3."""
    with OpenAIServer(research_script(), quirks=LLAMA_CPP_QUIRKS) as server:
        team = http_team(server)
        with pytest.raises(ConfigError) as info:
            team.run(GOAL)
    message = str(info.value)
    assert "HTTP 500" in message and "Input should be 'text' or 'json_object'" in message
    assert "AGENTORCH_STRUCTURED_OUTPUT" in message and "--structured-output" in message
    assert "json_mode" in message
    assert calls_by_role(server)["planner"] == 1


def test_a_400_refusal_of_the_request_ends_at_once() -> None:
    lane = iter([Fault(status=400, message="response_format is not supported"), PLAN])
    with OpenAIServer(research_script(planner=lambda body: next(lane))) as server:
        with pytest.raises(ConfigError) as info:
            http_team(server).run(GOAL)
    assert "HTTP 400" in str(info.value) and "response_format is not supported" in str(info.value)
    assert calls_by_role(server)["planner"] == 1  # a request the server refuses is not retried


def test_a_5xx_that_is_not_about_the_request_is_still_retried() -> None:
    lane = iter([Fault(status=500, message="model is loading"), PLAN])
    with OpenAIServer(research_script(planner=lambda body: next(lane))) as server:
        result = http_team(server).run(GOAL)
    assert result.status == "completed", result.error
    assert calls_by_role(server)["planner"] == 2


@pytest.mark.parametrize("method", [None, "json_mode", "function_calling"])
def test_a_length_stop_is_repaired_with_a_request_for_a_shorter_answer(method: str | None) -> None:
    cut = json.dumps(PLAN)[:40]
    lane = iter([Fault(length=cut), PLAN])
    script = research_script(planner=lambda body: next(lane))
    with OpenAIServer(script) as server:
        result = http_team(server, structured_output_method=method).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    plans = [r.body for r in server.requests if r.script_key == PLANNER]
    assert len(plans) == 2  # not retried as if transient
    repair = plans[1]["messages"][-1]["content"]
    assert "Your previous answer was rejected" in repair
    if method != "function_calling":  # a cut-off tool call reads as malformed arguments
        assert "output-token limit" in repair and "shorter" in repair
    # both calls are counted, the cut-off one too
    assert result.usage.by_role["planner"].calls == 2
    assert result.usage.by_role["planner"].output_tokens > 0


def test_a_planner_that_always_stops_at_the_limit_says_to_raise_it() -> None:
    cut = json.dumps(PLAN)[:40]
    with OpenAIServer(research_script(planner=lambda body: Fault(length=cut))) as server:
        team = http_team(server, plan_retries=1)
        with pytest.raises(PlanError) as info:
            team.run(GOAL)
    assert calls_by_role(server)["planner"] == 2  # plan_retries=1: two attempts, no retries
    assert "raise it" in str(info.value) and "max_tokens" in str(info.value)


def test_a_plan_naming_an_agent_the_team_lacks_is_still_rejected() -> None:
    """The schema narrows what a constraining server may decode; a server that ignores it
    (this one) still gets the answer checked and sent back."""
    bad = {"subtasks": [dict(PLAN["subtasks"][0], agent="Laszlo Kouros")]}
    lane = iter([bad, PLAN])
    with OpenAIServer(research_script(planner=lambda body: next(lane))) as server:
        result = http_team(server, structured_output_method="json_mode").run(GOAL)
    assert result.status == "completed", result.error
    plans = [r.body for r in server.requests if r.script_key == PLANNER]
    assert "Laszlo Kouros" in plans[1]["messages"][-1]["content"]


def test_the_method_from_the_environment_is_validated() -> None:
    assert structured_output_from_env({}) is None
    assert structured_output_from_env({"AGENTORCH_STRUCTURED_OUTPUT": " json_mode "}) == "json_mode"
    with pytest.raises(ConfigError, match=r"`AGENTORCH_STRUCTURED_OUTPUT` must be one of .*'xml'"):
        structured_output_from_env({"AGENTORCH_STRUCTURED_OUTPUT": "xml"})


@pytest.mark.slow
def test_agentorch_run_takes_the_method_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with OpenAIServer(research_script(), quirks=LLAMA_CPP_QUIRKS) as server:
        for name, value in env_for(server, AGENTORCH_MAX_RETRIES="0").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AGENTORCH_STRUCTURED_OUTPUT", "xml")
        assert main(["run", GOAL, "--plain"]) == EXIT_USAGE
        assert "`AGENTORCH_STRUCTURED_OUTPUT` must be one of" in capsys.readouterr().err
        monkeypatch.setenv("AGENTORCH_STRUCTURED_OUTPUT", "json_schema")
        assert main(["run", GOAL, "--plain"]) != EXIT_OK
        shown = capsys.readouterr()
        assert "structured_output_method='json_schema'" in shown.out + shown.err
        assert main(["run", GOAL, "--plain", "--structured-output", "json_mode"]) == EXIT_OK
        monkeypatch.setenv("AGENTORCH_STRUCTURED_OUTPUT", "function_calling")
        assert main(["run", GOAL, "--plain"]) == EXIT_OK
    methods = [
        (r.body.get("response_format") or {"type": "tool"})["type"]
        for r in server.requests
        if r.script_key == PLANNER
    ]
    assert methods == ["json_schema", "json_object", "tool"]


def test_the_documented_llama_cpp_settings_send_max_tokens_and_take_json_mode() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    section = page[page.index("## Local models") :]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    script = {
        PLANNER: [{"subtasks": [{"id": "w", "description": "Write.", "agent": "writer"}]}],
        specialist_key("writer"): ["Tea is good."],
        CRITIC: [{"decision": "accept"}],
        SYNTHESIZER: ["Tea is good."],
    }
    with OpenAIServer(script, quirks=LLAMA_CPP_QUIRKS) as server:
        scope: dict[str, Any] = {}
        exec(compile(example.replace("http://127.0.0.1:8080/v1", server.base_url), "README", "exec"), scope)
        result = scope["team"].run("Write about tea.")
        server.assert_complete()
    assert result.status == "completed", result.error
    assert all(b["max_tokens"] == 512 and "max_completion_tokens" not in b for b in server.chat_requests)
    plan_request = next(r.body for r in server.requests if r.script_key == PLANNER)
    assert _agent_enum(plan_request["response_format"]["schema"]) == ["writer"]


def test_a_timeout_retry_does_not_give_the_planner_more_repairs_than_plan_retries() -> None:
    """plan_retries=1: two answers in all. The second attempt's call times out once and is
    retried; its retry's answer is the last one the planner may give."""
    bad = {"subtasks": [dict(PLAN["subtasks"][0], agent="intern")]}
    lane = iter([bad, Fault(hang=3), bad, PLAN])
    with OpenAIServer(research_script(planner=lambda body: next(lane))) as server:
        team = http_team(server, plan_retries=1, model_timeout=1)
        with pytest.raises(PlanError, match="plan_retries=1"):
            team.run(GOAL)
    assert calls_by_role(server)["planner"] == 3  # bad, the timed-out call, bad: never the plan


def test_openai_json_schema_stays_strict_and_carries_the_team_schema() -> None:
    with OpenAIServer(research_script()) as server:  # rejects schemas strict mode would refuse
        result = http_team(server).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    body = next(r.body for r in server.requests if r.script_key == PLANNER)
    spec = body["response_format"]["json_schema"]
    assert spec["strict"] is True and sorted(_agent_enum(spec["schema"])) == sorted(AGENTS)
