"""The cost quote of a plan, made before any of its sub-tasks runs (see `Quote`).

Prompt tokens are counted on the prompts the run will send (langchain-core's approximate
counter, as the scripted model counts them): each specialist's system prompt and task, with
its dependencies' expected outputs; the critic's (or synthesizer's) prompt with every expected
result. Output tokens per call, model calls per sub-task and seconds per call come from what
the team's earlier runs measured (`Observed`), or from the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from agentorch._engine.data import data_block
from agentorch._keys import CRITIC, SYNTHESIZER
from agentorch._models import Cascade, model_label
from agentorch._plan import ready_subtasks
from agentorch._types import Plan, Quote, SubTask, TokenUsage, price_for

if TYPE_CHECKING:
    from agentorch._engine.services import Services

__all__ = ["Observed", "quote_plan"]

DEFAULT_OUTPUT_TOKENS = {"agent": 300, CRITIC: 60, "answer": 300, SYNTHESIZER: 300}
"""Output tokens per call when no earlier run measured them: a specialist's answer, a verdict,
an answer written with the verdict, the synthesizer's answer."""
REVISION_TOKENS = 40
"""Prompt tokens a revision adds to the first attempt's prompt: the critic's feedback."""
DEFAULT_SECONDS = (1.0, 0.02)
"""Seconds per call when no earlier run measured the model: 1 s plus 0.02 s per output token
(50 tokens a second)."""


@dataclass
class _Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float, weight: int = 1) -> None:
        self.total += value
        self.n += weight

    def get(self, default: float) -> float:
        return self.total / self.n if self.n else default


@dataclass
class Observed:
    """What a team's finished runs measured: output tokens per call by role, model calls per
    attempt and attempts per sub-task by agent, seconds per call by model, reviews per run."""

    output_per_call: dict[str, _Mean] = field(default_factory=dict)
    calls_per_attempt: dict[str, _Mean] = field(default_factory=dict)
    attempts_per_subtask: dict[str, _Mean] = field(default_factory=dict)
    seconds_per_call: dict[str, _Mean] = field(default_factory=dict)
    reviews_per_run: _Mean = field(default_factory=_Mean)

    def record(self, history: Sequence[Mapping[str, Any]], steps: Sequence[Mapping[str, Any]]) -> None:
        """Add a finished run's attempts (dumped `SubTaskResult`s) and steps (`StepRecord`s)."""
        attempts: dict[str, tuple[str, int]] = {}
        for r in history:
            usage = TokenUsage(**r.get("usage", {}))
            agent, n = attempts.get(r["subtask_id"], (r["agent"], 0))
            attempts[r["subtask_id"]] = (agent, n + 1)
            if usage.calls:
                self._add(r["agent"], r.get("model", ""), usage, r["finished_at"] - r["started_at"])
                self.calls_per_attempt.setdefault(r["agent"], _Mean()).add(usage.calls)
        for agent, n in attempts.values():
            self.attempts_per_subtask.setdefault(agent, _Mean()).add(n)
        for s in steps:
            usage = TokenUsage(**s.get("usage", {}))
            if usage.calls and s["role"] != "planner":
                self._add(s["role"], s.get("model", ""), usage, s["finished_at"] - s["started_at"])
        if history:
            self.reviews_per_run.add(sum(1 for s in steps if s["role"] == CRITIC))

    def _add(self, role: str, model: str, usage: TokenUsage, seconds: float) -> None:
        self.output_per_call.setdefault(role, _Mean()).add(usage.output_tokens, usage.calls)
        if model:
            self.seconds_per_call.setdefault(model, _Mean()).add(max(0.0, seconds), usage.calls)

    @property
    def any(self) -> bool:
        """Whether any run was recorded."""
        return bool(self.output_per_call)


def _seconds(observed: Observed, model: str, output_tokens: float) -> float:
    fixed, per_token = DEFAULT_SECONDS
    return observed.seconds_per_call.get(model, _Mean()).get(fixed + per_token * output_tokens)


def quote_plan(services: Services, goal: str, plan: Plan, spent: TokenUsage) -> Quote:
    """The quote of `plan` for the team of `services`, `spent` being what the run used so far."""
    team, seen = services.settings, services.observed
    calls: float = spent.calls
    tokens_in: float = spent.input_tokens
    tokens_out: float = spent.output_tokens
    cost = spent.cost
    unpriced: set[str] = set()

    def priced(model: Any, n_in: float, n_out: float, n_calls: float) -> None:
        nonlocal calls, tokens_in, tokens_out, cost
        calls, tokens_in, tokens_out = calls + n_calls, tokens_in + n_in, tokens_out + n_out
        price = price_for(model_label(model), team.prices)
        if price is None:
            unpriced.add(model_label(model))
        else:
            cost += price.cost(TokenUsage(input_tokens=round(n_in), output_tokens=round(n_out)))

    revision_seconds = 0.0
    out = {
        st.id: seen.output_per_call.get(st.agent, _Mean()).get(DEFAULT_OUTPUT_TOKENS["agent"])
        for st in plan.subtasks
    }
    finish: dict[str, float] = {}
    for st in _in_order(plan):
        agent = team.agent(st.agent)
        first, later = _models_of(team.model_spec(st.agent), st)
        n_calls = seen.calls_per_attempt.get(st.agent, _Mean()).get(1.0)
        again = seen.attempts_per_subtask.get(st.agent, _Mean()).get(1.0) - 1  # revisions
        deps = "\n".join(data_block("", source=f"subtask:{d}") for d in st.depends_on)
        task = f"Goal: {goal}\n\nYour sub-task ({st.id}): {st.description}\n{st.expected_output}\n{deps}"
        prompt = count_tokens_approximately(
            [SystemMessage(services.specialist_prompt(agent)), HumanMessage(task)]
        ) + sum(out[d] for d in st.depends_on)
        priced(first, prompt * n_calls, out[st.id] * n_calls, n_calls)
        if again > 0:  # revisions run on the next model of a cascade, with the critic's feedback
            revised = prompt + REVISION_TOKENS
            priced(later, revised * n_calls * again, out[st.id] * n_calls * again, n_calls * again)
        start = max((finish[d] for d in st.depends_on), default=0.0)
        finish[st.id] = start + n_calls * _seconds(seen, model_label(first), out[st.id])
        revision_seconds = max(revision_seconds, n_calls * _seconds(seen, model_label(later), out[st.id]))
    seconds = max(finish.values(), default=0.0)
    # the readers of the results: the critic, then the synthesizer if it will be called
    labels = "\n".join(
        data_block("", source=f"subtask:{st.id}", agent=st.agent, task=st.description) for st in plan.subtasks
    )
    results = count_tokens_approximately([HumanMessage(f"Goal: {goal}\n\nResults:\n{labels}")]) + sum(
        out.values()
    )
    readers = []
    if team.critic:
        verdict = DEFAULT_OUTPUT_TOKENS[CRITIC] + (
            DEFAULT_OUTPUT_TOKENS["answer"] if services.critic_answers() else 0
        )
        readers.append(
            (CRITIC, services.critic_prompt(), seen.output_per_call.get(CRITIC, _Mean()).get(verdict))
        )
    if not services.critic_answers():
        default = DEFAULT_OUTPUT_TOKENS[SYNTHESIZER]
        readers.append(
            (
                SYNTHESIZER,
                services.synthesizer_prompt(),
                seen.output_per_call.get(SYNTHESIZER, _Mean()).get(default),
            )
        )
    reviews = seen.reviews_per_run.get(1.0) if team.critic else 0.0
    for role, system, n_out in readers:
        model = team.model_for(role)
        times = reviews if role == CRITIC else 1.0
        prompt = results + count_tokens_approximately([SystemMessage(system)])
        priced(model, prompt * times, n_out * times, times)
        seconds += _seconds(seen, model_label(model), n_out) * times
    seconds += revision_seconds * max(0.0, reviews - 1)  # a later round waits for its revisions
    return Quote(
        calls=round(calls),
        input_tokens=round(tokens_in),
        output_tokens=round(tokens_out),
        cost=cost,
        seconds=round(seconds, 3),
        unpriced=sorted(unpriced),
        measured=seen.any,
    )


def _models_of(spec: Any, st: SubTask) -> tuple[Any, Any]:
    """The models of a sub-task's first attempt and of a revision: a cascade's first and next
    (its last for `effort: "high"`), or the agent's one model twice."""
    if isinstance(spec, Cascade):
        start = len(spec.models) - 1 if st.effort == "high" else 0
        return spec.models[start], spec.models[min(start + 1, len(spec.models) - 1)]
    return spec, spec


def _in_order(plan: Plan) -> list[SubTask]:
    """The sub-tasks with every dependency before its dependents (the plan is a valid DAG)."""
    order: list[SubTask] = []
    while ready := ready_subtasks(plan, {st.id for st in order}):
        order += ready
    return order
