"""Each node of the team graph on its own: a module-level function of (state, runtime), with
its team and services from the runtime's context — no team object behind the graph's back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agentorch import Agent, Budget, Team
from agentorch._engine.context import RunContext
from agentorch._engine.graph import critic, dispatch, plan, synthesize
from agentorch._engine.state import TeamState
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, st
from tests.helpers import plan as plan_of

REVISE = {"decision": "revise", "feedback": "more detail", "revise": ["a"]}


def _team(script: dict[str, Any], **options: Any) -> Team:
    return Team(
        agents=[Agent(name="w", role="Writes"), Agent(name="r", role="Researches")],
        llm=ScriptedChatModel(script),
        **options,
    )


def _runtime(team: Team) -> Runtime[RunContext]:
    return Runtime(context=RunContext(settings=team.settings(), thread_id="t"))


def test_the_plan_node_alone_turns_a_goal_into_a_plan_update() -> None:
    team = _team({"planner": [plan_of(st("a", "w"), st("b", "r", "a"))]})
    out = asyncio.run(plan({"goal": "write", "round": 0}, _runtime(team)))
    assert out.goto == "dispatch"
    assert [s["id"] for s in out.update["plan"]["subtasks"]] == ["a", "b"]
    assert out.update["round"] == 1 and out.update["usage"]["by_role"]["planner"]["calls"] == 1


def test_the_plan_node_alone_goes_to_approval_when_the_team_asks_for_it() -> None:
    team = _team({"planner": [plan_of(st("a", "w"))]}, approve_plan=True)
    assert asyncio.run(plan({"goal": "write", "round": 0}, _runtime(team))).goto == "approve_plan"


def _state_after_round() -> TeamState:
    result = {
        "subtask_id": "a",
        "agent": "w",
        "output": "draft",
        "status": "done",
        "attempts": 1,
        "round": 1,
        "started_at": 0.0,
        "finished_at": 1.0,
    }
    return {"goal": "write", "round": 1, "plan": plan_of(st("a", "w")), "results": {"a": result}}


@pytest.mark.parametrize(
    "verdict, goto, redo",
    [
        (ACCEPT, "synthesize", False),
        (REVISE, "dispatch", True),
        ({"decision": "replan", "feedback": "no"}, "plan", False),
    ],
)
def test_the_critic_node_alone_routes_by_its_verdict(verdict: dict[str, Any], goto: str, redo: bool) -> None:
    team = _team({"critic": [verdict]})
    out = asyncio.run(critic(_state_after_round(), _runtime(team)))
    assert out.goto == goto
    assert ("results" in out.update and out.update["results"] == {"a": None}) is redo


def test_the_synthesize_node_alone_writes_the_answer_from_the_results() -> None:
    llm = ScriptedChatModel({"synthesizer": ["the answer"]})
    team = Team(agents=[Agent(name="w", role="Writes")], llm=llm)
    out = asyncio.run(synthesize(_state_after_round(), _runtime(team)))
    assert (out["status"], out["answer"]) == ("completed", "the answer")
    assert "draft" in llm.calls[0].messages[-1].text  # the result reached its prompt


def test_the_dispatch_node_alone_runs_a_round_and_routes_to_the_critic() -> None:
    # dispatch starts LangGraph tasks, so it runs inside a graph: this one has only that node
    llm = ScriptedChatModel({"w": ["A"], "r": ["B from A"]})
    team = Team(agents=[Agent(name="w", role="Writes"), Agent(name="r", role="Researches")], llm=llm)
    g = StateGraph(TeamState)
    g.add_node("dispatch", dispatch, destinations=("critic", "synthesize"))
    g.add_node("critic", lambda s: {})
    g.add_node("synthesize", lambda s: {})
    g.add_edge(START, "dispatch")
    g.add_edge("critic", END)
    g.add_edge("synthesize", END)
    state = {"goal": "write", "round": 1, "plan": plan_of(st("a", "w"), st("b", "r", "a"))}
    out = asyncio.run(g.compile().ainvoke(state, context=RunContext(settings=team.settings(), thread_id="t")))
    assert {k: r["output"] for k, r in out["results"].items()} == {"a": "A", "b": "B from A"}
    assert "A" in llm.calls_for("r")[0].messages[-1].text  # the dependency's output


def test_a_compiled_graph_invoked_without_agentorch_context_counts_budgets_per_run() -> None:
    # LangGraph Server invokes `team.compile()` with no agentorch context: each node builds its
    # services from the graph's config and the state, so the budget spans the run, not a node
    llm = ScriptedChatModel(
        {
            "planner": [plan_of(st("a", "w"), st("b", "w", "a"), st("c", "w", "b"))],
            "w": ["A", "B", "C"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    team = Team(agents=[Agent(name="w", role="Writes")], llm=llm, budget=Budget(max_llm_calls=3))
    out = asyncio.run(team.compile().ainvoke({"goal": "g", "round": 0}, {"configurable": {"thread_id": "x"}}))
    assert out["status"] == "budget_exhausted" and "max_llm_calls=3" in out["error"]
    assert [c.role for c in llm.calls] == ["planner", "w", "w"]
