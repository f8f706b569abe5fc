"""What agentorch accepts as a model: a LangChain chat model, or one with fallbacks.

`primary.with_fallbacks([backup])` returns a `RunnableWithFallbacks`, not a `BaseChatModel`;
it still offers `bind_tools` and `with_structured_output` (it applies them to the primary and
to every fallback), which is all the team needs, so it is accepted wherever a model is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableWithFallbacks

from agentorch._errors import ConfigError
from agentorch._types import SubTask, SubTaskResult

__all__ = [
    "STRUCTURED_OUTPUT_METHODS",
    "Cascade",
    "ChatModel",
    "ModelSpec",
    "RouteModel",
    "StructuredOutputMethod",
    "cascade",
    "chat_model_problem",
    "first_model",
    "members",
    "model_label",
]

ChatModel: TypeAlias = BaseChatModel | RunnableWithFallbacks[Any, Any]
"""A chat model, or chat models chained with `with_fallbacks` (tried in order on errors)."""

StructuredOutputMethod: TypeAlias = Literal["json_schema", "function_calling", "json_mode"]
"""How structured output is requested (`with_structured_output(method=...)`)."""
STRUCTURED_OUTPUT_METHODS: tuple[StructuredOutputMethod, ...] = (
    "json_schema",
    "function_calling",
    "json_mode",
)


def chat_model_problem(value: Any) -> str | None:
    """Why `value` cannot serve as a team model (a chat model or a `Cascade`), or None if it can."""
    if isinstance(value, (BaseChatModel, Cascade)):
        return None
    if isinstance(value, RunnableWithFallbacks):
        for inner in (value.runnable, *value.fallbacks):
            if not isinstance(inner, BaseChatModel):
                return (
                    "a `with_fallbacks` chain must join chat models only (call `bind_tools` / "
                    f"`with_structured_output` never on them: the team does), got "
                    f"{type(inner).__name__}"
                )
        return None
    return f"expected a LangChain chat model, got {type(value).__name__}"


class Cascade:
    """Chat models tried cheapest first for one agent's sub-tasks (build it with `cascade`).

    A sub-task's first attempt uses `models[0]`. An attempt the critic sends back for revision,
    or one whose model call fails after its retries, moves the next attempt one model up; a
    sub-task with no model left fails with an error that says so. A sub-task the planner marks
    `effort: "high"` starts at the last (strongest) model. The planner, critic, synthesizer and
    summarizer use `models[0]` when given a cascade.

    A cascade is a description, not a chat model: the team picks one member per attempt and
    calls `bind_tools` / `with_structured_output` on that member.
    """

    __slots__ = ("models",)

    models: tuple[ChatModel, ...]

    def __init__(self, models: Sequence[ChatModel]) -> None:
        if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or not models:
            raise ConfigError("A cascade needs at least one chat model: `cascade(cheap, strong)`.")
        for i, m in enumerate(models):
            if isinstance(m, Cascade):
                raise ConfigError(f"`cascade(...)` member {i} is itself a cascade; list its models directly.")
            if (problem := chat_model_problem(m)) is not None:
                raise ConfigError(f"`cascade(...)` member {i}: {problem}.")
        object.__setattr__(self, "models", tuple(models))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("A Cascade is frozen; build a new one with `cascade(...)`.")

    def __repr__(self) -> str:
        return f"cascade({', '.join(model_label(m) for m in self.models)})"

    def route(self, subtask: SubTask, attempt: int, history: Sequence[SubTaskResult]) -> ChatModel | None:
        """The member for `attempt` of `subtask`, given its earlier attempts (`SubTaskResult`s),
        or None when the cascade has no model left. This is the team's default routing rule
        (see `Team(route_model=...)`), so a custom rule can fall back to it."""
        start = len(self.models) - 1 if subtask.effort == "high" else 0
        level = start + sum(1 for h in history if h.status == "failed" or h.sent_back)
        return self.models[level] if level < len(self.models) else None


def cascade(*models: ChatModel) -> Cascade:
    """Chat models from cheapest to strongest, for one agent or a whole team.

    Example:
        >>> from agentorch.llms import ScriptedChatModel, cascade
        >>> cheap = ScriptedChatModel({}, model_name="gpt-4o-mini")
        >>> strong = ScriptedChatModel({}, model_name="gpt-4o")
        >>> cascade(cheap, strong)
        cascade(gpt-4o-mini, gpt-4o)
    """
    return Cascade(models)


ModelSpec: TypeAlias = ChatModel | Cascade
"""What `llm=` accepts: a chat model, or a `cascade` of them."""

RouteModel: TypeAlias = Callable[[SubTask, int, Sequence[SubTaskResult]], ChatModel | None]
"""`route_model(subtask, attempt, history) -> model or None`: picks the chat model for one
attempt of a sub-task (`SubTask`, the attempt's number from 1, the sub-task's earlier attempts as
`SubTaskResult`s, oldest first). None means no model is left: the sub-task fails saying so."""


def model_label(model: Any) -> str:
    """A model's name as its configuration states it (for records before it answers)."""
    if isinstance(model, RunnableWithFallbacks):
        return model_label(model.runnable)
    for attr in ("model_name", "model", "model_id"):
        name = getattr(model, attr, None)
        if isinstance(name, str) and name:
            return name
    return type(model).__name__


def members(spec: Any) -> tuple[ChatModel, ...]:
    """The chat models of a model or a cascade."""
    return spec.models if isinstance(spec, Cascade) else (spec,)


def first_model(spec: Any) -> ChatModel:
    """A cascade's first model, or the model itself."""
    return spec.models[0] if isinstance(spec, Cascade) else spec
