"""A model-based property test: random teams, plans, scripts, verdicts, options and resumes.

Hypothesis draws a plan (chains, fans, diamonds, layers: any DAG of 1-20 sub-tasks), what each
specialist's model does on each call (answer, answer empty, time out, crash, or one turn asking
for several tool calls at once: its own tools, another agent's, gated ones, one that raises, one
that times out, slow ones, a repeat), what the planner and critic say each round, the team's
options (budget, max_rounds, critic off, plan approval, memory) and how a person answers every
pause (approve, deny, edit, per id or all at once, naming who). The driver runs the team on a
checkpoint saver (memory, SQLite, PostgreSQL), answers pauses, resumes after every failure —
so it drives sequences pause → answer → failure → resume → pause → … to the end — and checks
what the README promises:

- every run ends in a documented status or a documented error, never a library exception;
- no tool outside its agent's grant runs;
- every start of a tool's function is in the records: per call key, the starts the tool counted
  equal the record's `executions` (so per tool, the starts equal the sum of `executions` over
  `result.history`), at every point the records can be read (after a failure too) and at the end;
- nothing whose outcome is recorded runs again: a key starts more than once only when an
  execution was cut off by a failure (`in_doubt`), and every record has a key and an outcome
  that matches `executed` and the tool;
- a gated tool runs only after an approval of that very call (its key), with the approved
  arguments, and its record names who approved;
- usage counts exactly the calls the model answered;
- a finished sub-task never runs again on resume, and history holds each attempt once;
- events come once per fact across the run and its resumes;
- the result survives `save`/`load`.

`AGENTORCH_RANDOM_RUNS` sets the number of examples (default 30 per saver; the slow test draws
four times as many in memory and with SQLite, and as many with PostgreSQL).
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
from langgraph.types import RetryPolicy

from agentorch import (
    Agent,
    AgentorchError,
    Budget,
    ConfigError,
    PlanError,
    RunFailed,
    RunResult,
    Team,
    ToolCallRecord,
    tool,
    tool_call_key,
)
from agentorch.llms import ScriptedChatModel
from agentorch.memory import ChromaMemory, HashEmbeddings
from tests.safety.conftest import open_saver

pytestmark = pytest.mark.timeout(1800)

STATUSES = {"completed", "max_rounds", "budget_exhausted", "failed", "rejected", "interrupted"}
RETRY = RetryPolicy(
    max_attempts=2, initial_interval=0.0, jitter=False, retry_on=lambda e: isinstance(e, TimeoutError)
)
# what a specialist's model may do on one call, besides asking for tools
ACTIONS = ["answer", "answer", "answer", "empty", "timeout", "crash"]
# what one tool call in a turn asks for
CALLS = [
    "own_tool",
    "repeat",
    "foreign_tool",
    "gated",
    "gated_slow",
    "raising_tool",
    "timed_out",
    "slow",
    "slow_skip",
]
TOOLS = {"lookup", "flaky", "fetch", "crawl", "probe", "wipe", "archive"}
GRANTS = {"writer": set(), "researcher": TOOLS - {"wipe"}, "admin": TOOLS - {"probe", "fetch"}}
GATED = {"wipe", "archive"}
# what a call of each tool that ran ends as (`probe` cut off by a failure: "unknown")
OUTCOMES = {
    "lookup": {"ok"},
    "flaky": {"error"},
    "fetch": {"timeout"},
    "crawl": {"ok"},
    "probe": {"ok", "unknown"},
    "wipe": {"ok"},
    "archive": {"ok"},
}


@dataclass
class World:
    """What the tools saw, and what people decided."""

    starts: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """Every start of a tool's function: (tool, `tool_call_key()`, args)."""
    approved: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    """Approved calls by key: (the arguments approved, who approved)."""
    denied: set[str] = field(default_factory=set)
    answered: dict[str, int] = field(default_factory=dict)
    """Calls answered, by key: how many runs had been cut off when the answer was given."""

    def start(self, name: str, args: dict[str, Any]) -> None:
        key = tool_call_key()
        assert key, f"`{name}` ran without a key"
        self.starts.append((name, key, args))


def make_tools(world: World) -> dict[str, Any]:
    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        world.start("lookup", {"query": query})
        return f"found {query}"

    @tool
    def flaky(query: str) -> str:
        """A tool that always fails."""
        world.start("flaky", {"query": query})
        raise RuntimeError("flaky broke")

    @tool(timeout=0.02)
    async def fetch(url: str) -> str:
        """Fetch a page (always too slow for its timeout)."""
        world.start("fetch", {"url": url})
        await asyncio.sleep(5)
        return f"page {url}"

    @tool
    async def crawl(url: str) -> str:
        """Crawl a site (slow: a sibling's failure may cut it off)."""
        world.start("crawl", {"url": url})
        await asyncio.sleep(0.12)
        return f"crawled {url}"

    @tool(on_in_doubt="skip")
    async def probe(host: str) -> str:
        """Probe a host (slow; never run again when cut off)."""
        world.start("probe", {"host": host})
        await asyncio.sleep(0.12)
        return f"probed {host}"

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete a table (a person must approve)."""
        world.start("wipe", {"table": table})
        return f"wiped {table}"

    @tool(requires_approval=True)
    async def archive(table: str) -> str:
        """Archive a table, slowly (a person must approve)."""
        world.start("archive", {"table": table})
        await asyncio.sleep(0.03)
        return f"archived {table}"

    return {
        "lookup": lookup,
        "flaky": flaky,
        "fetch": fetch,
        "crawl": crawl,
        "probe": probe,
        "wipe": wipe,
        "archive": archive,
    }


class SpecialistScript:
    """A sub-task's model: plays its steps one call at a time, then answers. A step is an
    action of ACTIONS or a tuple of CALLS: one turn asking for all of them."""

    def __init__(self, sid: str, steps: list[Any]) -> None:
        self.sid, self.steps, self.n = sid, list(steps), 0

    def __call__(self, messages: list[BaseMessage]) -> Any:
        self.n += 1
        step = self.steps.pop(0) if self.steps else "answer"
        tag = f"{self.sid}-{self.n}"
        if step == "answer":
            return f"output of {tag}"
        if step == "empty":
            return ""
        if step == "timeout":
            return TimeoutError(f"slow model {tag}")
        if step == "crash":
            return RuntimeError(f"model crashed {tag}")
        calls = []
        for i, kind in enumerate(step):
            name, args = {
                "own_tool": ("lookup", {"query": f"{tag}.{i}"}),
                "repeat": ("lookup", {"query": self.sid}),
                "foreign_tool": ("wipe", {"table": f"foreign-{tag}.{i}"}),
                "gated": ("wipe", {"table": f"{tag}.{i}"}),
                "gated_slow": ("archive", {"table": f"{tag}.{i}"}),
                "raising_tool": ("flaky", {"query": f"{tag}.{i}"}),
                "timed_out": ("fetch", {"url": f"{tag}.{i}"}),
                "slow": ("crawl", {"url": f"{tag}.{i}"}),
                "slow_skip": ("probe", {"host": f"{tag}.{i}"}),
            }[kind]
            calls.append({"name": name, "args": args, "id": f"{tag}.{i}"})
        return AIMessage("", tool_calls=calls)


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


# how a person answers one pause: each waiting approval by id (per-answer forms below), or all
# at once (approve_all=True/False), or `approve=` when exactly one waits
MODES = ["each", "each", "each", "approve_all", "deny_all", "approve"]
ANSWERS = [True, False, "edit", "by_bob", "deny_by_bob"]


@dataclass
class Case:
    plan: dict[str, Any]
    steps: dict[str, list[Any]]
    verdicts: list[str]
    planner_junk: bool
    critic: bool
    approve_plan: bool
    max_rounds: int
    budget: Budget
    memory: bool
    latency: dict[str, float]
    """Seconds each agent's model takes to answer (so a sibling fails while a tool runs)."""
    modes: list[str]
    """How a person answers each pause, in the order they come."""
    answers: list[Any]
    """Per-id answers, in the order they are given (sorted by call within one pause)."""
    cancels: list[float | None]
    """Seconds after which the caller gives up on each of the first runs and resumes (None:
    it waits for the end)."""


steps = s.one_of(
    s.sampled_from(ACTIONS),
    s.lists(s.sampled_from(CALLS), min_size=1, max_size=4).map(tuple),
)


@s.composite
def cases(draw: s.DrawFn) -> Case:
    plan = draw(plans())
    ids = [t["id"] for t in plan["subtasks"]]
    return Case(
        plan=plan,
        steps={i: draw(s.lists(steps, max_size=4)) for i in ids},
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
        latency={a: draw(s.sampled_from([0.0, 0.0, 0.01, 0.04])) for a in sorted(GRANTS)},
        modes=draw(s.lists(s.sampled_from(MODES), min_size=20, max_size=20)),
        answers=draw(s.lists(s.sampled_from(ANSWERS), min_size=30, max_size=30)),
        cancels=draw(s.lists(s.sampled_from([None, None, 0.03, 0.06, 0.1, 0.2]), max_size=4)),
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
        script[f"{t['agent']}:{t['id']}"] = scripted(SpecialistScript(t["id"], case.steps[t["id"]]))
    llm = ScriptedChatModel(script, latency=case.latency)
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
        max_tool_calls=5,
    )
    return team, llm


async def drive(case: Case, saver: str, tmp: Path, postgres_url: str | None) -> None:
    async with open_saver(saver, tmp, postgres_url) as checkpointer:
        await _drive(case, World(), checkpointer, f"t-{uuid.uuid4().hex[:12]}")


def _answer(world: World, payload: dict[str, Any], answer: Any, by: str | None, cuts: int) -> Any:
    """Note what a person decides about one tool call, and the answer `resume` is given. A
    call is asked about again only when the run its answer went to was cut off (before the
    decision was saved); the latest answer counts."""
    key = payload["key"]
    assert world.answered.get(key, -1) < cuts, f"asked again about call {key}, already answered"
    world.answered[key] = cuts
    world.denied.discard(key)
    world.approved.pop(key, None)
    if answer in (False, "deny_by_bob"):
        world.denied.add(key)
        return False if answer is False else {"approved": False, "by": "bob"}
    if answer == "edit":
        args = {"table": payload["args"]["table"] + "-edited"}
        world.approved[key] = (args, "alice")
        return {"args": args, "by": "alice"}
    world.approved[key] = (payload["args"], "bob" if answer == "by_bob" else by or "human")
    return {"approved": True, "by": "bob"} if answer == "by_bob" else True


async def _consume(stream: Any, events: list[dict[str, Any]]) -> None:
    async for ev in stream:
        events.append(dict(ev))


async def _settle() -> None:
    """Let what the cancelled run left (checkpoint writes still being saved) end, as it would
    have when a process stops, before the state is read again."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=10)


async def _drive(case: Case, world: World, checkpointer: Any, thread: str) -> None:
    team, llm = build(case, world, checkpointer)
    events: list[dict[str, Any]] = []
    failures = cuts = 0
    modes, answers, cancels = list(case.modes), list(case.answers), list(case.cancels)
    stream = team.astream("a random goal", thread_id=thread)
    after_cut = False
    for _ in range(80):
        raised = False
        cut = cancels.pop(0) if cancels else None
        try:
            await asyncio.wait_for(_consume(stream, events), cut)
        except ConfigError as e:  # resumed after a cut that came once the run had ended
            if not (after_cut and "has already finished" in str(e)):
                raise
        except PlanError as e:  # documented: no valid plan
            assert e.result is not None and e.problems
            check_effects(world, e.result, cuts, final=True)
            return
        except RunFailed as e:  # documented: the partial result comes with it
            assert e.result.status == "failed" and f"thread_id {thread!r}" in str(e)
            failures += 1
            raised = True
        except TimeoutError:  # the caller gave up on the run (as a process dying would)
            cuts += 1
            raised = True
            await _settle()
        after_cut = cut is not None and raised
        result = await team.aresult(thread)
        check_effects(world, result, cuts, final=False)
        if not result.interrupts:
            if not raised:
                break
            if not result.goal:  # cut off before anything was saved: start again
                stream = team.astream("a random goal", thread_id=thread)
            else:
                stream = team.aresume_stream(thread)  # after every failure: continue
            continue
        mode = modes.pop(0) if modes else "approve_all"
        pending = sorted(result.interrupts, key=lambda p: str(p.payload.get("call")))
        if mode == "approve" and len(pending) > 1 or any(p.kind == "plan" for p in pending):
            mode = "each"  # a plan is denied only by a per-id False (not to end most runs there)
        if mode in ("approve_all", "deny_all", "approve"):
            yes = mode != "deny_all"
            by = "carol" if mode == "approve_all" else None
            for p in pending:
                if p.kind == "tool":
                    _answer(world, p.payload, yes, by, cuts)
            if mode == "approve":
                stream = team.aresume_stream(thread, approve=True)
            else:
                stream = team.aresume_stream(thread, approve_all=yes, by=by)
            continue
        decisions = {}
        for p in pending:
            answer = answers.pop(0) if answers else True
            if p.kind == "plan":
                yes = answer is not False
                decisions[p.id] = _edited(p.payload["plan"]) if answer == "edit" else yes
            else:
                decisions[p.id] = _answer(world, p.payload, answer, None, cuts)
        stream = team.aresume_stream(thread, decisions=decisions)
    else:
        raise AssertionError("the run did not end after 80 resumes")
    assert result.status != "interrupted"
    check_effects(world, result, cuts, final=True)
    check(case, team, llm, world, events, result, failures, cuts)


def _edited(plan: dict[str, Any]) -> dict[str, Any]:
    first, *rest = plan["subtasks"]
    return {"subtasks": [{**first, "description": first["description"] + " (edited)"}, *rest]}


def check_effects(world: World, result: RunResult, cuts: int, *, final: bool) -> None:
    """The effects record against what the tools saw: at every point the records can be read
    (`final=False`: sub-tasks still running or paused have starts without records yet), and
    at the end, where every start is in a record. `cuts`: how often a run was cut off (only
    then may an execution be in doubt and run again)."""
    records: list[tuple[str, ToolCallRecord]] = [(h.agent, c) for h in result.history for c in h.tool_calls]
    starts = Counter(key for _, key, _ in world.starts)
    by_key: dict[str, ToolCallRecord] = {}
    for agent, c in records:
        assert c.key, f"a record without a key: {c!r}"
        # one record per key: a key names one call
        assert c.key not in by_key or not c.executed, (c, by_key[c.key])
        if c.executed:
            by_key[c.key] = c
        # the outcome matches `executed`, and the tool
        assert c.executed == (c.executions > 0), c
        if c.executed:
            assert c.name in GRANTS[agent], f"`{agent}` ran `{c.name}` outside its grant"
            assert c.outcome in OUTCOMES[c.name], c
            assert (c.outcome == "unknown") <= c.in_doubt, c
        else:
            assert c.outcome in ("denied", "invalid", "refused"), c
        assert c.in_doubt <= (cuts > 0), f"in doubt though no run was cut off: {c!r}"
        if c.name in GATED and c.name in GRANTS[agent]:
            # a gated call a person denied is recorded denied; one that ran names who approved
            assert (c.outcome == "denied") == (c.key in world.denied), (c, world.denied)
            if c.executed:
                assert (c.args, c.approved_by) == world.approved.get(c.key), (c, world.approved.get(c.key))
        # every start is in the record: the tool counted as many starts of this call as the
        # record says; more than one only when an execution was cut off. An execution in doubt
        # is counted though the cut may have come before the function started (the engine
        # cannot know): then the record may count more, never fewer
        if c.in_doubt:
            assert 0 < c.executions and starts[c.key] <= c.executions, (c, starts[c.key])
        else:
            assert starts[c.key] == c.executions <= 1, (c, starts[c.key])
    # a gated tool started only after an approval of that very call, with the approved args
    for name, key, args in world.starts:
        if name in GATED:
            assert key in world.approved and world.approved[key][0] == args, (name, key, args, world.approved)
    if final:
        # every start is in the records: per key, hence per tool (equal when none was in doubt)
        assert set(starts) <= set(by_key), set(starts) - set(by_key)
        assert all(by_key[k].in_doubt for k in set(by_key) - set(starts)), set(by_key) - set(starts)
        per_tool: Counter[str] = Counter()
        for c in by_key.values():
            per_tool[c.name] += c.executions
        ran = Counter(name for name, _, _ in world.starts)
        if not any(c.in_doubt for c in by_key.values()):
            assert per_tool == ran, (per_tool, ran)
        assert all(ran[name] <= n for name, n in per_tool.items()), (per_tool, ran)


def check(
    case: Case,
    team: Team,
    llm: ScriptedChatModel,
    world: World,
    events: list[dict[str, Any]],
    result: RunResult,
    failures: int,
    cuts: int,
) -> None:
    assert result.status in STATUSES
    # each attempt once in history; sub-tasks that finished were not run again
    attempts = [(h.subtask_id, h.attempts) for h in result.history]
    assert len(attempts) == len(set(attempts)), attempts
    # events: each finished attempt reported once, the plan once, the end once (a run cut off
    # loses the events its caller did not read: then at most once)
    finished = [(e["subtask_id"], e["result"].attempts) for e in events if e["type"] == "subtask_finished"]
    plans_created = sum(e["type"] == "plan_created" for e in events)
    if cuts == 0:
        assert Counter(finished) == Counter(attempts), (finished, attempts)
        assert plans_created == (1 if result.plans else 0)
    else:
        assert Counter(finished) <= Counter(attempts), (finished, attempts)
        assert plans_created <= 1
    ends = [e["status"] for e in events if e["type"] == "final"]
    if result.status not in ("interrupted", "rejected"):
        assert ends == [result.status] or cuts and ends == [], (ends, result.status)
    # usage: every call the model answered, each once (a run that never failed: after a
    # RunFailed, calls of the failed attempt are in that error's result, not the final one)
    answered = [c for c in llm.calls if c.response is not None]
    failures += cuts
    if failures == 0:
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


def _examples(default: int) -> int:
    return int(os.environ.get("AGENTORCH_RANDOM_RUNS", default))


def _run(case: Case, saver: str, tmp_path: Path, postgres_url: str | None) -> None:
    try:
        asyncio.run(drive(case, saver, tmp_path, postgres_url))
    except AgentorchError as e:
        raise AssertionError(f"an undocumented agentorch error escaped: {e!r}") from e


@pytest.mark.parametrize("saver", ["memory", "sqlite"])
@given(case=cases())
@settings(max_examples=_examples(30), deadline=None, suppress_health_check=list(HealthCheck))
def test_random_runs_keep_every_promise(case: Case, saver: str, tmp_path: Path) -> None:
    _run(case, saver, tmp_path, None)


@pytest.mark.slow
@pytest.mark.parametrize("saver", ["memory", "sqlite"])
@given(case=cases())
@settings(max_examples=4 * _examples(30), deadline=None, suppress_health_check=list(HealthCheck))
def test_random_runs_keep_every_promise_long(case: Case, saver: str, tmp_path: Path) -> None:
    _run(case, saver, tmp_path, None)


@pytest.mark.slow
@given(case=cases())
@settings(max_examples=_examples(30), deadline=None, suppress_health_check=list(HealthCheck))
def test_random_runs_keep_every_promise_on_postgres(case: Case, tmp_path: Path, postgres_url: str) -> None:
    _run(case, "postgres", tmp_path, postgres_url)
