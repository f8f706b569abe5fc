"""What agentorch accepts as a model: a LangChain chat model, or one with fallbacks.

`primary.with_fallbacks([backup])` returns a `RunnableWithFallbacks`, not a `BaseChatModel`;
it still offers `bind_tools` and `with_structured_output` (it applies them to the primary and
to every fallback), which is all the team needs, so it is accepted wherever a model is.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableWithFallbacks

__all__ = ["STRUCTURED_OUTPUT_METHODS", "ChatModel", "StructuredOutputMethod", "chat_model_problem"]

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
    """Why `value` cannot serve as a team model, or None if it can."""
    if isinstance(value, BaseChatModel):
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
