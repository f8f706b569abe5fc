"""Suites and cases: one set of pydantic models for suite files and for Python.

A `Suite` names a team, a model setup and cases; a `Case` is a goal, optional overrides and
`Expectations`. The same models validate a YAML file (`load_suite`) and keyword arguments in
Python, and generate `suite.schema.json`: where a file writes a name (`module:attr`, a
scripted fault, a cassette path), Python may pass the object itself (see `_fields`). A bad
file is a `SuiteError` naming the file, the case and the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema

from agentorch._errors import SuiteError
from agentorch.evals._expect import CASE_ID_PATTERN, Approvals, Expectations
from agentorch.evals._fields import (
    READY_MADE_TEAMS,
    SUITE_DIR,
    CassettePath,
    ModelFactory,
    RoleScript,
    ScorerRef,
    TeamOption,
    TeamRef,
)

__all__ = [
    "Case",
    "Suite",
    "ModelSetup",
    "MemorySetup",
    "READY_MADE_TEAMS",
    "load_suite",
    "load_suites",
    "suite_files",
]

_SUITE_SUFFIXES = (".yaml", ".yml")


class _SuiteModel(BaseModel):
    """Frozen and strict about unknown fields. Built in Python, a bad value raises pydantic's
    `ValidationError` (a `ValueError`) naming the field; loaded from a file, a `SuiteError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # the docstring's first paragraph describes the file section; its example is Python
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["description"] = " ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split())
        return schema


class ModelSetup(_SuiteModel):
    """The model every case runs on (a fresh one per case): a script, a factory (optionally
    overridden by a script) or a cassette.

    Example:
        >>> setup = ModelSetup(script={"planner": [{"subtasks": []}]}, latency=0.01)
    """

    factory: ModelFactory | None = Field(
        default=None,
        description="`module:attr` of a function returning a chat model, e.g. "
        "`agentorch.graphs.research:demo_model`. `script` entries override its roles when it "
        "returns a ScriptedChatModel.",
    )
    script: dict[str, RoleScript] = Field(
        default_factory=dict,
        description="Role (or `role:subtask_id`, or `*`) -> responses, for a ScriptedChatModel.",
    )
    cassette: CassettePath | None = Field(
        default=None, description="A JSONL cassette (relative to the suite file) to replay."
    )
    latency: float | dict[str, float] = Field(
        default=0.0, description="Seconds per scripted call, or per role ('*' for the rest)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelSetup:
        if self.cassette is not None and (self.factory is not None or self.script):
            raise ValueError(
                "a cassette replays a whole run: give `cassette` alone, without `factory` or `script`"
            )
        return self


class MemorySetup(_SuiteModel):
    """A fresh ephemeral Chroma memory (hashing embeddings, offline) seeded before each case."""

    seed: list[str] = Field(default_factory=list, description="Texts stored as notes.")


class Case(_SuiteModel):
    """One eval case: a goal, optional overrides, and what to expect.

    Example:
        >>> case = Case(id="brief", goal="Write a brief", expect={"status": "completed"})
        >>> case.expect.status
        'completed'
    """

    id: str = Field(pattern=CASE_ID_PATTERN, description="Unique within the suite.")
    goal: str = Field(min_length=1, description="The goal given to the team.")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    script: dict[str, RoleScript] = Field(
        default_factory=dict, description="Per-role script entries replacing the suite's."
    )
    latency: float | dict[str, float] | None = Field(default=None, description="Overrides model.latency.")
    team_options: dict[str, TeamOption] = Field(
        default_factory=dict, description="Merged over the suite's team_options."
    )
    memory: MemorySetup | None = Field(default=None, description="Replaces the suite's memory.")
    approvals: Approvals = Field(default=None, description="Replaces the suite's approvals.")
    expect: Expectations = Field(default_factory=Expectations)
    scorers: list[ScorerRef] = Field(
        default_factory=list,
        description="Custom scorers: functions `(RunResult, Case) -> Score | bool` (in a file, "
        "their `module:attr`), or `Scorer` instances.",
    )


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Suite(_SuiteModel):
    """A named set of cases run against one team and model setup (a suite file).

    Examples:
        >>> from agentorch.graphs.research import demo_model
        >>> suite = Suite(name="demo", team="research", model=ModelSetup(factory=demo_model),
        ...               cases=[Case(id="brief", goal="Write a brief",
        ...                           expect={"status": "completed"})])
        >>> [c.id for c in suite.cases]
        ['brief']
    """

    name: str = Field(
        default="",
        validate_default=True,
        description="Defaults to the file name.",
        json_schema_extra=_no_default,  # required in Python, optional in a file
    )
    description: str = ""
    team: TeamRef
    team_options: dict[str, TeamOption] = Field(
        default_factory=dict,
        description="Keyword arguments for the team function (`budget` and `retry` may be "
        "mappings; `{ref: module:attr}` passes a Python object).",
    )
    model: ModelSetup = Field(default_factory=ModelSetup)
    judge_model: ModelSetup | None = Field(
        default=None, description="The model of `expect.judge` (role `judge`)."
    )
    memory: MemorySetup | None = Field(default=None, description="Seeds a fresh memory for every case.")
    approvals: Approvals = Field(
        default=None,
        description="How interrupts are answered: all approved, all rejected, or answers in order.",
    )
    cases: list[Case] = Field(min_length=1)
    file: SkipJsonSchema[str] = Field(
        default="", description="The file the suite was loaded from ('' when built in Python)."
    )

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not name:
            raise ValueError("a suite needs a name (a suite file defaults it to the file name)")
        return name

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for c in cases:
            if c.id in seen:
                raise ValueError(f"case id {c.id!r} is used twice; ids must be unique")
            seen.add(c.id)
        return cases


# -- loading files ------------------------------------------------------------------------------


def suite_files(paths: Sequence[str | Path]) -> list[Path]:
    """The suite files named by `paths`: files as given, directories searched for *.yaml/*.yml."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix in _SUITE_SUFFIXES and f.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise SuiteError("no such file or directory", file=str(p))
    return found


def load_suites(paths: Sequence[str | Path]) -> list[Suite]:
    """Load every suite named by `paths` (files or directories)."""
    return [load_suite(p) for p in suite_files(paths)]


def load_suite(path: str | Path) -> Suite:
    """Load one YAML suite file. Raises `SuiteError` naming the file, case and field."""
    p = Path(path)
    file = str(p)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise SuiteError(f"cannot read the file ({e.strerror or e})", file=file) from None
    except UnicodeDecodeError as e:
        raise SuiteError(f"not UTF-8 text (byte {e.start}); save the file as UTF-8", file=file) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise SuiteError(f"not valid YAML{at} ({problem}); is the file truncated?", file=file) from None
    if not isinstance(raw, dict):
        raise SuiteError(
            f"a suite file must be a mapping with `team`, `model` and `cases`, got {type(raw).__name__}",
            file=file,
        )
    if "file" in raw:  # set by the loader, never written in the file
        raise SuiteError(
            "unknown field; check the spelling against suite.schema.json", file=file, field="file"
        )
    data = {**raw, "name": raw.get("name") or p.stem, "file": file}
    try:
        return Suite.model_validate(data, context={SUITE_DIR: p.parent})
    except ValidationError as e:
        raise _suite_error(e, data, file=file) from None


# -- validation errors -> SuiteError ------------------------------------------------------------


def _suite_error(error: ValidationError, raw: Any, *, file: str, case: str = "") -> SuiteError:
    """The first problem of `error` as a SuiteError naming the case and the field."""
    first = error.errors()[0]
    loc = list(first["loc"])
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        case = _case_id(raw, loc[1])
        node: Any = _at(raw, ["cases", loc[1]])
        loc = loc[2:]
    else:
        node = raw
    path: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(node, (list, tuple)) and part < len(node):
            path[-1:] = [f"{path[-1]}[{part}]" if path else f"[{part}]"]
            node = node[part]
        elif isinstance(part, str) and isinstance(node, Mapping) and part in node:
            path.append(part)
            node = node[part]
        elif i == len(loc) - 1 and first["type"] in ("missing", "extra_forbidden"):
            path.append(str(part))  # the missing or unknown field itself
        elif not isinstance(part, str):
            break
        # else: a union member's tag ('list[str]', 'tool_calls'): not part of the file's path
    return SuiteError(_problem(first, node), file=file, case=case, field=".".join(path))


def _problem(err: Mapping[str, Any], node: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return "unknown field; check the spelling against suite.schema.json"
    msg = str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input", node)
    return f"{msg}, got {got!r}" if kind != "value_error" or "got" not in msg else msg


def _case_id(raw: Any, index: int) -> str:
    item = _at(raw, ["cases", index])
    cid = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    return str(cid) if cid else f"#{index + 1}"


def _at(raw: Any, path: list[Any]) -> Any:
    node = raw
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node
