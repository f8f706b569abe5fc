"""A model-based property test: random teams, plans, scripts, verdicts, options and resumes.

Hypothesis draws a plan (chains, fans, diamonds, layers: any DAG of 1-20 sub-tasks), what each
specialist's model does on each call (answer, answer empty, ask for its tool, for another
agent's tool, for a gated tool, for a tool that raises, repeat a call, time out, crash), what
the planner and critic say each round, the team's options (budget, max_rounds, critic off, plan
approval, memory, a SQLite checkpointer) and how a person answers every pause. The driver runs
the team, answers pauses, resumes after failures, and checks what the README promises:

- every run ends in a documented status or a documented error, never a library exception;
- no tool outside its agent's grant runs;
- a gated tool runs only on an approval of that very call, once, with the approved arguments;
- usage counts exactly the calls the model answered;
- a finished sub-task never runs again on resume, and history holds each attempt once;
- events come once per fact across the run and its resumes;
- the result survives `save`/`load`.

`AGENTORCH_RANDOM_RUNS` sets the number of examples (default 30; the slow test runs 300).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import RetryPolicy

from agentorch import Agent, AgentorchError, Budget, PlanError, RunFailed, RunResult, Team, tool
from agentorch.llms import ScriptedChatModel
from agentorch.memory import ChromaMemory, HashEmbeddings

pytestmark = pytest.mark.timeout(900)

STATUSES = {"completed", "max_rounds", "budget_exhausted", "failed", "rejected", "interrupted"}
RETRY = RetryPolicy(
    max_attempts=2, initial_interval=0.0, jitter=False, retry_on=lambda e: isinstance(e, TimeoutError)
)
# what a specialist's model may do on one call
ACTIONS = [
    "answer",
    "answer",
    "answer",
    "empty",
    "own_tool",
    "repeat",
    "foreign_tool",
    "gated",
    "raising_tool",
    "timeout",
    "crash",
]
GRANTS = {"writer": set(), "researcher": {"lookup", "flaky"}, "admin": {"wipe"}}


@dataclass
class World:
    """What the tools saw, and what people approved."""

    executed: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    approved: list[dict[str, Any]] = field(default_factory=list)  # the args of approved calls


def make_tools(world: World) -> dict[str, Any]:
    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        world.executed.append(("lookup", query, {"query": query}))
        return f"found {query}"

    @tool
    def flaky(query: str) -> str:
        """A tool that always fails."""
        world.executed.append(("flaky", query, {"query": query}))
        raise RuntimeError("flaky broke")

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete a table (a person must approve)."""
        world.executed.append(("wipe", table, {"table": table}))
        return f"wiped {table}"

    return {"lookup": lookup, "flaky": flaky, "wipe": wipe}


class SpecialistScript:
    """A sub-task's model: plays `actions` one call at a time, then answers."""

    def __init__(self, sid: str, actions: list[str]) -> None:
        self.sid, self.actions, self.n = sid, list(actions), 0

    def __call__(self, messages: list[BaseMessage]) -> Any:
        self.n += 1
        action = self.actions.pop(0) if self.actions else "answer"
        tag = f"{self.sid}-{self.n}"
        if action == "answer":
            return f"output of {tag}"
        if action == "empty":
            return ""
        if action == "timeout":
            return TimeoutError(f"slow model {tag}")
        if action == "crash":
            return RuntimeError(f"model crashed {tag}")
        name, args = {
            "own_tool": ("lookup", {"query": tag}),
            "repeat": ("lookup", {"query": self.sid}),
            "foreign_tool": ("wipe", {"table": f"foreign-{tag}"}),
            "gated": ("wipe", {"table": tag}),
            "raising_tool": ("flaky", {"query": tag}),
        }[action]
        return AIMessage("", tool_calls=[{"name": name, "args": args, "id": tag}])


def _raise_or(value: Any) -> Any:
    if isinstance(value, BaseException):
        raise value
    return value


def scripted(responder: Any) -> Any:
    return lambda messages: _raise_or(responder(messages))


@s.composite
def plans(draw: s.DrawFn) -> dict[str, Any]:
    n = draw(s.integers(1, 20) if draw(s.booleans()) else s.integers(1, 5))
    shape = draw(s.sampled_from(["chain", "fan", "diamond", "layers", "random"]))
    subtasks = []
    for i in range(n):
        earlier = [f"s{j}" for j in range(i)]
        deps: list[str] = {
            "chain": earlier[-1:],
            "fan": [] if i < n - 1 or n == 1 else earlier,
            "diamond": [] if i == 0 else (["s0"] if i < n - 1 else earlier[1:] or ["s0"]),
            "layers": [f"s{j}" for j in range(i - i % 3 - 3, i - i % 3) if j >= 0],
            "random": draw(s.lists(s.sampled_from(earlier), unique=True, max_size=3)) if earlier else [],
        }[shape]
        agent = draw(s.sampled_from(sorted(GRANTS)))
        subtasks.append({"id": f"s{i}", "description": f"do s{i}", "agent": agent, "depends_on": deps})
    return {"subtasks": subtasks}


@dataclass
class Case:
    plan: dict[str, Any]
    actions: dict[str, list[str]]
    verdicts: list[str]
    planner_junk: bool
    critic: bool
    approve_plan: bool
    max_rounds: int
    budget: Budget
    memory: bool
    sqlite: bool
    answers: list[Any]
    """How a person answers each pause, in the order they come (sorted by id within one)."""


@s.composite
def cases(draw: s.DrawFn, sqlite: bool) -> Case:
    plan = draw(plans())
    ids = [t["id"] for t in plan["subtasks"]]
    return Case(
        plan=plan,
        actions={i: draw(s.lists(s.sampled_from(ACTIONS), max_size=4)) for i in ids},
        verdicts=draw(s.lists(s.sampled_from(["accept", "revise", "replan"]), max_size=4)),
        planner_junk=draw(s.booleans()),
        critic=draw(s.booleans()),
        approve_plan=draw(s.booleans()),
        max_rounds=draw(s.integers(1, 3)),
        budget=draw(
            s.sampled_from(
                [Budget(), Budget(max_llm_calls=6), Budget(max_llm_calls=15), Budget(max_tokens=3000)]
            )
        ),
        memory=draw(s.integers(0, 4)) == 0,
        sqlite=sqlite and draw(s.booleans()),
        answers=draw(s.lists(s.sampled_from([True, False, "edit"]), min_size=30, max_size=30)),
    )


def build(case: Case, world: World, checkpointer: Any) -> tuple[Team, ScriptedChatModel]:
    tools = make_tools(world)
    ids = [t["id"] for t in case.plan["subtasks"]]
    verdicts = list(case.verdicts)

    def critic(messages: list[BaseMessage]) -> dict[str, Any]:
        decision = verdicts.pop(0) if verdicts else "accept"
        if decision == "revise":
            return {"decision": "revise", "revise": ids[-1:], "feedback": "redo the last one"}
        return {"decision": decision, "feedback": f"{decision}!"}

    planner_answers = ["not a plan"] if case.planner_junk else []

    def planner(messages: list[BaseMessage]) -> Any:
        return planner_answers.pop(0) if planner_answers else case.plan

    script: dict[str, Any] = {
        "planner": scripted(planner),
        "critic": scripted(critic),
        "synthesizer": ["the answer"] * 10,
        "summarizer": ["summary"] * 50,
    }
    for t in case.plan["subtasks"]:
        script[f"{t['agent']}:{t['id']}"] = scripted(SpecialistScript(t["id"], case.actions[t["id"]]))
    llm = ScriptedChatModel(script)
    agents = [
        Agent(name=name, role=f"{name} role", tools=[tools[t] for t in sorted(grant)])
        for name, grant in GRANTS.items()
    ]
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings()) if case.memory else None
    team = Team(
        agents=agents,
        llm=llm,
        critic=case.critic,
        approve_plan=case.approve_plan,
        max_rounds=case.max_rounds,
        budget=case.budget,
        retry=RETRY,
        memory=memory,
        checkpointer=checkpointer,
        max_tool_calls=3,
    )
    return team, llm


async def drive(case: Case, tmp: Path) -> None:
    world = World()
    if case.sqlite:
        async with AsyncSqliteSaver.from_conn_string(str(tmp / f"{uuid.uuid4().hex}.sqlite")) as saver:
            await _drive(case, world, saver)
    else:
        await _drive(case, world, None)


async def _drive(case: Case, world: World, checkpointer: Any) -> None:
    team, llm = build(case, world, checkpointer)
    events: list[dict[str, Any]] = []
    failures = 0
    answers = list(case.answers)
    stream = team.astream("a random goal", thread_id="t")
    for _ in range(12):
        raised = False
        try:
            async for ev in stream:
                events.append(dict(ev))
        except PlanError as e:  # documented: no valid plan
            assert e.result is not None and e.problems
            return
        except RunFailed as e:  # documented: the partial result comes with it
            assert e.result.status == "failed" and "thread_id 't'" in str(e)
            failures += 1
            raised = True
        result = await team.aresult("t")
        if not result.interrupts:
            if not raised:
                break
            stream = team.aresume_stream("t")  # after a failure: continue
            continue
        decisions = {}
        for p in sorted(result.interrupts, key=lambda p: str(p.payload.get("call"))):
            answer = answers.pop(0) if answers else True
            if p.kind == "plan":
                decisions[p.id] = answer if answer != "edit" else _edited(p.payload["plan"])
                continue
            if answer == "edit":
                args = {"table": p.payload["args"]["table"] + "-edited"}
                decisions[p.id] = {"args": args, "by": "alice"}
                world.approved.append(args)
            else:
                decisions[p.id] = answer
                if answer:
                    world.approved.append(p.payload["args"])
        stream = team.aresume_stream("t", decisions=decisions)
    check(case, team, llm, world, events, result, failures)


def _edited(plan: dict[str, Any]) -> dict[str, Any]:
    first, *rest = plan["subtasks"]
    return {"subtasks": [{**first, "description": first["description"] + " (edited)"}, *rest]}


def check(
    case: Case,
    team: Team,
    llm: ScriptedChatModel,
    world: World,
    events: list[dict[str, Any]],
    result: RunResult,
    failures: int,
) -> None:
    assert result.status in STATUSES
    records = [(h.agent, c) for h in result.history for c in h.tool_calls]
    # no tool outside its agent's grant ran; every execution is a recorded, granted call
    ran = Counter((name, repr(args)) for name, _, args in world.executed)
    granted = Counter(
        (c.name, repr(c.args)) for agent, c in records if c.executed and c.name in GRANTS[agent]
    )
    assert all(c.name in GRANTS[agent] for agent, c in records if c.executed)
    # a failure never cancels a sibling's tool call in flight, and a resumed sub-task replays the
    # calls it made: failures or not, every execution is exactly one recorded call
    if result.status != "interrupted":
        assert ran == granted, (ran, granted)
    # a gated tool ran only with arguments a person approved, once per approval
    wiped = Counter(repr(args) for name, _, args in world.executed if name == "wipe")
    approved = Counter(repr(a) for a in world.approved)
    assert all(n <= approved[a] for a, n in wiped.items()), (wiped, approved)
    assert all(c.approved_by for _, c in records if c.name == "wipe" and c.executed)
    # each attempt once in history; sub-tasks that finished were not run again
    attempts = [(h.subtask_id, h.attempts) for h in result.history]
    assert len(attempts) == len(set(attempts)), attempts
    # events: each finished attempt reported once, the plan once, the end once
    finished = [(e["subtask_id"], e["result"].attempts) for e in events if e["type"] == "subtask_finished"]
    assert Counter(finished) == Counter(attempts), (finished, attempts)
    assert sum(e["type"] == "plan_created" for e in events) == (1 if result.plans else 0)
    if result.status not in ("interrupted", "rejected"):
        assert [e["status"] for e in events if e["type"] == "final"] == [result.status]
    # usage: every call the model answered, each once (a run that never failed: after a
    # RunFailed, calls of the failed attempt are in that error's result, not the final one)
    answered = [c for c in llm.calls if c.response is not None]
    if failures == 0 and result.status != "interrupted":
        assert result.usage.total.calls == len(answered)
        assert result.usage.total.total_tokens == sum(
            c.response.usage_metadata["total_tokens"] for c in answered
        )
    else:
        assert result.usage.total.calls <= len(answered)
    if case.budget.max_llm_calls is not None and failures == 0:
        assert len(answered) <= case.budget.max_llm_calls
    # save / load
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"agentorch-random-{os.getpid()}.json"
    result.save(path)
    assert RunResult.load(path) == result


EXAMPLES = int(os.environ.get("AGENTORCH_RANDOM_RUNS", "30"))


@given(case=cases(sqlite=False))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_runs_keep_every_promise(case: Case, tmp_path: Path) -> None:
    try:
        asyncio.run(drive(case, tmp_path))
    except AgentorchError as e:
        raise AssertionError(f"an undocumented agentorch error escaped: {e!r}") from e


@pytest.mark.slow
@given(case=cases(sqlite=True))
@settings(max_examples=10 * EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_runs_keep_every_promise_long(case: Case, tmp_path: Path) -> None:
    asyncio.run(drive(case, tmp_path))
