"""What a case expects, and how it answers approvals: the leaf values of a suite.

`Expectations` (each field set becomes a scorer), `JudgeSpec` (an LLM-as-judge rubric) and the
approval answers are plain data, the same in a suite file and in Python.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentorch._types import RunStatus

__all__ = [
    "Expectations",
    "FieldCheck",
    "field_at",
    "JudgeSpec",
    "Approval",
    "Approvals",
    "ToolApproval",
    "CASE_ID_PATTERN",
]

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


class FieldCheck(_Spec):
    """Conditions on one field of a sub-task's typed output (`data`); every one given must hold.

    Example:
        >>> FieldCheck(lt=10, gt=0).holds(3.5)
        []
    """

    eq: Any = Field(default=None, description="Equal to this value.")
    ne: Any = Field(default=None, description="Not equal to this value.")
    lt: int | float | str | None = Field(default=None, description="Less than this.")
    le: int | float | str | None = Field(default=None, description="Less than or equal to this.")
    gt: int | float | str | None = Field(default=None, description="Greater than this.")
    ge: int | float | str | None = Field(default=None, description="Greater than or equal to this.")
    contains: Any = Field(default=None, description="A substring of a text, or an item of a list.")
    matches: str | None = Field(default=None, description="A regex a text matches (re.search).")

    @model_validator(mode="after")
    def _some_condition(self) -> FieldCheck:
        if not self.model_fields_set:
            raise ValueError(f"give at least one condition: {', '.join(_OPERATORS)}")
        return self

    @field_validator("matches")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return _compiles(value)

    def holds(self, value: Any) -> list[str]:
        """The conditions `value` fails, each as `value op expected`; empty when all hold."""
        failed = []
        for op in _OPERATORS:
            if op in self.model_fields_set and not _holds(op, value, getattr(self, op)):
                failed.append(f"{value!r} {_OPERATORS[op]} {getattr(self, op)!r}")
        return failed


_OPERATORS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "contains": "contains",
    "matches": "matches",
}


def _holds(op: str, value: Any, expected: Any) -> bool:
    try:
        if op == "eq":
            return bool(value == expected)
        if op == "ne":
            return bool(value != expected)
        if op in ("lt", "le", "gt", "ge"):
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                return False
            return bool(getattr(operator, op)(value, expected))
        if op == "contains":
            return isinstance(value, (str, list, dict)) and expected in value
        return isinstance(value, str) and re.search(expected, value) is not None
    except TypeError:  # e.g. a number compared with a text: the condition does not hold
        return False


def field_at(data: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted `path` of `data` (`price`, `address.city`, `items.0.sku`):
    (True, value), or (False, None) when it is not there."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _compiles(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"not a valid regular expression ({e})") from None
    return value


class Expectations(_Spec):
    """What a case must show. Every field is optional; each one set becomes a scorer."""

    plan_valid: bool | None = Field(default=None, description="The final plan passes validation.")
    routed_to: dict[str, str] | list[str] | None = Field(
        default=None,
        description="Mapping sub-task id -> the agent that must get it (ids, as in `subtask_status`, "
        "`data` and `model_used`), or a list of agents that must all appear in the plan.",
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
    data: dict[str, dict[str, FieldCheck]] | None = Field(
        default=None,
        description="Sub-task id -> field path (`price`, `address.city`, `items.0.sku`) -> "
        "conditions on that field of the sub-task's typed output (`Agent(output=...)`), e.g. "
        "`{quote: {price: {lt: 10}}}`.",
    )
    judge: JudgeSpec | None = Field(default=None, description="LLM-as-judge rubric check.")

    @field_validator("answer_matches")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return _compiles(value)

    @field_validator("data")
    @classmethod
    def _paths(cls, value: dict[str, dict[str, FieldCheck]] | None) -> Any:
        for sid, fields in (value or {}).items():
            if not fields:
                raise ValueError(f"sub-task {sid!r} lists no fields; give `field: {{op: value}}`")
            for path in fields:
                if not path or "" in path.split("."):
                    raise ValueError(f"{path!r} is not a field path (e.g. `price` or `address.city`)")
        return value

    @field_validator(
        "routed_to",
        "tool_called",
        "tool_not_called",
        "memory_recalled",
        "answer_contains",
        "model_used",
        "data",
    )
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if value is not None and len(value) == 0:
            raise ValueError("must not be empty; remove the field instead")
        return value
