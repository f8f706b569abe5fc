"""Bad input gets clear errors; plan validation and dispatch order hold for random DAGs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as s

import agentorch
from agentorch import (
    Agent,
    AgentorchError,
    Budget,
    ConfigError,
    Plan,
    ScriptExhausted,
    SubTask,
    Team,
    plan_problems,
    ready_subtasks,
)
from agentorch.llms import ScriptedChatModel

from .conftest import search

LLM = ScriptedChatModel({"*": []})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Team(agents=[], llm=LLM), "at least one agent"),
        (
            lambda: Team(agents=[Agent(name="a", role="r"), Agent(name="a", role="r")], llm=LLM),
            "unique; repeated: a",
        ),
        (lambda: Agent(name="bad name!", role="r"), "Invalid agent name"),
        (lambda: Agent(name="planner", role="r"), "reserved"),
        (lambda: Agent(name="a", role="  "), "non-empty `role`"),
        (lambda: Agent(name="a", role="r", tools=[print]), "is not a tool"),
        (lambda: Agent(name="a", role="r", tools=search), "must be a list of tools"),
        (
            lambda: Team(agents=[Agent(name="a", role="r")], llm=LLM, max_rounds=0),
            "`max_rounds` must be an integer >= 1",
        ),
        (lambda: Team(agents=[Agent(name="a", role="r")]), "No model for"),
        (lambda: Team(agents=[Agent(name="a", role="r")], llm=LLM, llms={"ghost": LLM}), "unknown roles"),
        (
            lambda: Team(agents=[Agent(name="a", role="r")], llm=LLM, budget={"max_tokens": 1}),
            "agentorch.Budget",
        ),
        (
            lambda: Team(agents=[Agent(name="a", role="r")], llm=LLM, prompts={"plannr": "x"}),
            "Unknown prompt names",
        ),
        (
            lambda: Team(agents=[Agent(name="a", role="r")], llm=LLM, checkpointer=42),
            "checkpoint saver",
        ),
    ],
)
def test_bad_team_configuration_raises_a_clear_error(build, message) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


@pytest.mark.parametrize("goal", ["", "   ", None, 42])
def test_empty_or_non_string_goal_is_refused(goal) -> None:
    team = Team(agents=[Agent(name="a", role="r")], llm=LLM)
    with pytest.raises(ConfigError, match="non-empty string"):
        team.run(goal)


def test_budget_validates_its_limits() -> None:
    with pytest.raises(ValueError):
        Budget(max_llm_calls=0)


def test_scripted_model_errors_name_the_role_and_count() -> None:
    m = ScriptedChatModel({"writer": ["one"]})
    cfg = {"metadata": {"agentorch_role": "writer"}}
    assert m.invoke("x", config=cfg).content == "one"
    with pytest.raises(ScriptExhausted, match="role `writer`: all 1 were consumed"):
        m.invoke("x", config=cfg)
    with pytest.raises(ScriptExhausted, match="no script for role `critic`"):
        m.invoke("x", config={"metadata": {"agentorch_role": "critic"}})
    with pytest.raises(ConfigError, match="list of responses"):
        ScriptedChatModel({"writer": "just a string"})


def test_scripted_model_injects_faults_reports_usage_and_tracks_completion() -> None:
    m = ScriptedChatModel({"w": [RuntimeError("boom"), "ok", "unused"]})
    cfg = {"metadata": {"agentorch_role": "w"}}
    with pytest.raises(RuntimeError, match="boom"):
        m.invoke("x", config=cfg)
    msg = m.invoke("hello there", config=cfg)
    assert msg.usage_metadata["total_tokens"] > 0
    assert [c.error is None for c in m.calls] == [False, True]
    with pytest.raises(AssertionError, match="never used"):
        m.assert_complete()


def test_exported_names_are_pinned() -> None:
    assert sorted(agentorch.__all__) == sorted(
        [
            "DEFAULT_PRICES",
            "DEFAULT_PRICES_DATE",
            "Agent",
            "AgentorchError",
            "Budget",
            "ConfigError",
            "Cost",
            "CriticError",
            "CriticVerdict",
            "Event",
            "Quote",
            "Final",
            "Interrupted",
            "ModelPrice",
            "ModelRequestsBlocked",
            "PendingInterrupt",
            "Plan",
            "PlanCreated",
            "PlanError",
            "Replanned",
            "RemoteAgentError",
            "RunContext",
            "RunFailed",
            "RunResult",
            "RunStatus",
            "ScriptExhausted",
            "StepRecord",
            "SubTask",
            "SubTaskResult",
            "SubTaskStatus",
            "SubtaskFinished",
            "SubtaskStarted",
            "Summarize",
            "Team",
            "TeamMemory",
            "TeamRunSummary",
            "Token",
            "TokenUsage",
            "ToolCallRecord",
            "ToolOutcome",
            "Usage",
            "Verdict",
            "a2a_agent",
            "a2a_agent_sync",
            "a2a_app",
            "agui_app",
            "mcp_server",
            "mcp_tools",
            "mcp_tools_sync",
            "plan_problems",
            "ready_subtasks",
            "requires_approval",
            "tool",
            "tool_call_key",
            "__version__",
        ]
    )
    for name in agentorch.__all__:
        assert getattr(agentorch, name) is not None
    assert sorted(agentorch.llms.__all__) == sorted(
        [
            "Cascade",
            "ModelNotConfigured",
            "Response",
            "RouteModel",
            "Script",
            "ScriptedCall",
            "ScriptedChatModel",
            "cascade",
            "from_env",
            "model_configured",
            "models_from_env",
            "requests_blocked",
            "role_env_var",
            "structured_output_from_env",
        ]
    )
    assert issubclass(ConfigError, AgentorchError) and issubclass(ConfigError, ValueError)


# -- properties of plan validation and dispatch order on random DAGs ------------------------


@s.composite
def dags(draw: s.DrawFn) -> Plan:
    n = draw(s.integers(min_value=1, max_value=25))
    subtasks = []
    for i in range(n):
        deps = (
            draw(s.lists(s.integers(min_value=0, max_value=max(0, i - 1)), max_size=3, unique=True))
            if i
            else []
        )
        subtasks.append(
            SubTask(id=f"t{i}", description=f"task {i}", agent="a", depends_on=[f"t{d}" for d in deps])
        )
    order = draw(s.permutations(subtasks))
    return Plan(subtasks=list(order))


@given(dags())
@settings(max_examples=150, deadline=None)
def test_random_dags_are_valid_and_waves_respect_dependencies(plan: Plan) -> None:
    assert plan_problems(plan, ["a"], max_subtasks=100) == []
    done: list[str] = []
    waves = 0
    while len(done) < len(plan.subtasks):
        wave = ready_subtasks(plan, done)
        assert wave, "dispatch stalled on a valid DAG"
        for st in wave:
            assert all(d in done for d in st.depends_on)
        done.extend(st.id for st in wave)
        waves += 1
    assert sorted(done) == sorted(st.id for st in plan.subtasks)  # each exactly once
    assert waves <= len(plan.subtasks)


@given(dags(), s.data())
@settings(max_examples=150, deadline=None)
def test_adding_a_back_edge_is_reported_as_a_cycle(plan: Plan, data: s.DataObject) -> None:
    with_deps = [st for st in plan.subtasks if st.depends_on]
    if not with_deps:
        return
    child = data.draw(s.sampled_from(with_deps))
    parent_id = child.depends_on[0]
    subtasks = [
        st.model_copy(update={"depends_on": [*st.depends_on, child.id]}) if st.id == parent_id else st
        for st in plan.subtasks
    ]
    problems = plan_problems(Plan(subtasks=subtasks), ["a"], max_subtasks=100)
    assert any("cycle" in p for p in problems)


@given(
    s.lists(
        s.fixed_dictionaries(
            {
                "id": s.text(max_size=4),
                "description": s.text(max_size=5),
                "agent": s.sampled_from(["a", "b", "ghost"]),
                "depends_on": s.lists(s.text(max_size=4), max_size=3),
            }
        ),
        max_size=6,
    )
)
@settings(max_examples=200, deadline=None)
def test_plan_problems_never_crash_on_arbitrary_plans(raw: list[dict]) -> None:
    plan = Plan.model_validate({"subtasks": raw})
    problems = plan_problems(plan, ["a", "b"], max_subtasks=5)
    assert all(isinstance(p, str) and p for p in problems)
    if not raw:
        assert problems


def test_plan_and_verdict_json_schemas_are_pydantics_and_each_call_gets_its_own_copy() -> None:
    # the schemas are cached (LangChain asks for them on every structured call); a caller
    # editing its copy, as schema converters do, must not change what the next caller gets
    from pydantic import BaseModel

    class Fresh(BaseModel):  # pydantic's own generation, uncached, for comparison
        subtasks: list[agentorch.SubTask]
        rationale: str = ""

    first = agentorch.Plan.model_json_schema()
    first["properties"].clear()
    second = agentorch.Plan.model_json_schema()
    assert set(second["properties"]) == set(Fresh.model_json_schema()["properties"])
    assert second["$defs"]["SubTask"] == Fresh.model_json_schema()["$defs"]["SubTask"]
    assert agentorch.Verdict.model_json_schema(mode="serialization")["title"] == "Verdict"
