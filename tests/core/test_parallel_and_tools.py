"""Parallel dispatch, tool permissions and tool approvals."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from agentorch import Agent, ConfigError, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st

from .conftest import CALLS, delete_records, team_of


def test_independent_subtasks_overlap_and_dependents_wait() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [
                plan(
                    st("a", "researcher"),
                    st("b", "researcher"),
                    st("c", "writer"),
                    st("d", "writer", "a", "b"),
                )
            ],
            "researcher": ["A", "B"],
            "writer": ["C", "D"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        },
        latency={"researcher": 0.2, "writer": 0.2, "*": 0.0},
    )
    events = list(team_of(llm).stream("goal"))
    started = {e["subtask_id"]: e["started_at"] for e in events if e["type"] == "subtask_started"}
    finished = {e["subtask_id"]: e["result"].finished_at for e in events if e["type"] == "subtask_finished"}
    # a, b, c all started before any of them finished: they ran concurrently
    assert max(started[k] for k in "abc") < min(finished[k] for k in "abc")
    # d started only after both its dependencies finished
    assert started["d"] >= max(finished["a"], finished["b"])


def test_agent_cannot_call_tools_it_was_not_given() -> None:
    admin = Agent(name="admin", role="Maintains records", tools=[delete_records])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": [
                AIMessage(
                    "",
                    tool_calls=[
                        {"name": "delete_records", "args": {"table": "users"}, "id": "1"},  # admin's tool
                        {"name": "serch", "args": {"query": "x"}, "id": "2"},  # misspelt
                        {"name": "search", "args": {"query": "x"}, "id": "3"},  # researcher's
                    ],
                ),
                "done without tools",
            ],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm, extra_agents=[admin]).run("goal")
    assert result.status == "completed"
    assert CALLS == {}  # nothing was executed
    records = result.results["a"].tool_calls
    assert [r.executed for r in records] == [False, False, False]
    assert "not one of your tools" in records[0].error
    observations = [m.content for m in llm.calls_for("writer")[1].messages if m.type == "tool"]
    assert len(observations) == 3 and all("It was not run" in o for o in observations)


def test_tool_error_and_invalid_arguments_become_observations() -> None:
    @tool
    def flaky(x: int) -> str:
        """Always fails."""
        raise RuntimeError("disk full")

    worker = Agent(name="worker", role="Uses flaky tools", tools=[flaky])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "worker"))],
            "worker": [call("flaky", x=1), call("flaky", x="not a number"), "recovered"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm, extra_agents=[worker]).run("goal")
    assert result.results["a"].output == "recovered"
    first, second = result.results["a"].tool_calls
    assert first.executed and "RuntimeError: disk full" in first.error
    # arguments that do not fit the tool's schema never reach the tool
    assert not second.executed and "It was not run" in second.error
    assert "x: Input should be a valid integer" in second.error


def test_hanging_tool_times_out_as_an_observation() -> None:
    import asyncio

    @tool(timeout=0.1)
    async def slow(q: str) -> str:
        """Hangs."""
        await asyncio.sleep(5)
        return "never"

    worker = Agent(name="worker", role="Waits", tools=[slow])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "worker"))],
            "worker": [call("slow", q="x"), "gave up on it"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm, extra_agents=[worker]).run("goal")
    assert "timed out after 0.1 s" in result.results["a"].tool_calls[0].error
    assert result.results["a"].output == "gave up on it"


def test_repeated_identical_tool_call_is_stopped_as_a_loop() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"))],
            "researcher": [call("search", query="x"), call("search", query="x"), "answer"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm).run("goal")
    assert CALLS["search"] == [{"query": "x"}]
    assert not result.results["a"].tool_calls[1].executed
    assert "already called" in result.results["a"].tool_calls[1].error


def test_max_tool_calls_bounds_the_loop() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"))],
            "researcher": [call("search", query=str(i)) for i in range(3)] + ["final words"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = team_of(llm, max_tool_calls=2).run("goal")
    assert len(CALLS["search"]) == 2
    assert result.results["a"].output == "" or result.results["a"].status == "failed"
    last = llm.calls_for("researcher")[-1]
    assert last.tools == []  # the last call had no tools bound: the agent must answer


def test_plan_approval_approve_reject_and_edit() -> None:
    def script() -> dict:
        return {
            "planner": [plan(st("a", "writer"))],
            "writer": ["A", "A2"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }

    team = team_of(ScriptedChatModel(script()), approve_plan=True)
    paused = team.run("goal", thread_id="p1")
    assert paused.status == "interrupted" and paused.interrupts[0].kind == "plan"
    assert paused.interrupts[0].payload["plan"]["subtasks"][0]["id"] == "a"
    assert team.resume("p1", approve=True).status == "completed"

    llm = ScriptedChatModel(script())
    team = team_of(llm, approve_plan=True)
    team.run("goal", thread_id="p2")
    rejected = team.resume("p2", approve=False)
    assert rejected.status == "rejected" and not llm.calls_for("writer")

    llm = ScriptedChatModel(script())
    team = team_of(llm, approve_plan=True)
    team.run("goal", thread_id="p3")
    from agentorch import Plan

    edited = Plan.model_validate(plan(st("z", "writer", description="edited task")))
    done = team.resume("p3", approve=edited)
    assert set(done.results) == {"z"}
    assert "edited task" in llm.calls_for("writer")[0].messages[1].content


def test_invalid_edited_plan_is_refused_and_the_run_still_waits() -> None:
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "writer"))], "writer": ["A"], "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    team = team_of(llm, approve_plan=True)
    team.run("goal", thread_id="p4")
    with pytest.raises(ValueError, match="unknown agent `ghost`"):
        team.resume("p4", approve=plan(st("a", "ghost")))
    with pytest.raises(ValueError, match="waiting for approval of a plan"):
        team.resume("p4")
    assert team.resume("p4", approve=True).status == "completed"


def _admin_team(llm: ScriptedChatModel):
    admin = Agent(name="admin", role="Maintains records", tools=[_gated])
    return team_of(llm, extra_agents=[admin])


@tool(requires_approval=True)
def _gated(table: str) -> str:
    """Delete every record of a table (needs approval)."""
    CALLS.setdefault("gated", []).append({"table": table})
    return f"deleted {table}"


def _gated_script() -> dict:
    return {
        "planner": [plan(st("a", "admin"))],
        "admin": [call("_gated", table="users"), "finished"],
        "critic": [ACCEPT],
        "synthesizer": ["ok"],
    }


def test_gated_tool_waits_for_approval_then_runs() -> None:
    llm = ScriptedChatModel(_gated_script())
    team = _admin_team(llm)
    paused = team.run("goal", thread_id="g1")
    assert paused.status == "interrupted" and paused.interrupts[0].kind == "tool"
    assert paused.interrupts[0].payload["args"] == {"table": "users"}
    assert CALLS == {}
    result = team.resume("g1", approve={"args": {"table": "users"}, "by": "alice"})
    assert result.status == "completed"
    assert CALLS["gated"] == [{"table": "users"}]
    record = result.results["a"].tool_calls[0]
    assert record.executed and record.approved_by == "alice"
    assert len(llm.calls_for("admin")) == 2  # the model call before the pause was not repeated


def test_gated_tool_denied_is_not_run_and_agent_is_told() -> None:
    llm = ScriptedChatModel(_gated_script())
    team = _admin_team(llm)
    team.run("goal", thread_id="g2")
    result = team.resume("g2", approve=False)
    assert CALLS == {} and result.status == "completed"
    assert "denied" in result.results["a"].tool_calls[0].error
    assert "denied" in llm.calls_for("admin")[-1].messages[-1].content


def test_gated_tool_runs_edited_arguments() -> None:
    llm = ScriptedChatModel(_gated_script())
    team = _admin_team(llm)
    team.run("goal", thread_id="g3")
    team.resume("g3", approve={"args": {"table": "staging_users"}})
    assert CALLS["gated"] == [{"table": "staging_users"}]


def test_gated_tool_with_invalid_arguments_asks_nobody_and_is_not_run() -> None:
    script = _gated_script()
    script["admin"] = [call("_gated", tables=["users"]), "finished"]  # wrong argument name
    llm = ScriptedChatModel(script)
    result = _admin_team(llm).run("goal", thread_id="g4")
    assert result.status == "completed" and not result.interrupts
    record = result.results["a"].tool_calls[0]
    assert not record.executed and "table: Field required" in record.error
    assert CALLS == {}


def test_gated_tool_edited_into_invalid_arguments_is_not_run() -> None:
    llm = ScriptedChatModel(_gated_script())
    team = _admin_team(llm)
    team.run("goal", thread_id="g5")
    with pytest.raises(ConfigError, match="edited arguments do not fit `_gated`: table:"):
        team.resume("g5", approve={"args": {"table": None}, "by": "bob"})
    assert CALLS == {}
    waiting = team.result("g5")  # refused at the answer: the run still waits for the same call
    assert waiting.status == "interrupted" and waiting.interrupts[0].payload["args"] == {"table": "users"}
    result = team.resume("g5", approve={"args": {"table": "logs"}, "by": "bob"})
    record = result.results["a"].tool_calls[0]
    assert record.executed and record.approved_by == "bob" and record.args == {"table": "logs"}


def test_argument_checks_use_the_tools_own_schema_and_never_refuse_what_it_accepts() -> None:
    from langchain_core.tools import StructuredTool, Tool
    from pydantic import BaseModel, field_validator

    seen: list[object] = []

    class Tags(BaseModel):
        tags: list[str]

        @field_validator("tags", mode="before")
        @classmethod
        def split(cls, v: object) -> object:  # "a,b" is fine for this tool
            return v.split(",") if isinstance(v, str) else v

    def tag(tags: list[str]) -> str:
        seen.append(tags)
        return "tagged"

    plain = Tool(name="lookup", func=lambda q: seen.append(q) or "found", description="Look up")
    tagger = StructuredTool.from_function(tag, name="tag", description="Tag", args_schema=Tags)
    worker = Agent(name="worker", role="Uses tools", tools=[plain, tagger])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "worker"))],
            "worker": [
                call("lookup", __arg1="batteries"),
                call("tag", tags="x,y"),
                call("tag", tags=3),
                "done",
            ],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    records = team_of(llm, extra_agents=[worker]).run("goal").results["a"].tool_calls
    assert [r.executed for r in records] == [True, True, False]
    assert seen == ["batteries", ["x", "y"]]
    assert "tags: Input should be a valid list" in records[2].error


def test_a_dependent_starts_when_its_own_inputs_exist_not_when_its_wave_ends() -> None:
    # eager dispatch: under waves `c1` would start only after the slow `s` finished
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("s", "slow"), st("c0", "fast"), st("c1", "fast", "c0"))],
            "slow": ["S"],
            "fast": ["C0", "C1"],
            "critic": [ACCEPT],
            "synthesizer": ["done"],
        },
        latency={"slow": 0.4, "*": 0.0},
    )
    team = Team(agents=[Agent(name="slow", role="Slow"), Agent(name="fast", role="Fast")], llm=llm)
    order = [(e["type"], e["subtask_id"]) for e in team.stream("go") if e["type"].startswith("subtask_")]
    assert order.index(("subtask_finished", "c1")) < order.index(("subtask_finished", "s"))
    assert order.index(("subtask_started", "c1")) < order.index(("subtask_finished", "s"))
