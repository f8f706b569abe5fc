"""Suites and cases in Python, and loading them from YAML files.

A `Suite` names a team, a model setup and cases; a `Case` is a goal, optional overrides and
`Expectations`. YAML files (see `suite.schema.json`) load into the same objects through
`load_suite`. Every problem is a `SuiteError` naming the file, the case and the field.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentorch import Team
from agentorch._errors import SuiteError
from agentorch._refs import resolve_ref
from agentorch.evals._spec import CASE_ID_PATTERN, Approval, CaseSpec, Expectations, ModelSpec, SuiteSpec

__all__ = ["Case", "Suite", "ModelSetup", "Approvals", "load_suite", "load_suites", "suite_files"]

READY_MADE_TEAMS: dict[str, str] = {
    "research": "agentorch.graphs.research:build_team",
}
"""Short names of the ready-made teams a suite can name with `team: research`."""

Approvals = Literal["approve", "reject"] | list[Approval] | None
"""How a case answers interrupts: all approved, all rejected, or these answers in order."""

_SUITE_SUFFIXES = (".yaml", ".yml")


class _Runtime(BaseModel):
    """Validated like the file format, but holding live objects (callables, teams, models)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise _suite_error(
                e,
                data,
                file=str(data.get("file", "") or ""),
                case=str(data.get("id", "")) if isinstance(self, Case) else "",
            ) from None


class ModelSetup(_Runtime):
    """The model of a suite: a script, a factory (optionally overridden by a script) or a cassette.

    Example:
        >>> setup = ModelSetup(script={"planner": [{"subtasks": []}]}, latency=0.01)
    """

    factory: Callable[[], BaseChatModel] | None = None
    """Builds a fresh model per case; if it returns a `ScriptedChatModel`, `script` entries
    replace its roles."""
    script: dict[str, Any] = Field(default_factory=dict)
    """ScriptedChatModel script: role -> list of responses or a callable of the messages."""
    cassette: Path | None = None
    """A cassette recorded by `RecordingChatModel`, replayed offline."""
    latency: float | dict[str, float] = 0.0
    """Seconds per scripted call (or per role)."""

    @property
    def empty(self) -> bool:
        """No model configured at all."""
        return self.factory is None and not self.script and self.cassette is None


class Case(_Runtime):
    """One eval case.

    Example:
        >>> case = Case(id="brief", goal="Write a brief", expect={"status": "completed"})
        >>> case.expect.status
        'completed'
    """

    id: str = Field(pattern=CASE_ID_PATTERN)
    """Unique within the suite."""
    goal: str = Field(min_length=1)
    """The goal given to the team."""
    expect: Expectations = Field(default_factory=Expectations)
    """Built-in checks; each field set becomes a scorer."""
    scorers: list[Any] = Field(default_factory=list)
    """Custom scorers: functions `(RunResult, Case) -> Score | bool`, or `Scorer` instances."""
    script: dict[str, Any] = Field(default_factory=dict)
    """Per-role script entries replacing the suite's for this case."""
    latency: float | dict[str, float] | None = None
    """Overrides the suite model's latency."""
    team_options: dict[str, Any] = Field(default_factory=dict)
    """Merged over the suite's team options."""
    memory: list[str] | None = None
    """Texts seeding a fresh memory for this case (replaces the suite's seed)."""
    approvals: Approvals = None
    """Replaces the suite's approvals."""
    description: str = ""
    tags: list[str] = Field(default_factory=list)

    @field_validator("scorers")
    @classmethod
    def _callable_scorers(cls, value: list[Any]) -> list[Any]:
        for i, s in enumerate(value):
            if not callable(s) and not hasattr(s, "ascore"):
                raise ValueError(
                    f"item {i} ({s!r}) is not a scorer: give a function (RunResult, Case) -> Score"
                )
        return value


class Suite(_Runtime):
    """A named set of cases run against one team and model setup.

    Example:
        >>> from agentorch.graphs.research import demo_model
        >>> suite = Suite(name="demo", team="research", model=ModelSetup(factory=demo_model),
        ...               cases=[Case(id="brief", goal="Write a brief",
        ...                           expect={"status": "completed"})])
        >>> [c.id for c in suite.cases]
        ['brief']
    """

    name: str = Field(min_length=1)
    team: Any
    """A ready-made team name ("research"), a `module:attr` reference, a `Team`, or a function
    `(llm, **team_options) -> Team` (called once per case, so nothing leaks between cases)."""
    cases: list[Case] = Field(min_length=1)
    model: ModelSetup = Field(default_factory=ModelSetup)
    team_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the team function; `budget` and `retry` may be mappings."""
    memory: list[str] | None = None
    """Texts seeding a fresh ephemeral memory for every case (None: no memory)."""
    approvals: Approvals = None
    judge_model: ModelSetup | None = None
    """The model `expect.judge` asks (its role is "judge")."""
    description: str = ""
    file: str = ""
    """The file the suite was loaded from ("" when built in Python)."""

    @field_validator("team")
    @classmethod
    def _team_reference(cls, value: Any) -> Any:
        if isinstance(value, str):
            ref = READY_MADE_TEAMS.get(value, value)
            try:
                value = resolve_ref(ref)
            except LookupError as e:
                known = ", ".join(READY_MADE_TEAMS)
                raise ValueError(f"{e} (ready-made teams: {known})") from None
        if not isinstance(value, Team) and not callable(value):
            raise ValueError(
                f"must be a Team or a function (llm, **options) -> Team, got {type(value).__name__}"
            )
        return value

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
    try:
        spec = SuiteSpec.model_validate(raw)
    except ValidationError as e:
        raise _suite_error(e, raw, file=file) from None
    return _suite_from_spec(spec, p)


def _suite_from_spec(spec: SuiteSpec, path: Path) -> Suite:
    file, base = str(path), path.parent
    cases = [_case_from_spec(c, file, base) for c in spec.cases]
    team = _resolve(READY_MADE_TEAMS.get(spec.team, spec.team), base, file, "", "team")
    options = {
        k: _options_value(v, base, file, "", f"team_options.{k}") for k, v in spec.team_options.items()
    }
    return Suite(
        name=spec.name or path.stem,
        description=spec.description,
        team=team,
        team_options=options,
        model=_model_from_spec(spec.model, file, base, "model"),
        judge_model=_model_from_spec(spec.judge_model, file, base, "judge_model")
        if spec.judge_model
        else None,
        memory=list(spec.memory.seed) if spec.memory else None,
        approvals=spec.approvals,
        cases=cases,
        file=file,
    )


def _case_from_spec(spec: CaseSpec, file: str, base: Path) -> Case:
    scorers = [_resolve(ref, base, file, spec.id, f"scorers[{i}]") for i, ref in enumerate(spec.scorers)]
    for i, s in enumerate(scorers):
        if not callable(s):
            raise SuiteError(
                f"{spec.scorers[i]!r} is not a function", file=file, case=spec.id, field=f"scorers[{i}]"
            )
    return Case(
        id=spec.id,
        goal=spec.goal,
        description=spec.description,
        tags=spec.tags,
        expect=spec.expect,
        scorers=scorers,
        script=_script_from_spec(spec.script, base, file, spec.id, "script"),
        latency=spec.latency,
        team_options={
            k: _options_value(v, base, file, spec.id, f"team_options.{k}")
            for k, v in spec.team_options.items()
        },
        memory=list(spec.memory.seed) if spec.memory else None,
        approvals=spec.approvals,
    )


def _model_from_spec(spec: ModelSpec, file: str, base: Path, field: str) -> ModelSetup:
    factory = _resolve(spec.factory, base, file, "", f"{field}.factory") if spec.factory else None
    if factory is not None and not callable(factory):
        raise SuiteError(
            f"{spec.factory!r} is not a function returning a chat model", file=file, field=f"{field}.factory"
        )
    cassette = None
    if spec.cassette:
        cassette = Path(spec.cassette) if Path(spec.cassette).is_absolute() else base / spec.cassette
        if not cassette.is_file():
            raise SuiteError(f"cassette `{cassette}` does not exist", file=file, field=f"{field}.cassette")
    return ModelSetup(
        factory=factory,
        script=_script_from_spec(spec.script, base, file, "", f"{field}.script"),
        cassette=cassette,
        latency=spec.latency,
    )


def _resolve(ref: str, base: Path, file: str, case: str, field: str) -> Any:
    try:
        return resolve_ref(ref, base=base)
    except LookupError as e:
        hint = f" (ready-made teams: {', '.join(READY_MADE_TEAMS)})" if field == "team" else ""
        raise SuiteError(f"{e}{hint}", file=file, case=case, field=field) from None


def _options_value(value: Any, base: Path, file: str, case: str, field: str) -> Any:
    """Team option values: `{ref: "module:attr"}` names a Python object; the rest is literal."""
    if isinstance(value, dict) and set(value) == {"ref"}:
        return _resolve(value["ref"], base, file, case, f"{field}.ref")
    return value


def _script_from_spec(
    script: Mapping[str, Any], base: Path, file: str, case: str, field: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, entry in script.items():
        where = f"{field}.{role}"
        if isinstance(entry, dict):  # {call: "module:attr"}, checked by the spec
            fn = _resolve(entry["call"], base, file, case, f"{where}.call")
            if not callable(fn):
                raise SuiteError(
                    f"{entry['call']!r} is not a function", file=file, case=case, field=f"{where}.call"
                )
            out[role] = fn
        else:
            out[role] = [_response(r, file, case, f"{where}[{i}]") for i, r in enumerate(entry)]
    return out


_call_ids = itertools.count(1)


def _response(value: Any, file: str, case: str, field: str) -> Any:
    """A scripted response from its YAML form (see `RoleScriptSpec`)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise SuiteError(
            f"a response must be text, a mapping (structured output), {{tool_calls: [...]}} or "
            f"{{raise: ErrorName}}, got {value!r}",
            file=file,
            case=case,
            field=field,
        )
    if "raise" in value and set(value) <= {"raise", "message"}:
        return _exception(value, file, case, field)
    if "tool_calls" in value and set(value) <= {"tool_calls", "content"}:
        calls = value["tool_calls"]
        if not isinstance(calls, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("args", {}), dict)
            for c in calls
        ):
            raise SuiteError(
                "`tool_calls` must be a list of {name: str, args: mapping}",
                file=file,
                case=case,
                field=f"{field}.tool_calls",
            )
        return AIMessage(
            content=str(value.get("content", "")),
            tool_calls=[
                {"name": c["name"], "args": dict(c.get("args", {})), "id": f"call-{next(_call_ids)}"}
                for c in calls
            ],
        )
    return value


def _exception(value: Mapping[str, Any], file: str, case: str, field: str) -> BaseException:
    name = str(value["raise"])
    message = str(value.get("message", f"scripted {name}"))
    try:
        cls = resolve_ref(name) if ":" in name else getattr(builtins, name, None)
    except LookupError:
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        raise SuiteError(
            f"{name!r} is not an exception class (use a builtin name like `TimeoutError` "
            "or `module:ErrorClass`)",
            file=file,
            case=case,
            field=f"{field}.raise",
        )
    return cls(message)


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
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            path[-1:] = [f"{path[-1]}[{part}]" if path else f"[{part}]"]
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and part.isidentifier():
            path.append(part)  # a missing or unknown field
            break
        else:
            break  # a union member tag like 'list[str]'
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
