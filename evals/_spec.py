"""The suite file format, as pydantic models: validation and the JSON Schema come from here.

A suite file (YAML) holds a team reference, a model setup, optional memory and approval
settings, and cases with their expectations. `suite.schema.json` is generated from
`SuiteSpec` (`python -m agentorch.evals.schema`), so editors and the loader agree.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentorch._types import RunStatus

__all__ = [
    "Expectations",
    "JudgeSpec",
    "ModelSpec",
    "MemorySpec",
    "CaseSpec",
    "SuiteSpec",
    "Approval",
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


RoleScriptSpec = list[Any] | dict[Literal["call"], str]
"""A role's script: a list of responses, or `{call: "module:attr"}` naming a function of the
messages. Responses: a string (text), a mapping (structured output), `{tool_calls: [{name,
args}], content: ""}` (ask for tools), or `{raise: "TimeoutError", message: "..."}` (a fault)."""


class ModelSpec(_Spec):
    """The model every case runs on. A fresh model is built for each case."""

    factory: str | None = Field(
        default=None,
        description="`module:attr` of a function returning a chat model, e.g. "
        "`agentorch.graphs.research:demo_model`. `script` entries override its roles when it "
        "returns a ScriptedChatModel.",
    )
    script: dict[str, RoleScriptSpec] = Field(
        default_factory=dict,
        description="Role (or `role:subtask_id`, or `*`) -> responses, for a ScriptedChatModel.",
    )
    cassette: str | None = Field(
        default=None, description="A JSONL cassette (relative to the suite file) to replay."
    )
    latency: float | dict[str, float] = Field(
        default=0.0, description="Seconds per scripted call, or per role ('*' for the rest)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if self.cassette is not None and (self.factory is not None or self.script):
            raise ValueError(
                "a cassette replays a whole run: give `cassette` alone, without `factory` or `script`"
            )
        return self


class MemorySpec(_Spec):
    """An ephemeral Chroma memory (hashing embeddings, offline) seeded before the case runs."""

    seed: list[str] = Field(default_factory=list, description="Texts stored as notes.")


class CaseSpec(_Spec):
    """One eval case: a goal, optional overrides, and what to expect."""

    id: str = Field(pattern=CASE_ID_PATTERN, description="Unique within the suite.")
    goal: str = Field(min_length=1, description="The goal given to the team.")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    script: dict[str, RoleScriptSpec] = Field(
        default_factory=dict, description="Per-role script entries replacing the suite's."
    )
    latency: float | dict[str, float] | None = Field(default=None, description="Overrides model.latency.")
    team_options: dict[str, Any] = Field(
        default_factory=dict, description="Merged over the suite's team_options."
    )
    memory: MemorySpec | None = Field(default=None, description="Replaces the suite's memory.")
    approvals: Literal["approve", "reject"] | list[Approval] | None = Field(
        default=None, description="Replaces the suite's approvals."
    )
    expect: Expectations = Field(default_factory=Expectations)
    scorers: list[str] = Field(
        default_factory=list, description="`module:attr` of custom scorers `(RunResult, Case) -> Score`."
    )


class SuiteSpec(_Spec):
    """A suite file."""

    name: str | None = Field(default=None, description="Defaults to the file name.")
    description: str = ""
    team: str = Field(
        description="A ready-made team (`research`), or `module:attr` / `file.py:attr` naming a "
        "`Team` or a function `(llm, **team_options) -> Team`."
    )
    team_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for the team function (`budget` and `retry` may be mappings).",
    )
    model: ModelSpec = Field(default_factory=ModelSpec)
    judge_model: ModelSpec | None = Field(default=None, description="The model of `expect.judge`.")
    memory: MemorySpec | None = None
    approvals: Literal["approve", "reject"] | list[Approval] | None = Field(
        default=None,
        description="How interrupts are answered: all approved, all rejected, or answers in order.",
    )
    cases: list[CaseSpec] = Field(min_length=1)
