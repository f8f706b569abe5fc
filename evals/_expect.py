"""What a case expects, and how it answers approvals: the leaf values of a suite.

`Expectations` (each field set becomes a scorer), `JudgeSpec` (an LLM-as-judge rubric) and the
approval answers are plain data, the same in a suite file and in Python.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentorch._types import RunStatus

__all__ = ["Expectations", "JudgeSpec", "Approval", "Approvals", "ToolApproval", "CASE_ID_PATTERN"]

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolApproval(_Spec):
    """Answer a gated tool call by running it with edited arguments."""

    args: dict[str, Any] = Field(description="The arguments to run the tool with.")
    by: str = Field(default="eval", description="Who approved (recorded on the tool call).")


Approval = Literal["approve", "reject"] | ToolApproval
"""How the runner answers one pending approval."""

Approvals = Literal["approve", "reject"] | list[Approval] | None
"""How a case answers interrupts: all approved, all rejected, or these answers in order."""


class JudgeSpec(_Spec):
    """An LLM-as-judge check of the answer against a rubric."""

    rubric: str = Field(min_length=1, description="What a good answer does; the judge scores 0..1.")
    threshold: float = Field(default=0.5, ge=0, le=1, description="Lowest passing score.")


class Expectations(_Spec):
    """What a case must show. Every field is optional; each one set becomes a scorer."""

    plan_valid: bool | None = Field(default=None, description="The final plan passes validation.")
    routed_to: dict[str, str] | list[str] | None = Field(
        default=None,
        description="Mapping description substring -> agent that must get that sub-task, or a "
        "list of agents that must all appear in the plan.",
    )
    max_parallel: int | None = Field(
        default=None, ge=1, description="At least this many sub-tasks ran at the same time."
    )
    rounds_at_most: int | None = Field(default=None, ge=0, description="Critic rounds used <= N.")
    status: RunStatus | list[RunStatus] | None = Field(
        default=None, description="The run status (or one of several)."
    )
    answer_contains: str | list[str] | None = Field(
        default=None, description="Substrings the answer must contain (case-insensitive)."
    )
    answer_matches: str | None = Field(default=None, description="A regex the answer must match (re.search).")
    tokens_at_most: int | None = Field(default=None, ge=0, description="Total tokens <= N.")
    llm_calls_at_most: int | None = Field(default=None, ge=0, description="Total model calls <= N.")
    tool_called: str | list[str] | None = Field(default=None, description="Tools that were executed.")
    tool_not_called: str | list[str] | None = Field(
        default=None, description="Tools that were never executed (asking for them is allowed)."
    )
    approval_required: bool | Literal["plan", "tool"] | None = Field(
        default=None, description="The run paused for approval (of a plan, a tool, or either)."
    )
    memory_recalled: str | list[str] | None = Field(
        default=None, description="Texts the team's memory gave the planner or a specialist."
    )
    subtask_status: dict[str, Literal["done", "failed", "skipped"]] | None = Field(
        default=None, description="Sub-task id -> its final status."
    )
    error_contains: str | None = Field(default=None, description="A substring of the run's error.")
    cost_at_most: float | None = Field(
        default=None,
        ge=0,
        description="Total cost the run recorded under the team's prices (`team_options.prices`, "
        "on top of the shipped OpenAI table) <= N.",
    )
    model_used: dict[str, str] | str | list[str] | None = Field(
        default=None,
        description="Sub-task id -> the model of its final attempt; or model names every "
        "sub-task attempt ran on (one of them). A name matches dated variants too "
        "('gpt-4o-mini' matches 'gpt-4o-mini-2024-07-18').",
    )
    judge: JudgeSpec | None = Field(default=None, description="LLM-as-judge rubric check.")

    @field_validator("answer_matches")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"not a valid regular expression ({e})") from None
        return value

    @field_validator(
        "routed_to", "tool_called", "tool_not_called", "memory_recalled", "answer_contains", "model_used"
    )
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if value is not None and len(value) == 0:
            raise ValueError("must not be empty; remove the field instead")
        return value
