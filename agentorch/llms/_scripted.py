"""`ScriptedChatModel`: a strict, deterministic chat model for tests, demos and eval suites."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from agentorch._errors import ConfigError, ScriptExhausted
from agentorch._keys import ROLE_KEY, SUBTASK_KEY

__all__ = ["ScriptedChatModel", "ScriptedCall", "Response", "Script"]

Response = str | dict[str, Any] | BaseModel | AIMessage | BaseException
"""One scripted answer: text, structured output (dict or pydantic), a full message, or an
exception instance to raise (fault injection)."""

Script = Mapping[str, Sequence[Response] | Callable[[list[BaseMessage]], Response]]
"""Role -> responses consumed in order, or a function of the messages. A key "role:subtask_id"
(e.g. "researcher:facts") scripts one sub-task alone, so parallel branches stay deterministic;
key "*" is the fallback for roles without their own entry."""


@dataclass(frozen=True)
class ScriptedCall:
    """One call the scripted model received."""

    role: str
    subtask_id: str | None
    messages: list[BaseMessage]
    tools: list[str]
    response: AIMessage | None
    error: str | None = None
    started_at: float = field(default=0.0)


class ScriptedChatModel(BaseChatModel):
    """A real `BaseChatModel` that answers per role from a script.

    The role of each call comes from the run config metadata (`agentorch_role`), which every
    agentorch LLM call sets. Responses per role are consumed in order; a callable computes the
    response from the messages. It raises `ScriptExhausted` when a role's script is missing or
    used up — it never silently loops back to the start.

    It streams like a real model when asked to (`astream`, or LangGraph's "messages" stream
    mode, as `team.stream(..., tokens=True)` uses): a text answer arrives word by word, a tool
    call or structured output as one chunk, the usage on the last chunk (so a streamed answer
    counts the same tokens as an invoked one); `latency` is spread over the chunks.
    `disable_streaming=True` answers in one piece instead.

    Example:
        >>> from agentorch.llms import ScriptedChatModel
        >>> m = ScriptedChatModel({"writer": ["Hello."]})
        >>> m.invoke("hi", config={"metadata": {"agentorch_role": "writer"}}).content
        'Hello.'
    """

    __test__ = False  # not a pytest test class, despite being used in tests

    script: dict[str, Any]
    latency: float | Mapping[str, float] = 0.0
    """Seconds to sleep per call (async sleep in `ainvoke`, so parallel branches overlap); a
    mapping gives per-role latency."""
    model_name: str = "scripted"
    prompt_cache: int | None = None
    """Report cached prompt tokens like a provider that caches prompt prefixes automatically:
    the longest prefix of a call's prompt already sent in an earlier call to this model is
    counted in `usage_metadata["input_token_details"]["cache_read"]` once it reaches this many
    tokens, in steps of 128 above it (OpenAI's rule with 1024). None: no cache is reported."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _positions: dict[str, int] = PrivateAttr(default_factory=dict)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _prompts: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, script: Script, **kwargs: Any) -> None:
        if not isinstance(script, Mapping):
            raise ConfigError(
                f"ScriptedChatModel takes a mapping of role -> responses, got "
                f"{type(script).__name__}; e.g. ScriptedChatModel({{'planner': [plan]}})."
            )
        normalized: dict[str, Any] = {}
        for role, entry in script.items():
            if callable(entry):
                normalized[role] = entry
            elif isinstance(entry, (str, bytes, Mapping, BaseModel, AIMessage)) or not isinstance(
                entry, Sequence
            ):
                raise ConfigError(
                    f"The script for role `{role}` must be a list of responses or a callable, "
                    f"got {type(entry).__name__}; wrap a single response in a list."
                )
            else:
                normalized[role] = list(entry)
        latency = kwargs.get("latency", 0.0)
        for delay in latency.values() if isinstance(latency, Mapping) else [latency]:
            # time.sleep rejects negatives and overflows; NaN would not wait at all
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay < 1e6:
                raise ConfigError(
                    f"`latency` must be seconds in [0, 1e6) or a mapping of role -> seconds, got {latency!r}."
                )
        super().__init__(script=normalized, **kwargs)

    # -- inspection -------------------------------------------------------------------------

    @property
    def calls(self) -> list[ScriptedCall]:
        """Every call received, in the order they arrived."""
        with self._lock:
            return list(self._calls)

    def calls_for(self, role: str) -> list[ScriptedCall]:
        """The calls made for one role."""
        return [c for c in self.calls if c.role == role]

    def remaining(self) -> dict[str, int]:
        """Unconsumed responses per listed role."""
        with self._lock:
            return {
                r: len(s) - self._positions.get(r, 0) for r, s in self.script.items() if isinstance(s, list)
            }

    def assert_complete(self) -> None:
        """Raise `AssertionError` if any listed response was never used."""
        left = {r: n for r, n in self.remaining().items() if n}
        if left:
            raise AssertionError(f"Scripted responses never used: {left}")

    # -- BaseChatModel ----------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "agentorch-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like a real chat model; the scripted responses decide which are called."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    # langchain-core calls `_stream`/`_astream` without the run manager, so the speaker (role
    # and sub-task, from the run config metadata) travels in a context variable that these
    # public entry points set: `generate`/`agenerate` (under invoke, batch and LangGraph's
    # streaming of an invoked model) and `stream`/`astream` (which pick the answer at the
    # first chunk).

    def generate(
        self, messages: Any, stop: list[str] | None = None, callbacks: Any = None, **kwargs: Any
    ) -> LLMResult:
        with _speaking(kwargs.get("metadata")):
            return super().generate(messages, stop, callbacks, **kwargs)

    async def agenerate(
        self, messages: Any, stop: list[str] | None = None, callbacks: Any = None, **kwargs: Any
    ) -> LLMResult:
        with _speaking(kwargs.get("metadata")):
            return await super().agenerate(messages, stop, callbacks, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        chunks = super().stream(input, config, stop=stop, **kwargs)
        with _speaking((config or {}).get("metadata")):
            first = next(chunks, None)
        if first is not None:
            yield first
            yield from chunks

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        chunks = super().astream(input, config, stop=stop, **kwargs)
        with _speaking((config or {}).get("metadata")):
            first = await anext(chunks, None)
        if first is not None:
            yield first
            async for chunk in chunks:
                yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        role, subtask = _speaker(run_manager)
        delay = self._latency_for(role)
        if delay:
            time.sleep(delay)
        return _result(self._respond(role, subtask, messages, kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        role, subtask = _speaker(run_manager)
        delay = self._latency_for(role)
        if delay:
            await asyncio.sleep(delay)
        return _result(self._respond(role, subtask, messages, kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        role, subtask = _speaker(run_manager)
        chunks = _chunks(self._respond(role, subtask, messages, kwargs))
        step = self._latency_for(role) / len(chunks)
        for chunk in chunks:
            if step:
                time.sleep(step)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        role, subtask = _speaker(run_manager)
        chunks = _chunks(self._respond(role, subtask, messages, kwargs))
        step = self._latency_for(role) / len(chunks)
        for chunk in chunks:
            if step:
                await asyncio.sleep(step)
            yield chunk

    # -- internals --------------------------------------------------------------------------

    def _latency_for(self, role: str) -> float:
        if isinstance(self.latency, Mapping):
            return float(self.latency.get(role, self.latency.get("*", 0.0)))
        return float(self.latency)

    def _next_response(self, role: str, subtask: str | None, messages: list[BaseMessage]) -> Response:
        keys = [f"{role}:{subtask}", role, "*"] if subtask else [role, "*"]
        key = next((k for k in keys if k in self.script), None)
        if key is None:
            raise ScriptExhausted(
                f"ScriptedChatModel has no script for role `{role}` "
                f"(scripted roles: {', '.join(sorted(self.script)) or 'none'}). "
                f"Add a `{role!r}: [...]` entry or a '*' fallback."
            )
        entry = self.script[key]
        if callable(entry):
            return entry(messages)
        with self._lock:
            pos = self._positions.get(key, 0)
            if pos >= len(entry):
                raise ScriptExhausted(
                    f"ScriptedChatModel ran out of responses for role `{key}`: all {len(entry)} "
                    f"were consumed. Add more responses to the script for `{key}`."
                )
            self._positions[key] = pos + 1
        return entry[pos]

    def _respond(
        self, role: str, subtask: str | None, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> AIMessage:
        """The next answer for `role` (usage and model name set), recorded in `.calls`."""
        tools = kwargs.get("tools") or []
        tool_names = [t["function"]["name"] for t in tools if "function" in t]
        started = time.time()
        try:
            response = self._next_response(role, subtask, messages)
            if isinstance(response, BaseException):
                raise response
            message = _to_message(response, tool_names, kwargs.get("tool_choice"))
        except BaseException as e:
            with self._lock:
                self._calls.append(
                    ScriptedCall(role, subtask, list(messages), tool_names, None, repr(e), started)
                )
            raise
        input_tokens = count_tokens_approximately(messages)
        output_tokens = count_tokens_approximately([message])
        message.usage_metadata = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        if self.prompt_cache is not None:
            cached = self._cached_prefix(messages, input_tokens, self.prompt_cache)
            message.usage_metadata["input_token_details"] = {"cache_read": cached}
        message.response_metadata = {"model_name": self.model_name}
        with self._lock:
            self._calls.append(
                ScriptedCall(role, subtask, list(messages), tool_names, message, None, started)
            )
        return message

    def _cached_prefix(self, messages: list[BaseMessage], input_tokens: int, minimum: int) -> int:
        """Tokens of the longest prefix of this prompt that an earlier call sent, as a provider's
        prefix cache counts them (at least `minimum`, then in steps of 128; else 0)."""
        prompt = "".join(f"{m.type}\x00{m.text}\x01" for m in messages)
        with self._lock:
            earlier = list(self._prompts)
            self._prompts.append(prompt)
        shared = max((_common_prefix(prompt, p) for p in earlier), default=0)
        # the approximate counter's rate (4 characters a token), never more than the prompt
        tokens = min(input_tokens, shared // 4)
        return tokens - (tokens - minimum) % 128 if tokens >= max(minimum, 1) else 0


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of `a` and `b` (a binary search of C-speed comparisons)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


_SPEAKER: ContextVar[tuple[str, str | None] | None] = ContextVar("agentorch_scripted_speaker", default=None)
"""(role, sub-task) of the call in progress, set by the public entry points of the model."""


def _speaker_of(metadata: Any) -> tuple[str, str | None]:
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return str(metadata.get(ROLE_KEY, "")), metadata.get(SUBTASK_KEY)


@contextlib.contextmanager
def _speaking(metadata: Any) -> Iterator[None]:
    token = _SPEAKER.set(_speaker_of(metadata))
    try:
        yield
    finally:
        _SPEAKER.reset(token)


def _speaker(run_manager: Any) -> tuple[str, str | None]:
    """The role and sub-task of this call: from the run manager's metadata when langchain
    passes one, else from the entry point that started the call."""
    if run_manager is not None:
        return _speaker_of(run_manager.metadata)
    return _SPEAKER.get() or ("", None)


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


_WORD = re.compile(r"\S+\s*|\s+")


def _chunks(message: AIMessage) -> list[ChatGenerationChunk]:
    """`message` as a streaming model sends it: text word by word (the pieces join to the exact
    text), then tool calls whole; usage and metadata on the last chunk only, because chunks are
    added up (usage summed, strings concatenated) into the message the caller gets."""
    text = isinstance(message.content, str)
    pieces = _WORD.findall(message.content) if isinstance(message.content, str) else [message.content]
    calls = [
        {"name": c["name"], "args": json.dumps(c["args"]), "id": c.get("id"), "index": i}
        for i, c in enumerate(message.tool_calls)
    ]
    calls += [
        {"name": c.get("name"), "args": c.get("args"), "id": c.get("id"), "index": len(calls) + i}
        for i, c in enumerate(message.invalid_tool_calls)
    ]
    last = AIMessageChunk(
        content="" if text else [],
        id=message.id,
        tool_call_chunks=calls,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        chunk_position="last",
    )
    streamed = [AIMessageChunk(content=p, id=message.id) for p in pieces]
    return [ChatGenerationChunk(message=m) for m in [*streamed, last]]


def _to_message(response: Response, tool_names: list[str], tool_choice: Any) -> AIMessage:
    """Turn a scripted response into the message a real model would send."""
    if isinstance(response, AIMessage):
        return response.model_copy(deep=True)
    if isinstance(response, str):
        return AIMessage(content=response)
    if isinstance(response, BaseModel):
        args = response.model_dump(mode="json")
        name = _structured_tool_name(type(response).__name__, tool_names, tool_choice)
    elif isinstance(response, Mapping):
        args = json.loads(json.dumps(response))  # a private, JSON-clean copy
        name = _structured_tool_name(None, tool_names, tool_choice)
    else:
        raise ConfigError(
            f"Unsupported scripted response of type {type(response).__name__}: use a str, a dict, "
            "a pydantic model, an AIMessage or an exception instance."
        )
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}"}],
    )


def _structured_tool_name(preferred: str | None, tool_names: list[str], tool_choice: Any) -> str:
    # with_structured_output binds the schema as the only tool and forces it
    if isinstance(tool_choice, str) and tool_choice in tool_names:
        return tool_choice
    if isinstance(tool_choice, Mapping):
        forced = tool_choice.get("function", {}).get("name")
        if forced:
            return str(forced)
    if preferred and preferred in tool_names:
        return preferred
    if len(tool_names) == 1:
        return tool_names[0]
    raise ConfigError(
        "A dict or pydantic response was scripted for a call that does not ask for structured "
        f"output (bound tools: {tool_names or 'none'}). Script an AIMessage with tool_calls "
        "to call a tool, or a str for a text answer."
    )
