"""The graph state schema and its reducers.

State holds JSON-ready dicts (`model_dump(mode="json")` of the public types), so any checkpoint
saver stores it without custom serializers. Results are keyed by sub-task id and merged by a
reducer, so sub-tasks finishing in parallel never race; writing `None` for an id removes it.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, TypedDict

from langgraph.channels import DeltaChannel
from langgraph.managed import RemainingSteps

__all__ = [
    "TeamState",
    "SpecialistInput",
    "SubtaskUpdate",
    "merge_results",
    "add_usage",
    "merge_subtask_updates",
]


def merge_results(
    left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any] | None] | None
) -> dict[str, dict[str, Any]]:
    """Merge result updates by sub-task id; a `None` value deletes that id."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def merge_dict(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge; a `None` value deletes the key."""
    return merge_results(left, right)


def latest(left: Any, right: Any) -> Any:
    """The value written last. Unlike a plain channel, it accepts several writes in one step:
    sub-tasks running in parallel may all stop the run (a budget) in the same step."""
    return right


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}


def add_usage(
    left: dict[str, dict[str, dict[str, int]]] | None,
    right: dict[str, dict[str, dict[str, int]]] | None,
) -> dict[str, dict[str, dict[str, int]]]:
    """Sum usage deltas of the shape {"by_role": {role: counts}, "by_model": {model: counts}}."""
    out: dict[str, dict[str, dict[str, int]]] = {k: dict(v) for k, v in (left or {}).items()}
    for group, entries in (right or {}).items():
        target = out.setdefault(group, {})
        for name, counts in entries.items():
            target[name] = _add_counts(target.get(name, {}), counts)
    return out


def _fold_results(
    state: dict[str, dict[str, Any]] | None, writes: Sequence[dict[str, dict[str, Any] | None] | None]
) -> dict[str, dict[str, Any]]:
    """`merge_results` over a batch of writes, copying the dict once per batch."""
    out = dict(state or {})
    for write in writes:
        for key, value in (write or {}).items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
    return out


def _fold_history(
    state: list[dict[str, Any]] | None, writes: Sequence[list[dict[str, Any]] | None]
) -> list[dict[str, Any]]:
    """`operator.add` over a batch of writes."""
    out = list(state or [])
    for write in writes:
        out.extend(write or [])
    return out


def _last(state: Any, writes: Sequence[Any]) -> Any:
    """The last value written (the plan)."""
    return writes[-1] if writes else state


# Results and history change at every step, and the plan is as long as the work: as plain
# channels each checkpoint stores them whole (savers that write the full checkpoint each step,
# like SQLite, store the plan every step), so checkpoint bytes grow quadratically with the
# sub-tasks of a run. As LangGraph delta channels a checkpoint stores only the step's writes,
# plus a full snapshot every SNAPSHOT_EVERY updates of the channel.
SNAPSHOT_EVERY = 1000


class TeamState(TypedDict, total=False):
    """State of a team run, one per LangGraph thread."""

    goal: str
    """The user's goal."""
    run_id: str
    """Id of this run (one thread may hold one run)."""
    round: int
    """Current round: 1 after the first plan, +1 per revise or replan."""
    plan: Annotated[dict[str, Any], DeltaChannel(_last, snapshot_frequency=SNAPSHOT_EVERY)]
    """The current `Plan`."""
    plans: Annotated[list[dict[str, Any]], DeltaChannel(_fold_history, snapshot_frequency=SNAPSHOT_EVERY)]
    """Every round's plan."""
    results: Annotated[
        dict[str, dict[str, Any]], DeltaChannel(_fold_results, snapshot_frequency=SNAPSHOT_EVERY)
    ]
    """Latest `SubTaskResult` per sub-task id of the current plan."""
    history: Annotated[list[dict[str, Any]], DeltaChannel(_fold_history, snapshot_frequency=SNAPSHOT_EVERY)]
    """Every attempt's `SubTaskResult`, in the order they finished."""
    feedback: Annotated[dict[str, str], merge_dict]
    """Critic feedback for sub-tasks that must be redone."""
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    """The critic's verdicts, one per reviewed round."""
    steps: Annotated[list[dict[str, Any]], operator.add]
    """Every planner, critic and synthesizer call (`StepRecord`), in order."""
    reviewed_round: int
    """The round the critic reviewed last."""
    recalled: str
    """What memory recalled for the planner."""
    usage: Annotated[dict[str, dict[str, dict[str, int]]], add_usage]
    """Token usage by role and by model."""
    stop: Annotated[str, latest]
    """Set when the run must end early: "budget_exhausted", "max_rounds" or "rejected"."""
    error: Annotated[str, latest]
    """Why the run stopped early or what failed."""
    answer: str
    status: str
    quote: dict[str, Any]
    """The cost quote of the current plan (`Quote`), made before its work started."""
    remaining_steps: RemainingSteps


class SpecialistInput(TypedDict):
    """What `dispatch` sends to one specialist branch."""

    subtask: dict[str, Any]
    goal: str
    round: int
    attempt: int
    feedback: str
    previous_output: str
    dependencies: dict[str, dict[str, Any]]
    earlier: list[dict[str, Any]]
    """The sub-task's earlier attempts (dumped `SubTaskResult`s, `sent_back` set): what
    `Services.route` picks this attempt's model from."""


class SubtaskUpdate(TypedDict, total=False):
    """What one `specialist` task returns (built in `agentorch._engine.specialist`): the
    sub-task's latest result, every attempt it made, its feedback cleared, the usage of its
    calls, and a budget stop. Read back by `merge_subtask_updates` only."""

    results: dict[str, dict[str, Any]]
    history: list[dict[str, Any]]
    feedback: dict[str, None]
    usage: dict[str, Any]
    stop: str
    error: str


def _attempt_key(h: Mapping[str, Any]) -> tuple[Any, ...]:
    """One attempt of one sub-task: its id, round, attempt number and start time."""
    return (h.get("subtask_id"), h.get("round"), h.get("attempts"), h.get("started_at"))


def merge_subtask_updates(base: Mapping[str, Any], updates: Iterable[Any]) -> dict[str, Any]:
    """`base` (a state or a partial update) plus the `SubtaskUpdate`s among `updates`, merged
    as the state's reducers would: how a round's update is made (`dispatch`), and how a
    thread's state gets the sub-tasks that finished in a round that has not ended (`runs`).
    Values that are not sub-task updates (other tasks' results) are skipped."""
    out: dict[str, Any] = {**base}
    seen = {_attempt_key(h) for h in out.get("history", [])}
    for u in updates:
        if not (isinstance(u, dict) and {"results", "history", "usage"} <= u.keys()):
            continue
        if u["history"] and all(_attempt_key(h) in seen for h in u["history"]):
            continue  # the same task's update, saved twice: its attempts are already here
        seen.update(_attempt_key(h) for h in u["history"])
        out["results"] = merge_results(out.get("results"), u["results"])
        out["history"] = [*out.get("history", []), *u["history"]]
        out["feedback"] = {**out.get("feedback", {}), **u.get("feedback", {})}
        out["usage"] = add_usage(out.get("usage"), u["usage"])
        if u.get("stop"):
            out["stop"], out["error"] = u["stop"], u["error"]
    return out
