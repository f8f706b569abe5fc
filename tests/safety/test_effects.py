"""Side effects exactly once (README "Guarantees"): every tool call's outcome is recorded once
and replayed, never run again; the key reaches the tool; a call the model answered counts in
usage and budgets across failures and resumes; approvals are answered one by one or all at once,
and a bad edit is refused when it is given."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import RetryPolicy

from agentorch import Agent, Budget, ConfigError, RunFailed, Team, tool, tool_call_key
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st


def _turn(*calls: tuple[str, dict[str, Any]]) -> AIMessage:
    """One model turn asking for several tool calls."""
    return AIMessage("", tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(calls)])


def test_a_call_that_timed_out_beside_a_gated_call_is_not_run_again_on_resume() -> None:
    ran: list[str] = []

    @tool(timeout=0.05)
    async def fetch(q: str) -> str:
        """Fetch a page (slow)."""
        ran.append(q)
        await asyncio.sleep(0.3)
        return "page " + q

    @tool(requires_approval=True)
    def send(to: str) -> str:
        """Send a message (needs approval)."""
        ran.append("send:" + to)
        return "sent"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            "ops": [_turn(("fetch", {"q": "news"}), ("send", {"to": "bob"})), "done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = Team(agents=[Agent(name="ops", role="Operates", tools=[fetch, send])], llm=llm)
    team.run("go", thread_id="t1")
    result = team.resume("t1", approve=True)
    assert ran == ["news", "send:bob"]
    fetched, sent = result.results["a"].tool_calls
    assert (fetched.outcome, fetched.executions, fetched.executed) == ("timeout", 1, True)
    assert (sent.outcome, sent.executions, sent.approved_by) == ("ok", 1, "human")
    assert not fetched.in_doubt and not sent.in_doubt  # nothing was cut off
    for r in (fetched, sent):  # when each execution started and ended
        assert r.started_at is not None and r.finished_at is not None and r.started_at <= r.finished_at
    assert fetched.key != sent.key and fetched.key.startswith("t1/a/1/1/0-")


def test_every_outcome_is_recorded_once_and_replayed_after_a_failure() -> None:
    ran: list[str] = []

    @tool
    def ok(x: str) -> str:
        """Works."""
        ran.append("ok")
        return "fine"

    @tool
    def boom(x: str) -> str:
        """Raises."""
        ran.append("boom")
        raise PermissionError("no access")

    @tool(requires_approval=True)
    def gated(x: str) -> str:
        """Needs approval."""
        ran.append("gated")
        return "done"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            # the turn after the tools fails twice (retries exhausted) -> RunFailed -> resume
            "ops": [
                _turn(("ok", {"x": "1"}), ("boom", {"x": "2"}), ("gated", {"x": "3"}), ("nope", {})),
                ConnectionError("reset"),
                "finished",
            ],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = Team(
        agents=[Agent(name="ops", role="Operates", tools=[ok, boom, gated])],
        llm=llm,
        retry=RetryPolicy(max_attempts=1),
    )
    assert team.run("go", thread_id="t").status == "interrupted"
    with pytest.raises(RunFailed):
        team.resume("t", approve=False, by="ann")
    result = team.resume("t")
    assert result.status == "completed" and ran == ["ok", "boom"]
    records = result.results["a"].tool_calls
    assert [(r.name, r.outcome, r.executions) for r in records] == [
        ("ok", "ok", 1),
        ("boom", "error", 1),
        ("gated", "denied", 0),
        ("nope", "refused", 0),
    ]
    assert all(r.executed == (r.executions > 0) for r in records)
    assert len({r.key for r in records}) == 4


def test_the_key_reaches_the_tool_and_is_the_same_on_every_replay() -> None:
    keys: list[str | None] = []

    @tool
    def pay(invoice: str) -> str:
        """Pay an invoice."""
        keys.append(tool_call_key())
        return "paid"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("rent", "payer"))],
            "payer": [_turn(("pay", {"invoice": "a"}), ("pay", {"invoice": "b"})), "paid both"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    result = Team(agents=[Agent(name="payer", role="Pays", tools=[pay])], llm=llm).run("go", thread_id="k")
    assert keys == [r.key for r in result.results["rent"].tool_calls]
    assert keys[0] != keys[1] and all(k and k.startswith("k/rent/1/1/") for k in keys)
    assert tool_call_key() is None  # outside a call


def test_a_planner_call_answered_before_a_failure_counts_in_usage_and_budget_after_resume() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [
                "not a plan",
                ConnectionError("connection reset"),
                plan(*(st(f"t{i}", "w") for i in range(4))),
            ],
            "w": ["v"] * 8,
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    team = Team(
        agents=[Agent(name="w", role="Works")],
        llm=llm,
        budget=Budget(max_llm_calls=4),
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(RunFailed) as failed:
        team.run("go", thread_id="t")
    assert failed.value.result.usage.total.calls == 1
    result = team.resume("t")
    answered = [c for c in llm.calls if c.response is not None]
    assert result.status == "budget_exhausted"
    assert result.usage.total.calls == len(answered) <= 4
    assert result.usage.by_role["planner"].calls == 2  # the repair before the failure, then the plan


def test_several_waiting_approvals_are_answered_one_by_one_or_all_at_once() -> None:
    done: list[str] = []

    @tool(requires_approval=True)
    def act(x: str) -> str:
        """Act (needs approval)."""
        done.append(x)
        return "did " + x

    def script() -> dict[str, Any]:
        return {
            "planner": [plan(st("a", "p"), st("b", "q"))],
            "p": [_turn(("act", {"x": "pa"})), "p done"],
            "q": [_turn(("act", {"x": "qb"})), "q done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }

    def team() -> Team:
        agents = [Agent(name="p", role="P", tools=[act]), Agent(name="q", role="Q", tools=[act])]
        return Team(agents=agents, llm=ScriptedChatModel(script()))

    one = team()
    paused = one.run("go", thread_id="t")
    assert len(paused.interrupts) == 2
    with pytest.raises(ConfigError, match="waits for 2 approvals.*approve_all=True"):
        one.resume("t", approve=True)  # would approve a call nobody may have been shown
    with pytest.raises(ConfigError, match="not waiting for"):
        one.resume("t", decisions={"no-such-id": True})
    result = one.resume("t", approve_all=True, by="ann")
    assert sorted(done) == ["pa", "qb"] and result.status == "completed"
    assert [r.tool_calls[0].approved_by for r in result.results.values()] == ["ann", "ann"]

    done.clear()
    two = team()
    first = {i.payload["args"]["x"]: i.id for i in two.run("go", thread_id="t").interrupts}
    result = two.resume(
        "t", decisions={first["pa"]: {"approved": True, "by": "bob"}}, approve_all=False, by="ann"
    )
    assert done == ["pa"]
    records = {k: r.tool_calls[0] for k, r in result.results.items()}
    assert (records["a"].approved_by, records["b"].outcome) == ("bob", "denied")


def test_on_in_doubt_must_be_a_known_policy() -> None:
    with pytest.raises(ConfigError, match="`on_in_doubt` must be"):

        @tool(on_in_doubt="retry")
        def f(x: str) -> str:
            """F."""
            return x


def _cancelled_mid_call(policy: str) -> tuple[Team, list[str | None]]:
    """A run cancelled (as a dying process would stop) while its tool runs; the tool's starts."""
    starts: list[str | None] = []

    @tool(on_in_doubt=policy)
    async def pay(invoice: str) -> str:
        """Pay an invoice."""
        starts.append(tool_call_key())
        if len(starts) == 1:
            await asyncio.sleep(30)
        return "paid " + invoice

    def payer(messages: list[Any]) -> AIMessage | str:
        told = [m.text for m in messages if m.type == "tool"]
        return "over: " + told[0] if told else _turn(("pay", {"invoice": "inv-7"}))

    llm = ScriptedChatModel(
        {"planner": [plan(st("rent", "payer"))], "payer": payer, "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    team = Team(agents=[Agent(name="payer", role="Pays", tools=[pay])], llm=llm)

    async def cancel_mid_call() -> None:
        run = asyncio.create_task(team.arun("pay", thread_id="t"))
        while not starts:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(cancel_mid_call())
    return team, starts


@pytest.mark.parametrize(
    ("policy", "answer", "runs_again", "outcome"),
    [
        ("rerun", None, True, "ok"),
        ("skip", None, False, "unknown"),
        ("ask", True, True, "ok"),
        ("ask", False, False, "unknown"),
    ],
)
def test_a_call_cut_off_mid_run_is_in_doubt_and_follows_its_tools_policy(
    policy: str, answer: bool | None, runs_again: bool, outcome: str
) -> None:
    team, starts = _cancelled_mid_call(policy)
    result = team.resume("t")
    if policy == "ask":
        [pending] = result.interrupts
        assert pending.payload["in_doubt"] is True and pending.payload["key"] == starts[0]
        assert len(starts) == 1  # nothing runs while a person decides
        result = team.resume("t", approve=answer, by="ann")
    record = result.results["rent"].tool_calls[0]
    assert result.status == "completed" and record.in_doubt and record.outcome == outcome
    assert record.executions == len(starts) == (2 if runs_again else 1)
    assert starts == [record.key] * len(starts)
    if not runs_again:
        assert "may or may not have run" in record.error and "outcome is unknown" in record.error
    assert record.approved_by == ("ann" if answer else "")


def test_edited_arguments_given_as_any_mapping_run_as_a_plain_dict() -> None:
    from types import MappingProxyType

    seen: list[dict[str, Any]] = []

    @tool(requires_approval=True)
    def send(to: str) -> str:
        """Send a message (needs approval)."""
        seen.append({"to": to})
        return "sent"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            "ops": [_turn(("send", {"to": "bob"})), "done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = Team(agents=[Agent(name="ops", role="Operates", tools=[send])], llm=llm)
    team.run("go", thread_id="m")
    result = team.resume("m", approve={"args": MappingProxyType({"to": "carol"})})
    record = result.results["a"].tool_calls[0]
    assert seen == [{"to": "carol"}] and record.args == {"to": "carol"} and type(record.args) is dict
