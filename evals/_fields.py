"""Suite fields that a file writes as text and Python passes as live objects.

A suite file names Python objects (`module:attr` or `file.py:attr`), scripted responses
(`{tool_calls: ...}`, `{raise: ...}`), team option objects (`{ref: ...}`) and cassette paths;
Python code passes the functions, messages, exceptions and paths themselves. Each field type
here is an `Annotated` type that accepts both: a validator turns the file form into the object
(names resolved relative to the suite file's folder, given in the validation context under
`SUITE_DIR`), the JSON Schema shows the file form, and a live object passes through.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema

from agentorch import Team
from agentorch._refs import resolve_ref, resolve_team

__all__ = [
    "SUITE_DIR",
    "READY_MADE_TEAMS",
    "CassettePath",
    "Function",
    "ModelFactory",
    "RoleScript",
    "ScorerRef",
    "TeamOption",
    "TeamRef",
]

SUITE_DIR = "suite_dir"
"""Validation-context key: the folder a suite file's relative names are resolved from."""

READY_MADE_TEAMS: dict[str, str] = {
    "research": "agentorch.graphs.research:build_team",
}
"""Short names of the ready-made teams a suite can name with `team: research`."""

_REF = r"^[^:]+:[^:]+$"


def _ref_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": _REF, "description": description})


def _resolve(ref: str, info: ValidationInfo) -> Any:
    base = info.context.get(SUITE_DIR) if isinstance(info.context, Mapping) else None
    try:
        return resolve_ref(ref, base=base)
    except LookupError as e:
        raise ValueError(str(e)) from None


def _callable_named(what: str) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        obj = _resolve(value, info) if isinstance(value, str) else value
        if not callable(obj):
            raise ValueError(f"{value!r} is not {what}")
        return obj

    return BeforeValidator(check)


Function = Annotated[
    Callable[..., Any],
    _callable_named("a function"),
    _ref_schema("`module:attr` or `file.py:attr` of a function."),
]
ModelFactory = Annotated[
    Callable[..., Any],
    _callable_named("a function returning a chat model"),
    _ref_schema("`module:attr` or `file.py:attr` of a function returning a chat model."),
]
"""A function, or its `module:attr` / `file.py:attr` name (`ModelFactory`: one building a chat model)."""


def _scorer(value: Any, info: ValidationInfo) -> Any:
    obj = _resolve(value, info) if isinstance(value, str) else value
    if not callable(obj) and not hasattr(obj, "ascore"):
        what = "a function" if isinstance(value, str) else "a scorer"
        raise ValueError(f"{value!r} is not {what}: give a function (RunResult, Case) -> Score")
    return obj


ScorerRef = Annotated[
    Any,
    BeforeValidator(_scorer),
    _ref_schema("`module:attr` of a custom scorer `(RunResult, Case) -> Score | bool`."),
]
"""A scorer: a function `(RunResult, Case) -> Score | bool`, a `Scorer`, or a function's name."""


def _team(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        if isinstance(value, Team) or callable(value):
            return value
        raise ValueError(f"must be a Team or a function returning one; got a {type(value).__name__}")
    base = info.context.get(SUITE_DIR) if isinstance(info.context, Mapping) else None
    try:
        return resolve_team(READY_MADE_TEAMS.get(value, value), base=base)
    except LookupError as e:
        raise ValueError(f"{e} (ready-made teams: {', '.join(READY_MADE_TEAMS)})") from None


TeamRef = Annotated[
    Any,
    BeforeValidator(_team),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A ready-made team (`research`), or `file.py[:attr]` / `module[:attr]` "
            "(attr: `team`) naming a `Team`, a function `() -> Team` or a function "
            "`(llm, **team_options) -> Team`.",
        }
    ),
]
"""A `Team`, a function `(llm, **options) -> Team` (called once per case) or `() -> Team`, a
ready-made team's name, or a team reference naming one of those (`agentorch._refs`)."""


def _option(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, Mapping) and set(value) == {"ref"}:
        try:
            return _resolve(value["ref"], info)
        except ValueError as e:
            raise ValueError(f"`ref`: {e}") from None
    return value


TeamOption = Annotated[Any, BeforeValidator(_option), WithJsonSchema({})]
"""A keyword argument for the team function; in a file, `{ref: module:attr}` names a Python object."""


def _cassette(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, (str, Path)):
        return value
    path = Path(value)
    base = info.context.get(SUITE_DIR) if isinstance(info.context, Mapping) else None
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise ValueError(f"cassette `{path}` does not exist")
    return path


CassettePath = Annotated[
    Path,
    BeforeValidator(_cassette),
    WithJsonSchema({"type": "string", "description": "A JSONL cassette, relative to the suite file."}),
]
"""A cassette file recorded by `RecordingChatModel` (relative to the suite file's folder)."""


# -- scripted responses -------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolCall(_Spec):
    """One tool call a scripted response asks for."""

    name: str = Field(description="The tool to call.")
    args: dict[str, Any] = Field(default_factory=dict, description="Its arguments.")


_call_ids = itertools.count(1)


class ToolCallsResponse(_Spec):
    """Ask for tools: becomes an `AIMessage` with these tool calls."""

    tool_calls: list[ToolCall] = Field(description="The calls the model asks for.")
    content: str = Field(default="", description="Text next to the calls.")

    def message(self) -> AIMessage:
        """The `AIMessage` asking for these calls (each with a fresh id)."""
        return AIMessage(
            content=self.content,
            tool_calls=[
                {"name": c.name, "args": dict(c.args), "id": f"call-{next(_call_ids)}"}
                for c in self.tool_calls
            ],
        )


class RaiseResponse(_Spec):
    """A fault: the scripted call raises this exception."""

    raise_: str = Field(
        alias="raise", description="A builtin exception name (`TimeoutError`) or `module:ErrorClass`."
    )
    message: str | None = Field(default=None, description="The exception's message.")

    @field_validator("raise_")
    @classmethod
    def _names_an_exception(cls, name: str, info: ValidationInfo) -> str:
        _exception_class(name, info)
        return name


def _raise(response: RaiseResponse, info: ValidationInfo) -> Exception:
    """A fresh instance of the exception a `{raise: ...}` response names."""
    message = response.message or f"scripted {response.raise_}"
    return _exception_class(response.raise_, info)(message)


def _exception_class(name: str, info: ValidationInfo) -> type[Exception]:
    try:
        found = _resolve(name, info) if ":" in name else getattr(builtins, name, None)
    except ValueError:
        found = None
    if not (isinstance(found, type) and issubclass(found, Exception)):
        raise ValueError(
            f"{name!r} is not an exception class (use a builtin name like `TimeoutError` or `module:ErrorClass`)"
        )
    return found


class _Overlapping:
    """JSON Schema `anyOf` instead of `oneOf`: a `{tool_calls: ...}` mapping is a mapping too."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if "oneOf" in schema:
            schema["anyOf"] = schema.pop("oneOf")
        return schema


def _response_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        keys = set(value)
        if "raise" in keys and keys <= {"raise", "message"}:
            return "raise"
        if "tool_calls" in keys and keys <= {"tool_calls", "content"}:
            return "tool_calls"
        return "structured"
    if isinstance(value, (AIMessage, BaseModel, BaseException)):
        return "object"
    return None


Response = Annotated[
    Annotated[str, Tag("text")]
    | Annotated[ToolCallsResponse, AfterValidator(ToolCallsResponse.message), Tag("tool_calls")]
    | Annotated[RaiseResponse, AfterValidator(_raise), Tag("raise")]
    | Annotated[dict[str, Any], Tag("structured")]
    | Annotated[SkipJsonSchema[Any], Tag("object")],
    Discriminator(
        _response_kind,
        custom_error_type="response",
        custom_error_message="a response must be text, a mapping (structured output), "
        "{tool_calls: [...]} or {raise: ErrorName}",
    ),
    _Overlapping(),
]
"""One scripted answer: text, a mapping (structured output), `{tool_calls: [{name, args}],
content: ""}` (ask for tools), `{raise: TimeoutError, message: ...}` (a fault); in Python also
an `AIMessage`, a pydantic model or an exception instance."""


class ScriptCall(_Spec):
    """A role answered by a function of the messages."""

    call: Function


def _script_kind(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return "call"
    if callable(value):
        return "function"
    if isinstance(value, (list, tuple)):
        return "responses"
    return None


RoleScript = Annotated[
    Annotated[list[Response], Tag("responses")]
    | Annotated[ScriptCall, AfterValidator(lambda c: c.call), Tag("call")]
    | Annotated[SkipJsonSchema[Callable[..., Any]], Tag("function")],
    Discriminator(
        _script_kind,
        custom_error_type="role_script",
        custom_error_message="a role's script must be a list of responses or {call: module:attr}",
    ),
]
"""A role's script: responses consumed in order, or a function of the messages (`{call:
module:attr}` in a file)."""
