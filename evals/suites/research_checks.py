"""Helpers the shipped suites reference as `agentorch.evals.suites.research_checks:<name>`:
alternative tools for the research team, custom scorers and a deterministic judge."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import BaseMessage

from agentorch import RunResult, tool
from agentorch.evals import Case, Score
from agentorch.graphs.research import search


@tool("search", requires_approval=True)
def gated_search(query: str) -> str:
    """Search the research corpus for facts about a topic (needs a person's approval)."""
    return str(search.invoke({"query": query}))


@tool("search")
def broken_search(query: str) -> str:
    """Search the research corpus for facts about a topic (its backend is down)."""
    raise ConnectionError(f"search backend unreachable for {query!r}")


def dependents_wait(result: RunResult, case: Case) -> Score:
    """Every sub-task started only after all of its dependencies finished (same round)."""
    late = []
    for st in result.plan.subtasks if result.plan else []:
        mine = result.results.get(st.id)
        for dep in st.depends_on:
            before = result.results.get(dep)
            if mine and before and mine.started_at < before.finished_at:
                late.append(f"{st.id} started before {dep} finished")
    return Score(name="dependents_wait", passed=not late, detail="; ".join(late) or "dependencies respected")


def critic_revised_first(result: RunResult, case: Case) -> bool:
    """The critic asked for a revision in round 1, then accepted."""
    decisions = [v.decision for v in result.verdicts]
    return decisions[:1] == ["revise"] and decisions[-1:] == ["accept"]


def replanned(result: RunResult, case: Case) -> Score:
    """The planner made a second plan after the critic asked for one."""
    return Score(
        name="replanned",
        passed=len(result.plans) >= 2,
        value=float(len(result.plans)),
        detail=f"{len(result.plans)} plans",
    )


def tool_errors_observed(result: RunResult, case: Case) -> Score:
    """Tool failures were recorded on the calls (and became observations, not crashes)."""
    errors = [c.error for r in result.history for c in r.tool_calls if c.error]
    return Score(
        name="tool_errors_observed",
        passed=bool(errors),
        value=float(len(errors)),
        detail=errors[0][:120] if errors else "no tool call recorded an error",
    )


def approved_by_eval(result: RunResult, case: Case) -> bool:
    """Every executed gated call records who approved it."""
    calls = [c for r in result.history for c in r.tool_calls if c.executed]
    return bool(calls) and all(c.approved_by == "eval-bot" for c in calls)


def rubric_judge(messages: list[BaseMessage]) -> dict[str, Any]:
    """A deterministic stand-in for a judge model: rewards answers that name risks and numbers."""
    text = str(messages[-1].content)
    answer = text.split("Answer:", 1)[-1]
    score = 0.5 * ("risk" in answer.lower()) + 0.5 * bool(re.search(r"\d", answer))
    return {"score": score, "reasoning": f"risks named: {'risk' in answer.lower()}; numbers: {score >= 0.5}"}
