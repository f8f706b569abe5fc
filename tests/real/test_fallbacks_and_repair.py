"""Fallback models and structured-output repair, on the real `ChatOpenAI` over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from agentorch import Agent, ConfigError, PlanError, Team
from agentorch.llms import from_env
from agentorch.testing._openai_server import Fault, OpenAIServer, Reply

from .conftest import (
    ANSWER_MARK,
    CRITIC,
    PLAN,
    PLANNER,
    calls_by_role,
    critic,
    env_for,
    faults_then,
    http_team,
    research_script,
)

GOAL = "Write a one-page brief on solid-state batteries"


def primary_down(script: dict[str, Any]) -> dict[str, Any]:
    """Every lane answers 500 to model "primary" and normally to any other model."""

    def wrap(lane: Callable[[dict[str, Any]], Reply]) -> Callable[[dict[str, Any]], Reply]:
        return lambda body: Fault(status=500) if body["model"] == "primary" else lane(body)

    return {key: wrap(lane) for key, lane in script.items()}


def test_with_fallbacks_model_serves_every_role_when_the_primary_is_down() -> None:
    with OpenAIServer(primary_down(research_script())) as server:
        primary = from_env(env=env_for(server, AGENTORCH_MAX_RETRIES="1"))
        backup = from_env(env=env_for(server, AGENTORCH_MODEL="backup"))
        result = http_team(server, llm=primary.with_fallbacks([backup])).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    assert result.answer.startswith(ANSWER_MARK)
    # planner/critic (with_structured_output) and specialists (bind_tools) all fell back
    assert set(result.usage.by_model) == {"backup"}
    models = [body["model"] for body in server.chat_requests]
    assert models.count("primary") == 2 * models.count("backup")  # 1 try + 1 SDK retry each
    assert result.results["tech"].tool_calls[0].executed


def test_fallbacks_limited_to_api_errors_leave_bad_json_to_repair() -> None:
    """`exceptions_to_handle=(openai.APIError,)`: invalid output is repaired on the primary."""
    bad_plan = {"subtasks": [{"id": "tech", "description": "x"}]}  # no `agent`
    script = research_script(planner=faults_then(lambda body: PLAN, bad_plan))
    with OpenAIServer(script) as server:
        primary = from_env(env=env_for(server))
        backup = from_env(env=env_for(server, AGENTORCH_MODEL="backup"))
        llm = primary.with_fallbacks([backup], exceptions_to_handle=(openai.APIError,))
        result = http_team(server, llm=llm).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    assert set(result.usage.by_model) == {"primary"}
    plans = [r.body for r in server.requests if r.script_key == PLANNER]
    assert [b["model"] for b in plans] == ["primary", "primary"]
    assert "Your previous answer was rejected" in plans[1]["messages"][-1]["content"]


@pytest.mark.parametrize("method", [None, "function_calling"])
def test_invalid_structured_output_is_repaired(method: str | None) -> None:
    """A plan that breaks the schema, then one naming an unknown agent, then a good one;
    a critic verdict with an unknown decision, then a good one."""
    bad_schema = {"subtasks": [{"id": "tech", "description": "Research"}]}  # no `agent`
    unknown_agent = {"subtasks": [dict(PLAN["subtasks"][0], agent="intern")]}
    script = research_script(
        planner=[bad_schema, unknown_agent, PLAN],
        critic=faults_then(critic, {"decision": "maybe", "revise": [], "feedback": ""}),
    )
    with OpenAIServer(script) as server:
        result = http_team(server, structured_output_method=method).run(GOAL)
        server.assert_complete()
    assert result.status == "completed", result.error
    assert len(result.plans) == 1 and result.plan.subtasks[0].agent == "researcher"

    plans = [r.body for r in server.requests if r.script_key == PLANNER]
    assert len(plans) == 3
    if method == "function_calling":
        assert "response_format" not in plans[0] and plans[0]["tool_choice"]["type"] == "function"
    else:
        assert plans[0]["response_format"]["type"] == "json_schema"
    second, third = (b["messages"][-1]["content"] for b in plans[1:])
    assert "did not match the required format" in second and "agent" in second
    assert "intern" in third and "Your previous answer was rejected" in third
    critics = [r.body for r in server.requests if r.script_key == CRITIC]
    assert len(critics) == 3 and "maybe" in critics[1]["messages"][-1]["content"]
    assert calls_by_role(server)["planner"] == 3


@pytest.mark.parametrize("method", [None, "function_calling"])
def test_a_plan_that_never_validates_fails_with_plan_error(method: str | None) -> None:
    always_bad = {"subtasks": [dict(PLAN["subtasks"][0], agent="intern")]}
    with OpenAIServer(research_script(planner=lambda body: always_bad)) as server:
        team = http_team(server, structured_output_method=method, plan_retries=1)
        with pytest.raises(PlanError) as info:
            team.run(GOAL)
    assert calls_by_role(server)["planner"] == 2
    assert any("intern" in p for p in info.value.problems)
    assert "(repairs allowed: plan_retries=1)" in str(info.value)


def test_team_accepts_only_chat_models_and_plain_fallback_chains() -> None:
    model = from_env(env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "AGENTORCH_MODEL": "m"})
    agents = [Agent(name="writer", role="Writes")]
    Team(agents=agents, llm=model.with_fallbacks([model]))  # accepted
    with pytest.raises(ConfigError, match="with_fallbacks"):
        Team(agents=agents, llm=model.bind_tools([]).with_fallbacks([model]))
    with pytest.raises(ConfigError, match="chat model"):
        Team(agents=agents, llm=model.bind_tools([]))
    with pytest.raises(ConfigError, match="structured_output_method"):
        Team(agents=agents, llm=model, structured_output_method="xml")
    with pytest.raises(ConfigError, match=r"Agent `writer`: `llm`"):
        Agent(name="writer", role="Writes", llm=json)  # type: ignore[arg-type]
