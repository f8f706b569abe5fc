"""Scenario tests of a whole team run with the scripted model."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.graph.state import CompiledStateGraph

from agentorch import Budget, PlanError, RunFailed
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st

from .conftest import CALLS, team_of


def test_quick_start_run_returns_answer_plan_results_and_usage() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("facts", "researcher"), st("brief", "writer", "facts"))],
            "researcher": [call("search", query="solid-state batteries"), "Solid electrolytes; 2027."],
            "writer": ["A one-page brief."],
            "critic": [ACCEPT],
            "synthesizer": ["Final brief on solid-state batteries."],
        }
    )
    team = team_of(llm, max_rounds=3)
    result = team.run("Write a one-page brief on solid-state batteries")

    assert result.status == "completed"
    assert result.answer == "Final brief on solid-state batteries."
    assert [s.id for s in result.plan.subtasks] == ["facts", "brief"]
    assert result.results["facts"].output == "Solid electrolytes; 2027."
    assert result.results["facts"].tool_calls[0].name == "search"
    assert result.results["facts"].tool_calls[0].executed
    assert result.results["brief"].agent == "writer"
    assert result.rounds == 1
    assert set(result.usage.by_role) == {"planner", "researcher", "writer", "critic", "synthesizer"}
    assert result.usage.by_role["researcher"].calls == 2
    assert result.usage.total.calls == 6
    assert result.usage.total.total_tokens > 0
    assert CALLS["search"] == [{"query": "solid-state batteries"}]
    llm.assert_complete()


def test_dependent_sees_dependency_output_as_delimited_data() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("facts", "researcher"), st("brief", "writer", "facts"))],
            "researcher": ["FACT-42"],
            "writer": ["brief"],
            "critic": [ACCEPT],
            "synthesizer": ["done"],
        }
    )
    team_of(llm).run("goal")
    writer_call = llm.calls_for("writer")[0]
    system, human = writer_call.messages[0].content, writer_call.messages[1].content
    assert "FACT-42" in human and '<data source="subtask:facts"' in human
    assert "FACT-42" not in system


def test_every_llm_call_carries_its_role_and_subtask() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "writer"))],
            "researcher": ["A"],
            "writer": ["B"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team_of(llm).run("goal")
    roles = sorted((c.role, c.subtask_id) for c in llm.calls)
    assert roles == [
        ("critic", None),
        ("planner", None),
        ("researcher", "a"),
        ("synthesizer", None),
        ("writer", "b"),
    ]


def test_critic_false_skips_review() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": ["A"],
            "synthesizer": ["answer"],
        }
    )
    result = team_of(llm, critic=False).run("goal")
    assert result.status == "completed" and result.verdicts == []
    assert not llm.calls_for("critic")


def test_revise_reruns_named_subtasks_and_their_dependents_only() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "researcher"), st("c", "writer", "a"))],
            "researcher:a": ["A1", "A2"],
            "researcher:b": ["B1"],
            "writer": ["C1", "C2"],
            "critic": [{"decision": "revise", "revise": ["a"], "feedback": "cite sources"}, ACCEPT],
            "synthesizer": ["final"],
        }
    )
    result = team_of(llm).run("goal")
    assert result.status == "completed" and result.rounds == 2
    assert result.results["a"].output == "A2" and result.results["a"].attempts == 2
    assert result.results["b"].output == "B1" and result.results["b"].attempts == 1
    assert result.results["c"].output == "C2"
    assert [c.subtask_id for c in llm.calls_for("researcher")].count("b") == 1
    second_a = [c for c in llm.calls_for("researcher") if c.subtask_id == "a"][1]
    assert "cite sources" in second_a.messages[1].content  # the feedback reached the agent
    assert "A1" in second_a.messages[1].content  # with its previous attempt
    assert [h.subtask_id for h in result.history].count("a") == 2
    # the team roles' calls are on the record too, timed, in order
    assert [(s.role, s.round) for s in result.steps] == [
        ("planner", 1),
        ("critic", 1),
        ("critic", 2),
        ("synthesizer", 2),
    ]
    assert all(s.started_at <= s.finished_at for s in result.steps)
    assert [s.started_at for s in result.steps] == sorted(s.started_at for s in result.steps)
    last_attempt = max(h.finished_at for h in result.history)
    assert result.steps[-2].started_at >= last_attempt  # the critic reviewed finished work
    assert (
        sum(s.usage.calls for s in result.steps if s.role == "critic") == result.usage.by_role["critic"].calls
    )


def test_replan_keeps_unchanged_finished_subtasks() -> None:
    first = plan(st("a", "researcher"), st("b", "writer"))
    second = plan(st("a", "researcher"), st("d", "writer", "a", description="new angle"))
    llm = ScriptedChatModel(
        {
            "planner": [first, second],
            "researcher": ["A"],
            "writer:b": ["B"],
            "writer:d": ["D"],
            "critic": [{"decision": "replan", "feedback": "wrong approach"}, ACCEPT],
            "synthesizer": ["final"],
        }
    )
    events = []
    team = team_of(llm)
    for ev in team.stream("goal", thread_id="t-replan"):
        events.append(ev)
    result = team.result("t-replan")
    assert result.status == "completed" and result.rounds == 2
    assert set(result.results) == {"a", "d"}
    assert len(llm.calls_for("researcher")) == 1  # "a" kept, not re-run
    assert [p.subtasks[-1].id for p in result.plans] == ["b", "d"]
    assert "wrong approach" in llm.calls_for("planner")[1].messages[1].content
    kinds = [e["type"] for e in events]
    assert kinds.count("replanned") == 1 and kinds[0] == "plan_created"


def test_max_rounds_ends_cleanly_with_best_answer() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": ["v1", "v2"],
            "critic": [{"decision": "revise", "revise": ["a"], "feedback": "more"}] * 2,
            "synthesizer": ["best effort"],
        }
    )
    result = team_of(llm, max_rounds=2).run("goal")
    assert result.status == "max_rounds"
    assert result.answer == "best effort"
    assert result.rounds == 2 and len(result.verdicts) == 2
    assert "max_rounds=2" in result.error


def test_cycle_in_plan_is_repaired_by_the_planner() -> None:
    cyclic = plan(st("a", "researcher", "b"), st("b", "writer", "a"))
    llm = ScriptedChatModel(
        {
            "planner": [cyclic, plan(st("a", "researcher"), st("b", "writer", "a"))],
            "researcher": ["A"],
            "writer": ["B"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm).run("goal")
    assert result.status == "completed"
    repair_prompt = llm.calls_for("planner")[1].messages[-1].content
    assert "cycle" in repair_prompt and "`a`" in repair_prompt


def test_plan_error_after_retries_lists_problems() -> None:
    bad = plan(st("a", "ghost"))
    llm = ScriptedChatModel({"planner": [bad, bad, bad]})
    with pytest.raises(PlanError) as info:
        team_of(llm, plan_retries=2).run("goal")
    assert "unknown agent `ghost`" in str(info.value)
    assert info.value.problems and len(llm.calls_for("planner")) == 3
    # the calls the failed planner made are not lost: the error carries the run so far
    partial = info.value.result
    assert partial is not None and partial.status == "failed" and partial.goal == "goal"
    assert partial.usage.by_role["planner"].calls == 3
    assert partial.usage.total.total_tokens == sum(
        c.response.usage_metadata["total_tokens"] for c in llm.calls_for("planner")
    )


def test_a_budget_stop_during_plan_repair_still_counts_the_attempts_made() -> None:
    bad = plan(st("a", "ghost"))
    llm = ScriptedChatModel({"planner": [bad, bad, bad]})
    result = team_of(llm, plan_retries=2, budget=Budget(max_llm_calls=2)).run("goal")
    assert result.status == "budget_exhausted" and len(llm.calls) == 2
    assert result.usage.by_role["planner"].calls == 2


def test_malformed_structured_output_is_repaired() -> None:
    llm = ScriptedChatModel(
        {
            "planner": ["this is not a plan", plan(st("a", "writer"))],
            "writer": ["A"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    assert team_of(llm).run("goal").status == "completed"
    assert "did not match the required format" in llm.calls_for("planner")[1].messages[-1].content


def test_budget_stop_returns_finished_results_and_best_answer() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "writer", "a"))],
            "researcher": ["A-result"],
            "writer": ["B"],
            "critic": [ACCEPT],
            "synthesizer": ["x"],
        }
    )
    result = team_of(llm, budget=Budget(max_llm_calls=2)).run("goal")
    assert result.status == "budget_exhausted"
    assert result.results["a"].status == "done"
    assert result.results["b"].status == "skipped"
    assert "A-result" in result.answer
    assert "max_llm_calls=2" in result.error
    assert len(llm.calls) == 2


def test_token_budget_stops_before_planning_when_spent() -> None:
    llm = ScriptedChatModel({"planner": [plan(st("a", "writer"))], "writer": ["A"]})
    result = team_of(llm, budget=Budget(max_tokens=1)).run("goal")
    # the planner call is allowed (nothing spent yet); the next call is refused
    assert result.status == "budget_exhausted"
    assert len(llm.calls) == 1


async def test_compile_returns_a_langgraph_graph_that_runs_directly() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": ["A"],
            "critic": [ACCEPT],
            "synthesizer": ["answer"],
        }
    )
    team = team_of(llm)
    graph = team.compile()
    assert isinstance(graph, CompiledStateGraph)
    out = await graph.ainvoke({"goal": "g"}, {"configurable": {"thread_id": "x"}})
    assert out["answer"] == "answer" and out["status"] == "completed"
    mermaid = team.draw()
    assert mermaid.startswith("---") or "graph TD" in mermaid
    for node in ("plan", "dispatch", "critic", "synthesize"):
        assert node in mermaid


def test_resume_after_failure_does_not_rerun_finished_subtasks() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "writer", "a"))],
            "researcher": ["A"],
            "writer": [ValueError("model returned garbage"), "B"],
            "critic": [ACCEPT],
            "synthesizer": ["final"],
        }
    )
    team = team_of(llm)
    with pytest.raises(RunFailed) as info:
        team.run("goal", thread_id="t-fail")
    partial = info.value.result
    assert partial.status == "failed" and partial.results["a"].output == "A"
    assert "`b`" in str(info.value) and "model returned garbage" in str(info.value)

    result = team.resume("t-fail")
    assert result.status == "completed" and result.answer == "final"
    assert len(llm.calls_for("researcher")) == 1  # "a" was not run again
    assert len(llm.calls_for("planner")) == 1


def test_transient_model_errors_are_retried() -> None:
    from langgraph.types import RetryPolicy

    llm = ScriptedChatModel(
        {
            "planner": [ConnectionError("reset"), plan(st("a", "writer"))],
            "writer": [TimeoutError("slow"), "A"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = team_of(
        llm,
        retry=RetryPolicy(
            initial_interval=0.01,
            jitter=False,
            retry_on=__import__("agentorch._team", fromlist=["x"]).retryable,
        ),
    )
    assert team.run("goal").status == "completed"
    assert len(llm.calls_for("writer")) == 2


def test_thread_reuse_is_refused_with_a_hint() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": ["A"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = team_of(llm)
    team.run("goal", thread_id="same")
    with pytest.raises(ValueError, match="already holds a run"):
        team.run("goal", thread_id="same")


async def test_arun_and_astream_are_the_async_api() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))] * 2,
            "writer": ["A"] * 2,
            "critic": [ACCEPT] * 2,
            "synthesizer": ["ok"] * 2,
        }
    )
    team = team_of(llm)
    result = await team.arun("goal")
    assert result.answer == "ok"
    kinds = [ev["type"] async for ev in team.astream("goal")]
    assert kinds == ["plan_created", "subtask_started", "subtask_finished", "critic_verdict", "final"]


async def test_teams_of_one_shape_run_concurrently_each_with_its_own_models_and_settings() -> None:
    # teams with the same graph shape share one compiled graph; everything else (models,
    # prompts, limits, agents) must still come from the team that runs
    def scripted(word: str) -> ScriptedChatModel:
        return ScriptedChatModel(
            {
                "planner": [plan(st("a", "researcher"), st("b", "writer", "a"))],
                "researcher": [f"{word}-research"],
                "writer": [f"{word}-draft"],
                "critic": [ACCEPT],
                "synthesizer": [f"{word}-answer"],
            },
            latency=0.01,
        )

    teams = {
        w: team_of(scripted(w), max_subtasks=2 + i, prompts={"critic": f"Critic of {w}."})
        for i, w in enumerate(["red", "green", "blue"])
    }
    results = await asyncio.gather(*(t.arun(f"goal {w}") for w, t in teams.items()))

    for (word, team), result in zip(teams.items(), results, strict=True):
        assert result.answer == f"{word}-answer"
        assert result.results["b"].output == f"{word}-draft"
        llm = team.llm
        assert llm.calls_for("critic")[0].messages[0].content == f"Critic of {word}."
        assert f"Use at most {team.max_subtasks} sub-tasks" in llm.calls_for("planner")[0].messages[0].content
        llm.assert_complete()
