"""Features meeting each other: budgets in parallel waves, approvals across failures, plan edits
after a replan, events around interrupts, usage across retried nodes. Each test reproduces a
combination that once broke a documented promise."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import RetryPolicy

from agentorch import Agent, Budget, ConfigError, Plan, RunFailed, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

FAST_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.001, jitter=False, retry_on=lambda e: isinstance(e, TimeoutError)
)


def _ask(tool_name: str, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": tool_name, "args": args, "id": str(args)}])


# -- 1. budgets stop parallel waves, every limit, every width ------------------------------


@pytest.mark.parametrize("width", [2, 4, 8])
@pytest.mark.parametrize("limit", ["max_llm_calls", "max_tokens", "max_seconds"])
@pytest.mark.parametrize("amount", [1, 2, 3, 5, 9])
def test_a_budget_reached_by_parallel_subtasks_ends_the_run_with_its_status(
    width: int, limit: str, amount: int
) -> None:
    subtasks = [st(f"t{i}", "w") for i in range(width)]
    llm = ScriptedChatModel(
        {"planner": [plan(*subtasks)], "w": ["v"] * width, "critic": [ACCEPT], "synthesizer": ["s"]},
        latency={"w": 0.01} if limit == "max_seconds" else 0,
    )
    budget = {
        "max_llm_calls": Budget(max_llm_calls=amount),
        "max_tokens": Budget(max_tokens=amount * 150),
        "max_seconds": Budget(max_seconds=amount * 0.004),
    }[limit]
    team = Team(agents=[Agent(name="w", role="Works")], llm=llm, budget=budget)
    result = team.run("go", thread_id="t")
    assert result.status in ("budget_exhausted", "completed")
    if limit == "max_llm_calls" and amount < width + 3:  # planner + width + critic + synthesizer
        assert result.status == "budget_exhausted"
        assert result.usage.total.calls <= amount
    with pytest.raises(ConfigError, match="already finished"):
        team.resume("t")  # the run ended; it is not stuck in a crashed step


def test_parallel_branches_stopping_together_keep_every_finished_result() -> None:
    # planner + one of three parallel sub-tasks fit the limit; the other two stop in one step
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w"), st("c", "w"))],
            "w": ["done"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    team = Team(agents=[Agent(name="w", role="Works")], llm=llm, budget=Budget(max_llm_calls=2))
    result = team.run("go")
    assert result.status == "budget_exhausted"
    assert sorted(r.status for r in result.results.values()) == ["done", "skipped", "skipped"]
    assert "max_llm_calls=2" in result.error
    assert result.answer.endswith("done")  # the best answer the finished result gives


def test_two_parallel_revisions_write_feedback_for_both() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w"))],
            "w:a": ["A1", "A2"],
            "w:b": ["B1", "B2"],
            "critic": [{"decision": "revise", "revise": ["a", "b"], "feedback": "more"}, ACCEPT],
            "synthesizer": ["s"],
        }
    )
    result = Team(agents=[Agent(name="w", role="Works")], llm=llm).run("go")
    assert {k: r.output for k, r in result.results.items()} == {"a": "A2", "b": "B2"}
    for sid in ("a", "b"):  # each revision saw the critic's feedback and its own first attempt
        prompt = [c for c in llm.calls_for("w") if c.subtask_id == sid][1].messages[-1].content
        assert "more" in prompt and f"{sid.upper()}1" in prompt


# -- 2. an answer reaches exactly the call the person was shown -----------------------------


def _wipe_team(script: list[Any]) -> tuple[Team, list[str]]:
    ran: list[str] = []

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete every row of a table (needs a person's approval)."""
        ran.append(table)
        return f"wiped {table}"

    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "ops"))], "ops": script, "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    team = Team(agents=[Agent(name="ops", role="Operates", tools=[wipe])], llm=llm)
    return team, ran


def test_after_a_failed_run_an_answered_approval_is_not_pending_and_resume_continues() -> None:
    team, ran = _wipe_team(
        [_ask("wipe", table="users"), RuntimeError("model exploded"), _ask("wipe", table="orders"), "done"]
    )
    first = team.run("clean up", thread_id="t")
    assert [p.payload["args"] for p in first.interrupts] == [{"table": "users"}]
    with pytest.raises(RunFailed) as failed:
        team.resume("t", approve=False)
    assert failed.value.result.interrupts == []  # wipe(users) was answered: nothing waits
    paused = team.resume("t")  # continues, as the failure's message says
    assert paused.status == "interrupted"
    assert [p.payload["args"] for p in paused.interrupts] == [{"table": "orders"}]
    assert ran == []
    done = team.resume("t", approve=True)
    assert (done.status, ran) == ("completed", ["orders"])
    calls = done.results["a"].tool_calls
    assert [(c.args, c.executed) for c in calls] == [({"table": "users"}, False), ({"table": "orders"}, True)]


def test_a_budget_reached_exactly_at_a_pause_still_counts_the_paused_call_after_resume() -> None:
    # found by the random runs: the call that asked for approval is replayed on resume; the
    # budget (reached by it) must not refuse the replay and lose its usage
    team, ran = _wipe_team([_ask("wipe", table="users"), "never asked"])
    team.budget = Budget(max_llm_calls=2)  # the planner's call and the one that asks
    assert team.run("clean up", thread_id="t").status == "interrupted"
    result = team.resume("t", approve=True)
    assert ran == ["users"] and result.status == "budget_exhausted"
    assert result.usage.total.calls == 2 and result.results["a"].usage.calls == 1


def test_an_answer_for_another_call_is_never_applied_to_this_one() -> None:
    # a LangGraph resume map keyed by the first interrupt's id (as a client holding a stale id
    # would send) reaches the task's next interrupt; agentorch asks again instead of running it
    from langgraph.types import Command

    team, ran = _wipe_team(
        [_ask("wipe", table="users"), RuntimeError("model exploded"), _ask("wipe", table="orders"), "done"]
    )
    first = team.run("clean up", thread_id="t")
    stale = first.interrupts[0]
    with pytest.raises(RunFailed):
        team.resume("t", approve=False)
    answer = {"approved": True, "call": stale.payload["call"]}
    asyncio.run(
        team.compile().ainvoke(Command(resume={stale.id: answer}), {"configurable": {"thread_id": "t"}})
    )
    assert ran == []  # wipe(orders) was not approved by an answer about wipe(users)
    again = team.result("t")
    assert [p.payload["args"] for p in again.interrupts] == [{"table": "orders"}]


# -- 3. a plan edited at approval after a replan keeps only what it keeps --------------------


def test_editing_the_plan_after_a_replan_reruns_edited_and_drops_removed_subtasks() -> None:
    p = plan(st("a", "w", description="Find facts"), st("b", "w", description="Find prices"))
    llm = ScriptedChatModel(
        {
            "planner": [p, p],
            "w:a": ["A1", "A2"],
            "w:b": ["B1", "B2"],
            "critic": [{"decision": "replan", "feedback": "again"}, ACCEPT],
            "synthesizer": ["S"],
        }
    )
    team = Team(agents=[Agent(name="w", role="Writes")], llm=llm, approve_plan=True)
    team.run("goal", thread_id="t")
    team.resume("t", approve=True)
    edited = Plan(subtasks=[{"id": "a", "description": "Find facts from 2024 only", "agent": "w"}])
    result = team.resume("t", approve=edited)
    assert [s.id for s in result.plan.subtasks] == ["a"]
    assert {k: v.output for k, v in result.results.items()} == {"a": "A2"}
    assert "2024" in [c for c in llm.calls_for("w") if c.subtask_id == "a"][1].messages[-1].content


def test_approving_a_replan_unchanged_keeps_its_finished_subtasks() -> None:
    p = plan(st("a", "w"), st("b", "w"))
    llm = ScriptedChatModel(
        {
            "planner": [p, p],
            "w:a": ["A1"],
            "w:b": ["B1"],
            "critic": [{"decision": "replan", "feedback": "again"}, ACCEPT],
            "synthesizer": ["S"],
        }
    )
    team = Team(agents=[Agent(name="w", role="Writes")], llm=llm, approve_plan=True)
    team.run("goal", thread_id="t")
    team.resume("t", approve=True)
    result = team.resume("t", approve=Plan.model_validate(p))
    assert {k: v.output for k, v in result.results.items()} == {"a": "A1", "b": "B1"}
    llm.assert_complete()


# -- 4. events once per fact, `interrupted` after the step's other branches -----------------


async def test_events_around_an_interrupt_come_once_and_in_order() -> None:
    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete rows."""
        return f"wiped {table}"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"), st("b", "w"))],
            "ops": [_ask("wipe", table="x"), "done"],
            "w": ["text"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        },
        latency={"w": 0.05},
    )
    team = Team(
        agents=[Agent(name="ops", role="Operates", tools=[wipe]), Agent(name="w", role="Writes")], llm=llm
    )
    first = [(e["type"], e.get("subtask_id")) for e in [e async for e in team.astream("go", thread_id="t")]]
    second = [(e["type"], e.get("subtask_id")) async for e in team.aresume_stream("t", approve=True)]
    assert first[-1] == ("interrupted", None)
    assert first.index(("subtask_finished", "b")) < first.index(("interrupted", None))
    together = first + second
    for fact in [
        ("subtask_started", "a"),
        ("subtask_started", "b"),
        ("subtask_finished", "a"),
        ("subtask_finished", "b"),
        ("plan_created", None),
        ("final", None),
    ]:
        assert together.count(fact) == 1, (fact, together)


# -- 5. usage counts every answered call, retried nodes included ----------------------------


@pytest.mark.parametrize("role", ["planner", "critic"])
def test_usage_counts_repair_calls_of_a_retried_node(role: str) -> None:
    script: dict[str, Any] = {
        "planner": [plan(st("a", "w"))],
        "w": ["A"],
        "critic": [ACCEPT],
        "synthesizer": ["s"],
    }
    script[role] = ["not structured", TimeoutError("read timeout"), script[role][0]]
    llm = ScriptedChatModel(script)
    result = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=FAST_RETRY).run("go")
    answered = [c for c in llm.calls if c.error is None]
    assert result.usage.total.calls == len(answered) == 5
    assert result.usage.by_role[role].calls == 2
    assert result.usage.total.total_tokens == sum(c.response.usage_metadata["total_tokens"] for c in answered)


def test_a_failed_run_counts_the_calls_its_failing_node_made() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"))],
            "w": ["A"],
            "critic": ["not a verdict", TimeoutError("t"), TimeoutError("t"), TimeoutError("t")],
            "synthesizer": ["s"],
        }
    )
    team = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=FAST_RETRY)
    with pytest.raises(RunFailed) as failed:
        team.run("go")
    assert failed.value.result.usage.by_role["critic"].calls == 1
    assert failed.value.result.usage.total.calls == 3


@pytest.mark.parametrize("role", ["planner", "critic", "synthesizer"])
def test_a_model_failure_outside_the_specialists_names_the_role(role: str) -> None:
    script: dict[str, Any] = {
        "planner": [plan(st("a", "w"))],
        "w": ["A"],
        "critic": [ACCEPT],
        "synthesizer": ["s"],
    }
    script[role] = [TimeoutError("")] * 3
    team = Team(agents=[Agent(name="w", role="w")], llm=ScriptedChatModel(script), retry=FAST_RETRY)
    with pytest.raises(RunFailed, match=f"`{role}` model call failed: TimeoutError"):
        team.run("go")


def test_plain_text_where_structure_was_required_is_reported_as_such() -> None:
    llm = ScriptedChatModel(
        {"planner": ["just prose", plan(st("a", "w"))], "w": ["A"], "critic": [ACCEPT], "synthesizer": ["s"]}
    )
    Team(agents=[Agent(name="w", role="w")], llm=llm).run("go")
    repair = llm.calls_for("planner")[1].messages[-1].content
    assert "plain text" in repair and "None" not in repair


def test_a_budget_reached_while_memory_summarizes_keeps_the_summaries_already_made(tmp_path: Any) -> None:
    # found by the random runs: the second summary of a dependent's context is refused by the
    # budget; the first one was answered and must stay in the usage
    from agentorch.memory import ChromaMemory, HashEmbeddings

    long = " ".join(f"fact{i} about the topic number {i}." for i in range(400))
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w"), st("c", "w", "a", "b"))],
            "w": [long, long, "C"],
            "summarizer": ["short summary"] * 5,
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    team = Team(
        agents=[Agent(name="w", role="w")],
        llm=llm,
        memory=ChromaMemory(tmp_path / "mem", embedding=HashEmbeddings()),
        context_budget=200,
        budget=Budget(max_llm_calls=4),
    )
    result = team.run("go")
    assert result.status == "budget_exhausted"
    assert [c.role for c in llm.calls] == ["planner", "w", "w", "summarizer"]
    assert result.usage.total.calls == 4 and result.usage.by_role["summarizer"].calls == 1


def test_a_subtask_paused_in_a_round_a_budget_stopped_carries_on_when_resumed() -> None:
    # found by the random runs: `b` is stopped by the budget while `a` waits for approval; on
    # resume `a` must carry on (and be refused its next call), not vanish with its usage
    ran: list[str] = []

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete every row of a table (needs a person's approval)."""
        ran.append(table)
        return f"wiped {table}"

    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return f"found {query}"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("b", "writer"), st("a", "ops"))],
            "ops": [_ask("wipe", table="users"), "never asked"],
            "writer": [_ask("lookup", query="q"), "never asked"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = Team(
        agents=[
            Agent(name="ops", role="Operates", tools=[wipe]),
            Agent(name="writer", role="Writes", tools=[lookup]),
        ],
        llm=llm,
        budget=Budget(max_llm_calls=3),  # the planner's, b's first and a's first call
    )
    paused = team.run("clean up", thread_id="t")
    assert paused.status == "interrupted" and paused.results["b"].status == "skipped"
    result = team.resume("t", approve=True)
    assert ran == ["users"] and result.status == "budget_exhausted"
    assert result.results["a"].status == "skipped" and result.results["a"].usage.calls == 1
    assert [h.subtask_id for h in result.history].count("a") == 1
    assert result.usage.total.calls == 3 == len([c for c in llm.calls if c.response is not None])


# -- an agent without tools: its first call is made in its sub-task's own task ---------------


def test_a_tool_less_agent_retried_on_its_first_call_starts_once_and_makes_each_call_once() -> None:
    # a: the first call fails, the retried sub-task answers. b: the model asks for a tool the
    # agent lacks, then its second call fails once: only that call is retried, not the first
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w"))],
            "w:a": [TimeoutError("t"), "A"],
            "w:b": [_ask("search", q="x"), TimeoutError("t"), "B"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    team = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=FAST_RETRY)
    events = list(team.stream("go", thread_id="t"))
    assert sorted(e["subtask_id"] for e in events if e["type"] == "subtask_started") == ["a", "b"]
    result = team.result("t")
    assert result.status == "completed"
    assert (result.results["a"].output, result.results["b"].output) == ("A", "B")
    assert [c.subtask_id for c in llm.calls_for("w") if c.error is None].count("b") == 2
    assert len(llm.calls_for("w")) == 5
    assert result.usage.by_role["w"].calls == 3  # the answers; failed calls gave no usage


def test_a_tool_less_agent_failing_every_attempt_fails_the_run_naming_its_sub_task() -> None:
    # a fails on its second call (a `model_call` task), c on its first (made directly): each
    # failing call is tried three times, and nothing before it is made again
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w", "a"), st("c", "w"), st("d", "w"))],
            "w:a": [_ask("search", q="x")] + [TimeoutError("read timeout")] * 3,
            "w:c": [TimeoutError("refused")] * 3,
            "w:d": ["D"],
        }
    )
    team = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=FAST_RETRY)
    with pytest.raises(RunFailed, match=r"Sub-task `a` \(agent `w`\) failed: TimeoutError: read timeout"):
        team.run("go", thread_id="t")
    calls = [c.subtask_id for c in llm.calls_for("w")]
    assert (calls.count("a"), calls.count("b"), calls.count("c"), calls.count("d")) == (4, 0, 3, 1)
    assert team.result("t").results["d"].output == "D"  # the sibling's work is kept


def test_a_budget_stop_in_a_revision_round_skips_every_sub_task_that_was_ready() -> None:
    # round 2 re-runs a and b; b's dependency c kept its round-1 result, so b is ready when the
    # round starts, like a: the budget, spent by round 1, refuses both, whichever ends first
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("c", "w"), st("b", "w", "c"))],
            "w:a": ["A1"],
            "w:b": ["B1"],
            "w:c": ["C"],
            "critic": [{"decision": "revise", "revise": ["a", "b"], "feedback": "more"}],
        }
    )
    team = Team(agents=[Agent(name="w", role="w")], llm=llm, budget=Budget(max_llm_calls=5))
    result = team.run("go")
    assert result.status == "budget_exhausted"
    assert {k: r.status for k, r in result.results.items()} == {"a": "skipped", "b": "skipped", "c": "done"}
    assert len(llm.calls_for("w")) == 3  # round 1 only


def test_a_retry_policy_with_a_list_of_errors_retries_the_first_call() -> None:
    # LangGraph accepts `retry_on` as a list; the graph and its tasks are built once per policy
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"))],
            "w": [TimeoutError("t"), "A"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    retry = RetryPolicy(initial_interval=0.001, jitter=False, retry_on=[TimeoutError])
    result = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=retry).run("go")
    assert result.status == "completed" and result.results["a"].output == "A"
    assert len(llm.calls_for("w")) == 2


def test_a_retry_policy_that_cannot_be_hashed_is_refused_with_a_hint() -> None:
    class Rule:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, exc: Exception) -> bool:
            return True

    with pytest.raises(ConfigError, match="retry_on` must be hashable"):
        Team(
            agents=[Agent(name="w", role="w")], llm=ScriptedChatModel({}), retry=RetryPolicy(retry_on=Rule())
        )
