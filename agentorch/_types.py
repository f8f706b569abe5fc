"""Public value types: plans, verdicts, budgets, usage and run results.

All are frozen pydantic models, so they validate on the way in, serialize to JSON on the way
out, and can be stored in checkpoints as plain dicts (`model_dump(mode="json")`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SubTask",
    "Plan",
    "Verdict",
    "Budget",
    "TokenUsage",
    "Usage",
    "ToolCallRecord",
    "SubTaskResult",
    "PendingInterrupt",
    "RunResult",
    "RunStatus",
    "SubTaskStatus",
]

RunStatus = Literal[
    "completed", "max_rounds", "budget_exhausted", "failed", "interrupted", "rejected"
]
"""How a run ended. "rejected" means a person declined the plan at the approval step."""

SubTaskStatus = Literal["done", "failed", "skipped"]
"""done: the agent answered; failed: it raised or was stopped; skipped: a budget ran out first."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubTask(_Value):
    """One unit of work in a plan, assigned to one agent."""

    id: str = Field(description="Short unique id, e.g. 'research-1'. Referenced by depends_on.")
    description: str = Field(description="What the agent must do, self-contained.")
    agent: str = Field(description="Name of the agent that does it; must be one of the team's.")
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of sub-tasks whose outputs this one needs."
    )
    expected_output: str = Field(default="", description="What a good result looks like.")


class Plan(_Value):
    """A goal broken into sub-tasks that form a DAG through `depends_on`."""

    subtasks: list[SubTask] = Field(description="The sub-tasks, in any order.")
    rationale: str = Field(default="", description="Why the work is split this way.")

    def subtask(self, subtask_id: str) -> SubTask:
        """Return the sub-task with this id; `KeyError` if there is none."""
        for st in self.subtasks:
            if st.id == subtask_id:
                return st
        raise KeyError(subtask_id)


class Verdict(_Value):
    """The critic's decision on a round of results."""

    decision: Literal["accept", "revise", "replan"] = Field(
        description="accept the results, revise named sub-tasks, or replan from scratch."
    )
    feedback: str = Field(default="", description="What is wrong and how to fix it.")
    revise: list[str] = Field(
        default_factory=list, description="With decision 'revise': ids of sub-tasks to redo."
    )


class Budget(_Value):
    """Limits checked before every model call; exhausting one ends the run cleanly.

    `None` means unlimited. `max_seconds` counts wall time from the start of `run`/`resume`.
    """

    max_llm_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)


class TokenUsage(_Value):
    """Token counts and model calls for one role, agent or model."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            calls=self.calls + other.calls,
        )


class Usage(_Value):
    """Usage of a run: per role (planner, critic, synthesizer, summarizer, agent names), per
    model, and in total."""

    by_role: dict[str, TokenUsage] = Field(default_factory=dict)
    by_model: dict[str, TokenUsage] = Field(default_factory=dict)

    @property
    def total(self) -> TokenUsage:
        """Sum over all roles."""
        out = TokenUsage()
        for u in self.by_role.values():
            out = out + u
        return out


class ToolCallRecord(_Value):
    """One tool call an agent asked for, and what happened to it."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    executed: bool = Field(description="False when refused (not the agent's tool, a loop, denied).")
    output: str = ""
    error: str = ""
    approved_by: str = Field(default="", description="Who approved a gated tool ('' if not gated).")


class SubTaskResult(_Value):
    """The latest attempt at one sub-task."""

    subtask_id: str
    agent: str
    output: str = ""
    status: SubTaskStatus = "done"
    attempts: int = 1
    round: int = 1
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    model: str = Field(default="", description="The model that answered (as the provider named it).")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    context: str = Field(default="", description="The data the agent was given (dependencies, memory).")
    prompt: str = Field(default="", description="The agent's full first message: task, feedback, data.")

    @property
    def duration(self) -> float:
        """Seconds from start to finish."""
        return max(0.0, self.finished_at - self.started_at)


class PendingInterrupt(_Value):
    """Something waiting for a person: a plan to approve or a gated tool call."""

    id: str
    kind: Literal["plan", "tool"]
    payload: dict[str, Any] = Field(default_factory=dict)


class RunResult(_Value):
    """What a team run produced. Returned by `Team.run` and carried by `RunFailed`."""

    goal: str
    answer: str = ""
    status: RunStatus = "completed"
    plan: Plan | None = None
    plans: list[Plan] = Field(default_factory=list, description="The plan of every round.")
    results: dict[str, SubTaskResult] = Field(default_factory=dict)
    history: list[SubTaskResult] = Field(
        default_factory=list, description="Every attempt, including superseded ones."
    )
    verdicts: list[Verdict] = Field(default_factory=list)
    rounds: int = 0
    usage: Usage = Field(default_factory=Usage)
    thread_id: str = ""
    error: str = ""
    interrupts: list[PendingInterrupt] = Field(default_factory=list)

    def save(self, path: str | Path) -> None:
        """Write the run record as JSON."""
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        """Read a run record written by `save`; a clear `ConfigError` if it is not one."""
        from agentorch._errors import ConfigError

        p = Path(path)
        try:
            data = json.loads(p.read_bytes().decode("utf-8"))
            return cls.model_validate(data)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
            raise ConfigError(f"`{p}` is not a valid agentorch run record: {e}") from None
