"""Cascades of models, prices and money budgets, and routing hooks, on scripted models."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import RetryPolicy

from agentorch import DEFAULT_PRICES, Agent, Budget, ConfigError, RunFailed, SubTask, Team
from agentorch.llms import Cascade, ScriptedChatModel, cascade
from tests.helpers import ACCEPT, call, plan, st

from .conftest import search

REVISE_W = {"decision": "revise", "feedback": "too vague", "revise": ["w"]}
PRICES = {"boss": (0.0, 0.0), "cheap": (1.0, 2.0), "strong": (15.0, 30.0)}
NO_RETRY = RetryPolicy(max_attempts=1)


def boss(planner: list[Any], critic: list[Any], synthesizer: list[Any] | None = None) -> ScriptedChatModel:
    """The planner, critic and synthesizer."""
    return ScriptedChatModel(
        {"planner": planner, "critic": critic, "synthesizer": synthesizer or ["the answer"]},
        model_name="boss",
    )


def writer_team(boss_model: ScriptedChatModel, writer_llm: Any, **kwargs: Any) -> Team:
    return Team(
        agents=[Agent(name="writer", role="Writes", llm=writer_llm)], llm=boss_model, prices=PRICES, **kwargs
    )


def test_a_revision_moves_the_sub_task_to_the_next_model_and_the_record_says_which() -> None:
    cheap = ScriptedChatModel({"writer": ["a vague draft"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["a precise draft"]}, model_name="strong")
    team = writer_team(boss([plan(st("w", "writer"))], [REVISE_W, ACCEPT]), cascade(cheap, strong))

    events = list(team.stream("Write it", thread_id="t"))
    result = team.result("t")

    assert result.status == "completed"
    assert result.results["w"].output == "a precise draft"
    assert [(h.model, h.sent_back) for h in result.history] == [("cheap", True), ("strong", False)]
    started = [(e["attempt"], e["model"]) for e in events if e["type"] == "subtask_started"]
    finished = [e["model"] for e in events if e["type"] == "subtask_finished"]
    assert started == [(1, "cheap"), (2, "strong")] and finished == ["cheap", "strong"]
    # the revision reached the strong model with the feedback; the cheap model's draft is not
    # its own to fix, so it is left out (a same-model revision sees its draft's opening)
    prompt = strong.calls[0].messages[-1].content
    assert "too vague" in prompt and "a vague draft" not in prompt
    # cost per role, agent and model, recorded under the team's prices
    cost = result.usage.cost()
    by_model = result.usage.by_model
    assert cost.by_model["cheap"] == pytest.approx(
        (by_model["cheap"].input_tokens * 1.0 + by_model["cheap"].output_tokens * 2.0) / 1e6
    )
    assert cost.by_model["strong"] > cost.by_model["cheap"] > 0
    assert cost.by_role["writer"] == pytest.approx(cost.by_model["cheap"] + cost.by_model["strong"])
    assert cost.by_role["planner"] == 0.0 and cost.total == pytest.approx(cost.by_role["writer"])
    assert result.usage.total.cost == pytest.approx(cost.total)
    # re-pricing the same tokens under another table gives the same answer per model
    assert result.usage.cost(PRICES).by_model == pytest.approx(cost.by_model)


def test_a_failed_model_hands_the_same_attempt_run_to_the_next_model() -> None:
    cheap = ScriptedChatModel({"writer": [ValueError("bad request")]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["done by strong"]}, model_name="strong")
    team = writer_team(boss([plan(st("w", "writer"))], [ACCEPT]), cascade(cheap, strong), retry=NO_RETRY)

    events = list(team.stream("Write it", thread_id="t"))
    result = team.result("t")

    assert result.status == "completed" and result.results["w"].model == "strong"
    assert [(h.attempts, h.model, h.status) for h in result.history] == [
        (1, "cheap", "failed"),
        (2, "strong", "done"),
    ]
    assert "bad request" in result.history[0].error
    assert [(e["result"].attempts, e["status"]) for e in events if e["type"] == "subtask_finished"] == [
        (1, "failed"),
        (2, "done"),
    ]


def test_an_agent_with_tools_starts_over_on_the_next_model_after_a_failure() -> None:
    boss_model = boss([plan(st("r", "researcher"))], [ACCEPT])
    cheap = ScriptedChatModel(
        {"researcher": [call("search", query="x"), ValueError("cheap broke")]}, model_name="cheap"
    )
    strong = ScriptedChatModel({"researcher": [call("search", query="y"), "found it"]}, model_name="strong")
    team = Team(
        agents=[Agent(name="researcher", role="Finds", tools=[search], llm=cascade(cheap, strong))],
        llm=boss_model,
        retry=NO_RETRY,
    )

    result = team.run("Find it")

    assert result.status == "completed" and result.results["r"].output == "found it"
    assert [(h.model, h.status, [c.args["query"] for c in h.tool_calls]) for h in result.history] == [
        ("cheap", "failed", ["x"]),
        ("strong", "done", ["y"]),
    ]
    # the strong model starts from the task, not from the cheap model's conversation
    assert [type(m).__name__ for m in strong.calls[0].messages] == ["SystemMessage", "HumanMessage"]
    assert result.usage.by_role["researcher"].calls == 3  # answered calls: cheap 1, strong 2


def test_a_sub_task_that_runs_out_of_models_fails_and_the_run_says_which() -> None:
    cheap = ScriptedChatModel({"writer": [ValueError("cheap broke")]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": [ValueError("strong broke")]}, model_name="strong")
    team = writer_team(boss([plan(st("w", "writer"))], [ACCEPT]), cascade(cheap, strong), retry=NO_RETRY)

    result = team.run("Write it")

    assert result.status == "failed"
    assert "`w`" in result.error and "ran out of models" in result.error
    assert [h.model for h in result.history] == ["cheap", "strong", ""]
    assert result.results["w"].status == "failed"
    assert "cascade(cheap, strong)" in result.results["w"].error


def test_our_own_errors_fail_the_run_instead_of_moving_up_the_cascade() -> None:
    cheap = ScriptedChatModel({"writer": []}, model_name="cheap")  # a script that ran out
    strong = ScriptedChatModel({"writer": ["unused"]}, model_name="strong")
    team = writer_team(boss([plan(st("w", "writer"))], [ACCEPT]), cascade(cheap, strong))
    with pytest.raises(RunFailed, match=r"Sub-task `w`.*ran out of responses"):
        team.run("Write it")
    assert strong.calls == []


def test_revisions_past_the_strongest_model_run_out_of_models() -> None:
    cheap = ScriptedChatModel({"writer": ["v1"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["v2"]}, model_name="strong")
    team = writer_team(
        boss([plan(st("w", "writer"))], [REVISE_W, REVISE_W, ACCEPT]), cascade(cheap, strong), max_rounds=3
    )

    result = team.run("Write it")

    assert result.status == "failed" and "ran out of models" in result.error
    assert [h.model for h in result.history] == ["cheap", "strong", ""]
    assert result.history[-1].usage.calls == 0


def test_a_dependent_re_run_by_a_revision_upstream_keeps_its_model() -> None:
    cheap = ScriptedChatModel({"writer:w": ["v1"], "writer:x": ["x1", "x2"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer:w": ["v2"]}, model_name="strong")
    team = writer_team(
        boss([plan(st("w", "writer"), st("x", "writer", "w"))], [REVISE_W, ACCEPT]), cascade(cheap, strong)
    )

    result = team.run("Write it")

    assert result.status == "completed"
    assert [(h.subtask_id, h.model) for h in result.history] == [
        ("w", "cheap"),
        ("x", "cheap"),
        ("w", "strong"),
        ("x", "cheap"),
    ]


def test_effort_high_starts_at_the_strongest_model() -> None:
    cheap = ScriptedChatModel({"writer": ["easy part"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["hard part"]}, model_name="strong")
    hard = {**st("h", "writer"), "effort": "high"}
    planner = boss([plan(st("e", "writer"), hard)], [ACCEPT])
    team = writer_team(planner, cascade(cheap, strong))

    result = team.run("Do both")

    assert {k: r.model for k, r in result.results.items()} == {"e": "cheap", "h": "strong"}
    assert [c.subtask_id for c in strong.calls] == ["h"]
    assert result.plan is not None and result.plan.subtask("h").effort == "high"
    assert '"high"' in planner.calls_for("planner")[0].messages[0].text  # the planner is told


def test_a_team_wide_cascade_gives_the_other_roles_its_first_model() -> None:
    script = {
        "planner": [plan(st("w", "writer"))],
        "writer": ["draft"],
        "critic": [ACCEPT],
        "synthesizer": ["answer"],
    }
    cheap = ScriptedChatModel(script, model_name="cheap")
    strong = ScriptedChatModel({}, model_name="strong")
    team = Team(agents=[Agent(name="writer", role="Writes")], llm=cascade(cheap, strong))

    result = team.run("Write it")

    assert result.status == "completed" and {s.model for s in result.steps} == {"cheap"}
    assert team.model_for("planner") is cheap and strong.calls == []


def test_a_routing_hook_picks_the_model_of_every_attempt() -> None:
    cheap = ScriptedChatModel({"writer": ["memo"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["contract"]}, model_name="strong")
    seen: list[tuple[str, int, int]] = []

    def route(subtask: SubTask, attempt: int, history: list[Any]) -> Any:
        seen.append((subtask.id, attempt, len(history)))
        return strong if "legal" in subtask.description else cheap

    p = plan(st("m", "writer", description="a memo"), st("c", "writer", description="legal terms"))
    team = writer_team(boss([p], [ACCEPT]), cheap, route_model=route)

    result = team.run("Both")

    assert {k: r.model for k, r in result.results.items()} == {"m": "cheap", "c": "strong"}
    assert sorted(seen) == [("c", 1, 0), ("m", 1, 0)]


def test_a_routing_hook_can_fall_back_to_a_cascade_and_give_up() -> None:
    cheap = ScriptedChatModel({"writer": ["v1"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["v2"]}, model_name="strong")
    ladder = cascade(cheap, strong)

    def cheap_only_once(subtask: SubTask, attempt: int, history: list[Any]) -> Any:
        return None if attempt > 1 else ladder.route(subtask, attempt, history)

    team = writer_team(
        boss([plan(st("w", "writer"))], [REVISE_W, ACCEPT]), cheap, route_model=cheap_only_once
    )
    result = team.run("Write it")

    assert result.status == "failed"
    assert "`route_model` returned no model for attempt 2" in result.results["w"].error
    assert strong.calls == []


def test_a_routing_hook_that_offers_the_failed_model_again_fails_the_run() -> None:
    cheap = ScriptedChatModel({"writer": [ValueError("bad request"), "unused"]}, model_name="cheap")
    team = writer_team(
        boss([plan(st("w", "writer"))], [ACCEPT]), cheap, retry=NO_RETRY, route_model=lambda s, a, h: cheap
    )
    with pytest.raises(RunFailed, match=r"Sub-task `w`.*bad request") as info:
        team.run("Write it")
    assert len(cheap.calls) == 1
    assert info.value.result.usage.by_role.get("writer") is None  # the failed call answered nothing


def test_a_routing_hook_that_returns_something_else_is_a_config_error() -> None:
    team = writer_team(
        boss([plan(st("w", "writer"))], [ACCEPT]),
        ScriptedChatModel({}, model_name="cheap"),
        route_model=lambda s, a, h: "gpt-4o",
    )
    with pytest.raises(ConfigError, match="`route_model` must return a chat model"):
        team.run("Write it")


def test_a_money_budget_stops_the_run_and_skips_parallel_sub_tasks() -> None:
    # a and b run in parallel and spend the budget; c and d (parallel, after a) are skipped
    worker = ScriptedChatModel(
        {"writer:a": ["A done"], "writer:b": ["B done"]}, model_name="cheap", latency=0.05
    )
    p = plan(st("a", "writer"), st("b", "writer"), st("c", "writer", "a"), st("d", "writer", "a"))
    team = Team(
        agents=[Agent(name="writer", role="Writes", llm=worker)],
        llm=boss([p], [], []),
        prices={"boss": (0, 0), "cheap": (5000, 5000)},
        budget=Budget(max_cost=0.01, check_quote=False),  # the stop mid-run, not the quote
    )

    result = team.run("Four things")

    assert result.status == "budget_exhausted" and "max_cost=0.01" in result.error
    assert {k: r.status for k, r in result.results.items()} == {
        "a": "done",
        "b": "done",
        "c": "skipped",
        "d": "skipped",
    }
    assert "A done" in result.answer and "B done" in result.answer
    assert result.usage.cost().total >= 0.01
    assert sorted(c.subtask_id for c in worker.calls) == ["a", "b"]


def test_a_money_budget_needs_a_price_for_every_model() -> None:
    unpriced = ScriptedChatModel({}, model_name="my-local-llama")
    with pytest.raises(ConfigError, match=r"no price for `my-local-llama`.*prices="):
        Team(agents=[Agent(name="writer", role="Writes")], llm=unpriced, budget=Budget(max_cost=1))
    # the shipped table prices OpenAI's models (dated snapshots too); `prices=` adds others
    Team(
        agents=[Agent(name="writer", role="Writes")],
        budget=Budget(max_cost=1),
        llm=ScriptedChatModel({}, model_name="gpt-4o-mini-2024-07-18"),
    )
    Team(
        agents=[Agent(name="writer", role="Writes")],
        llm=unpriced,
        budget=Budget(max_cost=1),
        prices={"my-local-llama": (0, 0)},
    )
    assert DEFAULT_PRICES["gpt-4o"].output > DEFAULT_PRICES["gpt-4o-mini"].output


def test_a_model_first_seen_at_run_time_without_a_price_is_a_config_error() -> None:
    stray = ScriptedChatModel({"writer": ["x"]}, model_name="stray")
    team = writer_team(
        boss([plan(st("w", "writer"))], [ACCEPT]),
        ScriptedChatModel({}, model_name="cheap"),
        budget=Budget(max_cost=1),
        route_model=lambda s, a, h: stray,
    )
    with pytest.raises(ConfigError, match=r"`stray` has none"):
        team.run("Write it")


def test_prices_override_the_shipped_table() -> None:
    script = {"planner": [plan(st("w", "writer"))], "writer": ["x"], "critic": [ACCEPT], "synthesizer": ["y"]}
    llm = ScriptedChatModel(script, model_name="gpt-4o")
    team = Team(agents=[Agent(name="writer", role="Writes")], llm=llm, prices={"gpt-4o": (0, 0)})
    assert team.run("Write it").usage.cost().total == 0.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: cascade(), "at least one chat model"),
        (lambda: cascade("gpt-4o"), "member 0: expected a LangChain chat model"),
        (lambda: cascade(cascade(ScriptedChatModel({}))), "member 0 is itself a cascade"),
        (
            lambda: Team(agents=[Agent(name="w", role="r")], llm=ScriptedChatModel({}), route_model="cheap"),
            "`route_model` must be a function",
        ),
    ],
)
def test_bad_cascades_and_hooks_are_config_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_a_cascade_is_a_frozen_value() -> None:
    c = cascade(ScriptedChatModel({}, model_name="a"), ScriptedChatModel({}, model_name="b"))
    assert isinstance(c, Cascade) and repr(c) == "cascade(a, b)" and len(c.models) == 2
    with pytest.raises(AttributeError):
        c.models = ()  # type: ignore[misc]


def test_the_live_view_usage_table_and_report_show_models_and_recorded_costs() -> None:
    import io

    from rich.console import Console

    from agentorch._render.view import LiveView, usage_table

    cheap = ScriptedChatModel({"writer": ["a vague draft"]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["a precise draft"]}, model_name="strong")
    team = writer_team(boss([plan(st("w", "writer"))], [REVISE_W, ACCEPT]), cascade(cheap, strong))
    events = list(team.stream("Write it", thread_id="t"))
    result = team.result("t")
    cost = result.usage.cost()

    view = LiveView(Console(file=io.StringIO()))
    for ev in events:
        view.board.apply(ev)
    assert view.board.rows["w"].model == "strong" and view.board.rows["w"].attempts == 2
    assert view.board.cost == pytest.approx(cost.total)

    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(usage_table(result))
    table = out.getvalue()
    assert f"${cost.by_role['writer']:.4f}" in table and f"${cost.by_model['strong']:.4f}" in table

    assert "<code>cheap → strong</code>" in team._repr_html_()
    assert team.models_for("writer") == (cheap, strong)
    page = result.to_html()
    assert "<code>cheap</code>" in page and "<code>strong</code>" in page
    assert f"${cost.total:.4f}" in page


def test_docstring_examples_run() -> None:
    import doctest

    import agentorch._models as module

    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


def test_a_resumed_run_counts_the_money_spent_before_the_pause() -> None:
    planner = ScriptedChatModel({"planner": [plan(st("w", "writer"))]}, model_name="boss")
    writer = ScriptedChatModel({"writer": ["never asked"]}, model_name="cheap")
    team = Team(
        agents=[Agent(name="writer", role="Writes", llm=writer)],
        llm=planner,
        prices={"boss": (1000, 1000), "cheap": (0, 0)},
        budget=Budget(max_cost=0.05, check_quote=False),  # the count after resume, not the quote
        approve_plan=True,
    )
    paused = team.run("Write it", thread_id="t")
    assert paused.status == "interrupted" and paused.usage.total.cost >= 0.05
    result = team.resume("t", approve=True)
    assert result.status == "budget_exhausted" and "max_cost=0.05" in result.error
    assert writer.calls == [] and result.results["w"].status == "skipped"


def test_a_budget_stop_after_a_failed_model_reports_the_budget_not_the_earlier_failure() -> None:
    # the cheap model fails (answered nothing), the budget then stops the move to the strong one:
    # the run's error is the budget stop of the last attempt, not the first attempt's failure
    cheap = ScriptedChatModel({"writer": [ValueError("bad request")]}, model_name="cheap")
    strong = ScriptedChatModel({"writer": ["never asked"]}, model_name="strong")
    team = writer_team(
        boss([plan(st("w", "writer"))], [ACCEPT]),
        cascade(cheap, strong),
        retry=NO_RETRY,
        budget=Budget(max_llm_calls=2),
    )
    result = team.run("Write it", thread_id="t")
    assert result.status == "budget_exhausted"
    assert [(h.model, h.status) for h in result.history] == [("cheap", "failed"), ("strong", "skipped")]
    assert result.error.startswith("budget exhausted: max_llm_calls=2") and "bad request" not in result.error
    assert strong.calls == []
