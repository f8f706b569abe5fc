"""Fault matrix: every fault the scripted model or a tool can inject ends in a documented outcome.

Outcomes (README "Guarantees"): *recovered* (retried, or repaired, and the run completes),
*routed around* (the critic sends the work back or the planner reassigns it), or *failed*
(status "failed" or `RunFailed` carrying the partial results, with an error naming the
sub-task and the cause). Every test has a hard timeout: a hang fails fast.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from langgraph.types import RetryPolicy

from agentorch import Agent, Budget, CriticError, RunFailed, Team, tool
from agentorch._team import retryable
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st

from .conftest import EXECUTED, team_of

pytestmark = pytest.mark.timeout(20)

FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False, retry_on=retryable)


def _two_parallel(**roles):
    """researcher `a` and writer `b` in parallel, then critic and synthesizer."""
    script = {
        "planner": [plan(st("a", "researcher"), st("b", "writer"))],
        "researcher": ["A"],
        "writer": ["B"],
        "critic": [ACCEPT],
        "synthesizer": ["final"],
    }
    script.update(roles)
    return script


# -- recovered ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["planner", "researcher", "critic", "synthesizer"])
@pytest.mark.parametrize("fault", [ConnectionError("reset by peer"), TimeoutError("read timeout")])
def test_transient_fault_in_any_role_is_retried_and_recovered(role: str, fault: Exception) -> None:
    script = _two_parallel()
    script[role] = [fault, *script[role]]
    llm = ScriptedChatModel(script)
    result = team_of(llm, retry=FAST_RETRY).run("goal")
    assert (result.status, result.answer) == ("completed", "final")
    assert len(llm.calls_for(role)) == 2
    assert [c.error is not None for c in llm.calls_for(role)] == [True, False]


def test_model_slower_than_model_timeout_is_retried_then_fails_naming_the_subtask() -> None:
    llm = ScriptedChatModel(_two_parallel(researcher=["A"] * 3), latency={"researcher": 1.0})
    started = time.monotonic()
    with pytest.raises(RunFailed) as info:
        team_of(llm, model_timeout=0.1, retry=FAST_RETRY).run("goal")
    assert time.monotonic() - started < 5  # three 0.1 s attempts, not three 1 s calls
    message = str(info.value)
    assert "`a`" in message and "researcher" in message and "TimeoutError" in message
    partial = info.value.result
    assert partial.status == "failed"
    assert partial.results["b"].output == "B"  # the parallel sibling's work is kept
    assert "a" not in partial.results


def test_timeout_on_first_call_recovers_on_retry() -> None:
    # the first call hangs past model_timeout, the retry answers at once
    answers = iter([(1.0, "late"), (0.0, "A")])

    class Slow(ScriptedChatModel):
        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
            delay, _ = next(answers)
            await asyncio.sleep(delay)
            return await super()._agenerate(messages, stop, run_manager, **kwargs)

    llm = Slow({"researcher": ["A"]})
    team = Team(
        agents=[Agent(name="researcher", role="r")],
        llm=ScriptedChatModel(
            {"planner": [plan(st("a", "researcher"))], "critic": [ACCEPT], "synthesizer": ["ok"]}
        ),
        llms={"researcher": llm},
        model_timeout=0.3,
        retry=FAST_RETRY,
    )
    result = team.run("goal")
    assert result.status == "completed" and result.results["a"].output == "A"


def test_malformed_and_empty_structured_output_is_repaired() -> None:
    llm = ScriptedChatModel(
        _two_parallel(
            planner=["", "{not json", plan(st("a", "researcher"), st("b", "writer"))],
            critic=["looks fine to me", {"decision": "maybe"}, ACCEPT],
        )
    )
    result = team_of(llm, plan_retries=2).run("goal")
    assert result.status == "completed"
    assert len(llm.calls_for("planner")) == 3 and len(llm.calls_for("critic")) == 3
    assert "did not match the required format" in llm.calls_for("critic")[1].messages[-1].content


# -- routed around ----------------------------------------------------------------------------


def test_empty_reply_fails_the_subtask_and_the_critic_sends_it_back() -> None:
    llm = ScriptedChatModel(
        _two_parallel(
            researcher=["", "A2"],
            critic=[{"decision": "revise", "revise": ["a"], "feedback": "empty"}, ACCEPT],
        )
    )
    result = team_of(llm).run("goal")
    assert result.status == "completed" and result.results["a"].output == "A2"
    first = [h for h in result.history if h.subtask_id == "a"][0]
    assert first.status == "failed" and "empty answer" in first.error
    assert "FAILED: the agent returned an empty answer" in llm.calls_for("critic")[0].messages[1].content


def test_specialist_that_always_fails_is_replanned_to_another_agent() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher")), plan(st("a2", "writer"))],
            "researcher": [""],
            "writer": ["written instead"],
            "critic": [{"decision": "replan", "feedback": "researcher cannot do it"}, ACCEPT],
            "synthesizer": ["final"],
        }
    )
    result = team_of(llm).run("goal")
    assert result.status == "completed" and set(result.results) == {"a2"}
    assert "researcher cannot do it" in llm.calls_for("planner")[1].messages[1].content


# -- failed, with the partial results and the cause ------------------------------------------


def test_specialist_raising_every_time_fails_the_run_with_partial_results() -> None:
    llm = ScriptedChatModel(_two_parallel(researcher=[ValueError("bad gateway payload")] * 5))
    with pytest.raises(RunFailed) as info:
        team_of(llm, retry=FAST_RETRY).run("goal", thread_id="always")
    assert "Sub-task `a` (agent `researcher`)" in str(info.value)
    assert "ValueError: bad gateway payload" in str(info.value)
    assert "team.resume('always')" in str(info.value)
    partial = info.value.result
    assert partial.status == "failed" and partial.results["b"].output == "B"
    assert len(llm.calls_for("researcher")) == 1  # ValueError is not transient: not retried


def test_specialist_failing_every_round_ends_with_a_status_naming_it() -> None:
    llm = ScriptedChatModel(
        _two_parallel(
            researcher=["", "", ""],
            critic=[{"decision": "revise", "revise": ["a"], "feedback": "again"}] * 2 + [ACCEPT],
        )
    )
    result = team_of(llm, max_rounds=3).run("goal")
    assert result.status == "failed"
    assert "`a` (the agent returned an empty answer)" in result.error
    assert result.results["b"].output == "B" and result.answer == "final"
    assert len(llm.calls_for("researcher")) == 3


def test_script_running_out_in_a_subtask_names_the_subtask() -> None:
    llm = ScriptedChatModel(_two_parallel(researcher=[]))
    with pytest.raises(RunFailed) as info:
        team_of(llm).run("goal")
    assert "`a`" in str(info.value) and "ran out of responses" in str(info.value)


def test_critic_that_never_gives_a_valid_verdict_fails_with_the_results_kept() -> None:
    llm = ScriptedChatModel(_two_parallel(critic=["no", "still no", "nope"]))
    with pytest.raises(CriticError) as info:  # a RunFailed of its own, as PlanError for plans
        team_of(llm, plan_retries=2).run("goal")
    assert isinstance(info.value, RunFailed)
    assert "critic gave no valid verdict (repairs allowed: plan_retries=2)" in str(info.value)
    assert info.value.problems and "format" in info.value.problems[0]
    assert {k: r.output for k, r in info.value.result.results.items()} == {"a": "A", "b": "B"}
    assert info.value.result.usage.by_role["critic"].calls == 3  # the failed verdicts count


# -- tools ----------------------------------------------------------------------------------


def test_tool_that_raises_becomes_an_observation_and_the_agent_recovers() -> None:
    @tool
    def explode(q: str) -> str:
        """Always raises."""
        raise PermissionError("no access to /etc")

    agent = Agent(name="ops", role="Operates", tools=[explode])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            "ops": [call("explode", q="x"), "worked around it"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = Team(agents=[agent], llm=llm).run("goal")
    record = result.results["a"].tool_calls[0]
    assert record.executed and "PermissionError: no access to /etc" in record.error
    assert "PermissionError" in llm.calls_for("ops")[1].messages[-1].content
    assert result.status == "completed"


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_hanging_tool_is_cut_by_the_team_tool_timeout(kind: str) -> None:
    if kind == "async":

        @tool
        async def hang(q: str) -> str:
            """Never returns in time."""
            await asyncio.sleep(30)
            return "never"
    else:

        @tool
        def hang(q: str) -> str:
            """Blocks its thread for a while."""
            time.sleep(1.5)
            return "never"

    agent = Agent(name="ops", role="Operates", tools=[hang])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            "ops": [call("hang", q="x"), "moved on"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    started = time.monotonic()
    result = Team(agents=[agent], llm=llm, tool_timeout=0.2).run("goal")
    assert "timed out after 0.2 s" in result.results["a"].tool_calls[0].error
    assert result.status == "completed" and result.results["a"].output == "moved on"
    # an async tool is cancelled; a sync tool's thread cannot be killed, only waited for
    assert time.monotonic() - started < (1.0 if kind == "async" else 4.0)


# -- no infinite loops ------------------------------------------------------------------------


def test_critic_replanning_forever_stops_at_max_rounds() -> None:
    replan = {"decision": "replan", "feedback": "try again"}
    llm = ScriptedChatModel(
        {
            "planner": [plan(st(f"a{i}", "writer")) for i in range(3)],
            "writer": ["w0", "w1", "w2"],
            "critic": [replan] * 3,
            "synthesizer": ["best so far"],
        }
    )
    result = team_of(llm, max_rounds=3).run("goal")
    assert result.status == "max_rounds" and result.answer == "best so far"
    assert result.rounds == 3 and len(result.plans) == 3
    llm.assert_complete()


def test_agent_calling_tools_forever_is_stopped_by_max_tool_calls() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"))],
            "researcher": lambda messages: call("search", query=f"q{len(messages)}"),
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm, max_tool_calls=3).run("goal")
    a = result.results["a"]
    assert a.status == "failed" and "max_tool_calls=3" in a.error
    assert len(EXECUTED) == 3 and len(llm.calls_for("researcher")) == 4
    assert result.status == "failed" and "`a`" in result.error


def test_max_seconds_budget_stops_a_slow_run_with_partial_results() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "writer", "a"), st("c", "writer", "b"))],
            "researcher": ["A"],
            "writer": ["B", "C"],
            "critic": [ACCEPT],
            "synthesizer": ["x"],
        },
        latency={"researcher": 0.4, "writer": 0.4, "*": 0.0},
    )
    started = time.monotonic()
    result = team_of(llm, budget=Budget(max_seconds=0.6)).run("goal")
    assert time.monotonic() - started < 3
    assert result.status == "budget_exhausted" and "max_seconds=0.6" in result.error
    assert result.results["a"].output == "A"
    assert "A" in result.answer  # the best answer the finished results give


async def test_langgraph_recursion_limit_ends_the_run_with_a_status() -> None:
    # a round is two steps (dispatch, critic): a critic that always asks for a revision
    # reaches any recursion limit; the run stops cleanly a few steps before it
    revise = {"decision": "revise", "feedback": "again", "revise": ["a"]}
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": [f"W{i}" for i in range(20)],
            "critic": [revise] * 20,
            "synthesizer": ["x"],
        }
    )
    graph = team_of(llm, max_rounds=50).compile()
    out = await graph.ainvoke(
        {"goal": "endless revisions", "round": 0},
        {"configurable": {"thread_id": "rl"}, "recursion_limit": 16},
    )
    assert out["status"] == "budget_exhausted" and "recursion limit" in out["error"]
    assert 2 <= len(out["history"]) < 8 and all(h["status"] == "done" for h in out["history"])


def test_budget_counts_retries_and_carries_recorded_calls_across_resume() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"), st("b", "writer", "a"))],
            "writer": [TimeoutError("slow")] * 3 + ["A", "B"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = team_of(llm, budget=Budget(max_llm_calls=4), retry=FAST_RETRY)
    with pytest.raises(RunFailed):
        team.run("goal", thread_id="budget")
    assert len(llm.calls) == 4  # the planner and three attempts: retries count within a run
    result = team.resume("budget")
    assert result.status == "budget_exhausted" and result.usage.total.calls == 4
    assert result.results["a"].output == "A" and result.results["b"].output == "B"
    # README "Not guaranteed": attempts that got no answer are not carried over, so the resumed
    # run counts from the 1 answered call; the model was asked 7 times and answered 4
    assert len(llm.calls) == 7


def test_a_failing_subtask_lets_running_siblings_finish_and_resume_runs_only_it() -> None:
    llm = ScriptedChatModel(
        _two_parallel(researcher=[ValueError("boom"), "A"]), latency={"writer": 0.3, "*": 0.0}
    )
    team = team_of(llm, retry=FAST_RETRY)
    with pytest.raises(RunFailed) as info:
        team.run("goal", thread_id="cancel")
    # the slow sibling was not cancelled: its answer is kept with the failed run
    assert info.value.result.results["b"].output == "B" and len(llm.calls_for("writer")) == 1
    result = team.resume("cancel")
    assert result.status == "completed" and result.answer == "final"
    assert [c.role for c in llm.calls].count("writer") == 1
    assert [c.role for c in llm.calls].count("researcher") == 2
    assert sorted(h.subtask_id for h in result.history) == ["a", "b"]
