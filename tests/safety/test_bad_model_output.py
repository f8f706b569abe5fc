"""Whatever the planner and critic models answer — valid, half-valid or junk — a run ends in a
documented way: a `RunResult` with a status, `PlanError`, or `RunFailed` carrying the partial
result; never an AttributeError/KeyError/TypeError from inside, never a hang."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as s

from agentorch import PlanError, RunFailed
from agentorch.llms import ScriptedChatModel

from .conftest import team_of

pytestmark = pytest.mark.timeout(120)

IDS = ["a", "b", "c", ""]
json_junk = s.recursive(
    s.none() | s.booleans() | s.integers() | s.floats(allow_nan=False) | s.text(max_size=6),
    lambda inner: s.lists(inner, max_size=2) | s.dictionaries(s.text(max_size=5), inner, max_size=2),
    max_leaves=4,
)
subtask = s.fixed_dictionaries(
    {
        "id": s.sampled_from(IDS),
        "description": s.sampled_from(["do it", "", "  "]),
        "agent": s.sampled_from(["writer", "researcher", "admin", "ghost", ""]),
    },
    optional={
        "depends_on": s.lists(s.sampled_from(IDS + ["zzz"]), max_size=3),
        "expected_output": s.text(max_size=5),
        "extra": json_junk,
    },
)


@s.composite
def valid_plans(draw: s.DrawFn) -> dict[str, Any]:
    n = draw(s.integers(min_value=1, max_value=3))
    return {
        "subtasks": [
            {
                "id": f"s{i}",
                "description": "do it",
                "agent": draw(s.sampled_from(["writer", "researcher"])),
                "depends_on": draw(s.lists(s.sampled_from([f"s{j}" for j in range(i)]), unique=True))
                if i
                else [],
            }
            for i in range(n)
        ]
    }


plans = (
    valid_plans()
    | valid_plans()
    | s.fixed_dictionaries({"subtasks": s.lists(subtask, max_size=4)}, optional={"rationale": json_junk})
    | s.dictionaries(s.sampled_from(["subtasks", "steps", "rationale"]), json_junk, max_size=2)
    | s.text(max_size=10)
)
verdicts = (
    s.fixed_dictionaries(
        {"decision": s.sampled_from(["accept", "revise", "replan", "no"])},
        optional={
            "revise": s.lists(s.sampled_from(IDS + ["zzz"]), max_size=2),
            "feedback": s.text(max_size=5),
        },
    )
    | s.just({"decision": "accept"})
    | s.text(max_size=6)
    | s.dictionaries(s.text(max_size=5), json_junk, max_size=2)
)  # what a model can send
STATUSES = {"completed", "max_rounds", "budget_exhausted", "failed"}


@given(planner=s.lists(plans, min_size=1, max_size=6), critic=s.lists(verdicts, min_size=1, max_size=6))
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_planner_and_critic_output_ends_in_a_documented_way(
    planner: list[Any], critic: list[Any]
) -> None:
    llm = ScriptedChatModel(
        {
            "planner": planner,
            "critic": critic,
            "writer": lambda m: "W",
            "researcher": lambda m: "R",
            "admin": lambda m: "X",
            "synthesizer": lambda m: "answer",
        }
    )
    try:
        result = team_of(llm, max_rounds=2, plan_retries=1).run("goal")
    except PlanError as e:
        assert e.problems and "The planner produced no valid plan" in str(e)
        event("PlanError")
        return
    except RunFailed as e:
        message = str(e)
        assert not message.startswith(("KeyError", "AttributeError", "TypeError", "IndexError")), message
        # our own errors only: the critic gave up, or a script ran out (the strategy's lists end)
        assert "critic gave no valid verdict" in message or "ran out of responses" in message, message
        assert e.result.status == "failed"
        event("RunFailed")
        return
    assert result.status in STATUSES
    event(f"status {result.status}")
    assert result.plan is not None and result.answer == "answer"
