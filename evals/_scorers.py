"""Scorers: what a case is checked on. Built-ins come from `Expectations`; custom ones are
plain functions `(RunResult, Case) -> Score | bool`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from agentorch import PendingInterrupt, RunResult, SubTaskResult, plan_problems
from agentorch.evals._expect import FieldCheck, field_at

if TYPE_CHECKING:
    from agentorch import Team
    from agentorch.evals._suite import Case

__all__ = [
    "Score",
    "Observation",
    "Scorer",
    "FunctionScorer",
    "CheckScorer",
    "scorers_for",
    "peak_parallel",
    "executed_tools",
]


class Score(BaseModel):
    """The outcome of one scorer on one case."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The scorer's name, e.g. "status" or "answer_contains"."""
    passed: bool
    value: float | None = None
    """A measurement when there is one (tokens, peak parallelism, judge score)."""
    detail: str = ""
    """What was expected and what was seen, for the report."""


@dataclass(frozen=True, kw_only=True)
class Observation:
    """Everything the runner saw of one case: the result and what is not in it."""

    result: RunResult
    case: Case
    team: Team | None
    interrupts: list[PendingInterrupt] = field(default_factory=list)
    """Every interrupt the run paused on, including those the runner answered."""
    recalled: list[str] = field(default_factory=list)
    """Texts the memory gave the team (planner recall and specialist contexts)."""


@runtime_checkable
class Scorer(Protocol):
    """Anything with a name and an async `ascore(observation) -> Score`."""

    name: str

    async def ascore(self, observed: Observation) -> Score:
        """Score one observed case."""
        ...


class FunctionScorer:
    """A plain function `(RunResult, Case) -> Score | bool` as a `Scorer`."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.name: str = name or getattr(fn, "__name__", None) or type(fn).__name__

    async def ascore(self, observed: Observation) -> Score:
        out = self.fn(observed.result, observed.case)
        if hasattr(out, "__await__"):
            out = await out
        if isinstance(out, Score):
            return out
        if isinstance(out, bool):
            return Score(name=self.name, passed=out)
        raise TypeError(f"scorer `{self.name}` returned {type(out).__name__}; return a Score or a bool")


class CheckScorer:
    """A built-in scorer: a synchronous check of an `Observation`."""

    def __init__(self, name: str, check: Callable[[Observation], tuple[bool, float | None, str]]) -> None:
        self.name = name
        self._check = check

    async def ascore(self, observed: Observation) -> Score:
        passed, value, detail = self._check(observed)
        return Score(name=self.name, passed=passed, value=value, detail=detail)


# -- measurements ------------------------------------------------------------------------------


def peak_parallel(attempts: Iterable[SubTaskResult]) -> int:
    """The largest number of sub-task attempts running at one moment (from their times)."""
    edges: list[tuple[float, int]] = []
    for r in attempts:
        if r.finished_at > r.started_at > 0:
            edges += [(r.started_at, 1), (r.finished_at, -1)]
    peak = running = 0
    for _, delta in sorted(edges):  # at equal times a finish (-1) sorts before a start (+1)
        running += delta
        peak = max(peak, running)
    return peak


def executed_tools(result: RunResult) -> list[str]:
    """Names of the tools that ran, over every attempt."""
    attempts = result.history or list(result.results.values())
    return [c.name for r in attempts for c in r.tool_calls if c.executed]


def _many(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# -- built-in checks ---------------------------------------------------------------------------


def _plan_valid(expected: bool) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        plan = o.result.plan
        if plan is None:
            return (not expected, None, "no plan was made")
        team = o.team
        problems = plan_problems(plan, team.agent_names, team.max_subtasks) if team else []
        ok = not problems
        return (ok == expected, None, "; ".join(problems) or f"{len(plan.subtasks)} sub-tasks, valid")

    return check


def _routed_to(
    expected: dict[str, str] | list[str],
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        subtasks = [
            st for p in (o.result.plans or ([o.result.plan] if o.result.plan else [])) for st in p.subtasks
        ]
        if isinstance(expected, list):
            seen = {st.agent for st in subtasks}
            missing = [a for a in expected if a not in seen]
            return (
                not missing,
                None,
                f"missing agents {missing}; plan used {sorted(seen)}"
                if missing
                else f"plan used {sorted(seen)}",
            )
        # keyed by sub-task id, like `subtask_status`, `data` and `model_used`; the last plan
        # that holds an id decides where it went
        agent_of = {st.id: st.agent for st in subtasks}
        wrong: list[str] = []
        for sid, agent in expected.items():
            if sid not in agent_of:
                wrong.append(f"no sub-task {sid!r} (the plan has {', '.join(map(repr, agent_of)) or 'none'})")
            elif agent_of[sid] != agent:
                wrong.append(f"{sid!r} went to {agent_of[sid]!r}, expected {agent!r}")
        return (not wrong, None, "; ".join(wrong) or "all routed as expected")

    return check


def _max_parallel(n: int) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        peak = peak_parallel(o.result.history or o.result.results.values())
        return (peak >= n, float(peak), f"peak {peak} sub-tasks at once, expected >= {n}")

    return check


def _at_most(
    label: str, limit: int, measure: Callable[[RunResult], int]
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        seen = measure(o.result)
        return (seen <= limit, float(seen), f"{seen} {label}, limit {limit}")

    return check


def _status(expected: str | list[str]) -> Callable[[Observation], tuple[bool, float | None, str]]:
    allowed = _many(expected)

    def check(o: Observation) -> tuple[bool, float | None, str]:
        detail = f"status {o.result.status!r}, expected {' or '.join(map(repr, allowed))}"
        if o.result.error and o.result.status not in allowed:
            detail += f" (error: {o.result.error[:200]})"
        return (o.result.status in allowed, None, detail)

    return check


def _contains(
    label: str, needles: str | list[str], haystacks: Callable[[Observation], list[str]]
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    wanted = _many(needles)

    def check(o: Observation) -> tuple[bool, float | None, str]:
        texts = [t.casefold() for t in haystacks(o)]
        missing = [w for w in wanted if not any(w.casefold() in t for t in texts)]
        return (not missing, None, f"{label} lacks {missing}" if missing else f"{label} has all of {wanted}")

    return check


def _matches(pattern: str) -> Callable[[Observation], tuple[bool, float | None, str]]:
    regex = re.compile(pattern)

    def check(o: Observation) -> tuple[bool, float | None, str]:
        ok = regex.search(o.result.answer) is not None
        return (ok, None, f"answer {'matches' if ok else 'does not match'} /{pattern}/")

    return check


def _tools(
    names: str | list[str], *, called: bool
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    wanted = _many(names)

    def check(o: Observation) -> tuple[bool, float | None, str]:
        ran = executed_tools(o.result)
        bad = [n for n in wanted if (n in ran) != called]
        verb = "never ran" if called else "ran"
        return (
            not bad,
            None,
            f"{bad} {verb}; executed: {sorted(set(ran))}" if bad else f"executed: {sorted(set(ran))}",
        )

    return check


def _approval(expected: bool | str) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        kinds = [i.kind for i in o.interrupts]
        if isinstance(expected, str):
            ok = expected in kinds
        else:
            ok = bool(kinds) == expected
        return (
            ok,
            float(len(kinds)),
            f"paused for {kinds or 'nothing'}, expected "
            f"{expected if isinstance(expected, str) else ('an approval' if expected else 'none')}",
        )

    return check


def _subtask_status(expected: dict[str, str]) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        seen = {k: o.result.results[k].status if k in o.result.results else "absent" for k in expected}
        bad = {k: v for k, v in seen.items() if v != expected[k]}
        return (not bad, None, f"got {bad}, expected {expected}" if bad else f"statuses {seen}")

    return check


def _cost_at_most(limit: float) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        cost = o.result.usage.cost()
        by_model = ", ".join(f"{m} {c:.6f}" for m, c in sorted(cost.by_model.items()) if c)
        return (
            cost.total <= limit,
            cost.total,
            f"cost {cost.total:.6f}, limit {limit}" + (f" ({by_model})" if by_model else ""),
        )

    return check


def _same_model(seen: str, name: str) -> bool:
    return seen == name or seen.startswith(name + "-")


def _model_used(
    expected: dict[str, str] | str | list[str],
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        if isinstance(expected, dict):
            seen = {k: o.result.results[k].model if k in o.result.results else "absent" for k in expected}
            bad = {k: v for k, v in seen.items() if not _same_model(v, expected[k])}
            return (not bad, None, f"got {bad}, expected {expected}" if bad else f"models {seen}")
        allowed = _many(expected)
        attempts = o.result.history or list(o.result.results.values())
        used = sorted({h.model for h in attempts if h.usage.calls})
        other = [m for m in used if not any(_same_model(m, a) for a in allowed)]
        return (
            not other,
            None,
            f"sub-tasks also ran on {other}; allowed {allowed}" if other else f"sub-tasks ran on {used}",
        )

    return check


def _data(
    expected: dict[str, dict[str, FieldCheck]],
) -> Callable[[Observation], tuple[bool, float | None, str]]:
    def check(o: Observation) -> tuple[bool, float | None, str]:
        failed: list[str] = []
        held: list[str] = []
        for sid, fields in expected.items():
            r = o.result.results.get(sid)
            if r is None or r.data is None:
                why = "did not run" if r is None else f"has no typed data (status {r.status!r})"
                failed.append(f"`{sid}` {why}" + (f": {r.error[:200]}" if r is not None and r.error else ""))
                continue
            for path, condition in fields.items():
                found, value = field_at(r.data, path)
                if not found:
                    failed.append(f"`{sid}.{path}` is missing (fields: {', '.join(r.data)})")
                    continue
                problems = condition.holds(value)
                failed += [f"`{sid}.{path}`: not {p}" for p in problems]
                if not problems:
                    held.append(f"`{sid}.{path}` = {value!r}")
        return (not failed, None, "; ".join(failed or held))

    return check


def scorers_for(case: Case, judge: Callable[[Any], Scorer] | None = None) -> list[Scorer]:
    """The scorers a case runs: one per expectation set, then the case's custom scorers.

    `judge` builds the LLM-as-judge scorer from `case.expect.judge` (the runner supplies it).
    """
    e = case.expect
    out: list[Scorer] = []

    def add(
        name: str, value: Any, make: Callable[[Any], Callable[[Observation], tuple[bool, float | None, str]]]
    ) -> None:
        if value is not None:
            out.append(CheckScorer(name, make(value)))

    add("status", e.status, _status)
    add("plan_valid", e.plan_valid, _plan_valid)
    add("routed_to", e.routed_to, _routed_to)
    add("max_parallel", e.max_parallel, _max_parallel)
    add("rounds_at_most", e.rounds_at_most, lambda n: _at_most("rounds", n, lambda r: r.rounds))
    add(
        "tokens_at_most",
        e.tokens_at_most,
        lambda n: _at_most("tokens", n, lambda r: r.usage.total.total_tokens),
    )
    add(
        "llm_calls_at_most",
        e.llm_calls_at_most,
        lambda n: _at_most("model calls", n, lambda r: r.usage.total.calls),
    )
    add("answer_contains", e.answer_contains, lambda v: _contains("answer", v, lambda o: [o.result.answer]))
    add("answer_matches", e.answer_matches, _matches)
    add("tool_called", e.tool_called, lambda v: _tools(v, called=True))
    add("tool_not_called", e.tool_not_called, lambda v: _tools(v, called=False))
    add("approval_required", e.approval_required, _approval)
    add("memory_recalled", e.memory_recalled, lambda v: _contains("recalled memory", v, lambda o: o.recalled))
    add("subtask_status", e.subtask_status, _subtask_status)
    add("error_contains", e.error_contains, lambda v: _contains("error", v, lambda o: [o.result.error]))
    add("cost_at_most", e.cost_at_most, _cost_at_most)
    add("model_used", e.model_used, _model_used)
    add("data", e.data, _data)
    if e.judge is not None:
        if judge is None:
            raise ValueError("expect.judge needs a judge model")
        out.append(judge(e.judge))
    for s in case.scorers:
        out.append(s if isinstance(s, Scorer) else FunctionScorer(s))
    return out
