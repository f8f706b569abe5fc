"""Record and replay model calls: `RecordingChatModel` writes a JSONL cassette,
`ReplayChatModel` answers from it offline.

Each cassette line is one call: its role and sub-task (from the run metadata `agentorch_role` /
`agentorch_subtask`), the normalized request (messages, tools, tool choice, structured-output
schema), its key (a hash of role + request), and the response (content, tool calls, usage, model
name). Replay looks responses up by key, so parallel branches may ask in any order. Volatile ids
(tool-call ids, uuids) are normalized away; API keys and bearer tokens never reach the file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

from agentorch._errors import CassetteError, CassetteMiss
from agentorch._keys import ROLE_KEY, SUBTASK_KEY

__all__ = ["RecordingChatModel", "ReplayChatModel", "normalize_request", "request_key", "CASSETTE_VERSION"]

CASSETTE_VERSION = 1

_VOLATILE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32}\b|\bcall[_-][A-Za-z0-9_-]+"
)
_SECRETS = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}|\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_REDACTED = "[redacted]"


def _text(content: Any) -> Any:
    return (
        _VOLATILE.sub("<id>", content)
        if isinstance(content, str)
        else json.loads(_VOLATILE.sub("<id>", json.dumps(content, sort_keys=True)))
    )


def normalize_request(
    messages: Sequence[BaseMessage],
    tools: Sequence[dict[str, Any]] | None,
    tool_choice: Any,
    structured_output: Any = None,
) -> dict[str, Any]:
    """The parts of a request that decide the answer, without volatile ids."""
    msgs = []
    for m in messages:
        item: dict[str, Any] = {"type": m.type, "content": _text(m.content)}
        calls = getattr(m, "tool_calls", None)
        if calls:
            item["tool_calls"] = [{"name": c["name"], "args": c["args"]} for c in calls]
        msgs.append(item)
    fns = sorted((t.get("function", t) for t in tools or []), key=lambda f: str(f.get("name")))
    return {
        "messages": msgs,
        "tools": [
            {
                "name": f.get("name"),
                "description": f.get("description", ""),
                "parameters": f.get("parameters", {}),
            }
            for f in fns
        ],
        "tool_choice": tool_choice
        if isinstance(tool_choice, (str, type(None)))
        else json.loads(json.dumps(tool_choice)),
        "structured_output": structured_output,
    }


def request_key(role: str, request: dict[str, Any]) -> str:
    """A stable hash of role + normalized request."""
    blob = json.dumps({"role": role, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class _CassetteModel(BaseChatModel):
    """Shared by recorder and replayer: tool binding and the request of a call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like a real chat model; with_structured_output binds its schema here."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        structured = kwargs.get("ls_structured_output_format")
        if structured and len(formatted) == 1:
            kwargs["structured_output"] = formatted[0]["function"].get("parameters", {})
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    @staticmethod
    def _request(
        messages: list[BaseMessage], run_manager: Any, kwargs: dict[str, Any]
    ) -> tuple[str, str | None, dict[str, Any]]:
        metadata = getattr(run_manager, "metadata", None) or {}
        request = normalize_request(
            messages, kwargs.get("tools"), kwargs.get("tool_choice"), kwargs.get("structured_output")
        )
        return str(metadata.get(ROLE_KEY, "")), metadata.get(SUBTASK_KEY), request


class RecordingChatModel(_CassetteModel):
    """Wraps a real chat model and appends every call to a JSONL cassette.

    Args:
        real_model: the model that answers (e.g. `ChatOpenAI(...)`).
        cassette_path: the JSONL file; truncated at construction unless `append=True`.

    Example:
        >>> from agentorch.llms import ScriptedChatModel
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
        >>> rec = RecordingChatModel(ScriptedChatModel({"writer": ["Hi."]}), path)
        >>> rec.invoke("hello", config={"metadata": {"agentorch_role": "writer"}}).content
        'Hi.'
        >>> ReplayChatModel(path).invoke("hello", config={"metadata": {"agentorch_role": "writer"}}).content
        'Hi.'
    """

    __test__ = False
    real: Any
    cassette_path: Path
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _secrets: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, real_model: BaseChatModel, cassette_path: str | Path, *, append: bool = False) -> None:
        if not isinstance(real_model, BaseChatModel):
            raise CassetteError(
                f"RecordingChatModel wraps a LangChain chat model, got {type(real_model).__name__}."
            )
        super().__init__(real=real_model, cassette_path=Path(cassette_path))
        self.cassette_path.parent.mkdir(parents=True, exist_ok=True)
        if not append:
            self.cassette_path.write_text("", encoding="utf-8")
        self._secrets = _secret_values(real_model)

    @property
    def _llm_type(self) -> str:
        return "agentorch-recording"

    def _target(self, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        rest = {k: v for k, v in kwargs.items() if k not in ("tools", "tool_choice", "structured_output")}
        tools = kwargs.get("tools")
        target = self.real.bind_tools(tools, tool_choice=kwargs.get("tool_choice")) if tools else self.real
        return target, rest

    @staticmethod
    def _config(run_manager: Any) -> dict[str, Any]:
        # the role metadata travels on, so a scripted inner model still knows who is speaking
        return {"metadata": dict(getattr(run_manager, "metadata", None) or {})}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        target, rest = self._target(kwargs)
        answer = target.invoke(messages, config=self._config(run_manager), stop=stop, **rest)
        return self._record(messages, run_manager, kwargs, answer)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        target, rest = self._target(kwargs)
        answer = await target.ainvoke(messages, config=self._config(run_manager), stop=stop, **rest)
        return self._record(messages, run_manager, kwargs, answer)

    def _record(
        self, messages: list[BaseMessage], run_manager: Any, kwargs: dict[str, Any], answer: Any
    ) -> ChatResult:
        if not isinstance(answer, AIMessage):
            raise TypeError(f"the recorded model returned {type(answer).__name__}, not an AIMessage")
        role, subtask, request = self._request(messages, run_manager, kwargs)
        entry = {
            "version": CASSETTE_VERSION,
            "role": role,
            "subtask": subtask,
            "key": request_key(role, request),
            "request": request,
            "response": _dump_response(answer),
        }
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        for secret in self._secrets:
            line = line.replace(secret, _REDACTED)
        line = _SECRETS.sub(_REDACTED, line)
        with self._lock, self.cassette_path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return ChatResult(generations=[ChatGeneration(message=answer)])


class ReplayChatModel(_CassetteModel):
    """Answers from a cassette offline, by role and request; fails clearly on an unknown request.

    Identical requests recorded several times are served in recorded order.
    """

    __test__ = False
    cassette_path: Path
    model_name: str = "replay"
    _entries: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _served: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, cassette_path: str | Path) -> None:
        super().__init__(cassette_path=Path(cassette_path))
        self._entries = load_cassette(self.cassette_path)

    @property
    def _llm_type(self) -> str:
        return "agentorch-replay"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._replay(messages, run_manager, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._replay(messages, run_manager, kwargs)

    def _replay(self, messages: list[BaseMessage], run_manager: Any, kwargs: dict[str, Any]) -> ChatResult:
        role, _, request = self._request(messages, run_manager, kwargs)
        key = request_key(role, request)
        matches = [e for e in self._entries if e["key"] == key]
        with self._lock:
            n = self._served.get(key, 0)
            if n < len(matches):
                self._served[key] = n + 1
        if n >= len(matches):
            raise CassetteMiss(self._miss_message(role, request, key, served=len(matches)))
        return ChatResult(generations=[ChatGeneration(message=_load_response(matches[n]["response"]))])

    def _miss_message(self, role: str, request: dict[str, Any], key: str, served: int) -> str:
        head = f"Cassette `{self.cassette_path}` has no "
        if served:
            return (
                head + f"more responses for this `{role}` request: all {served} recorded were used. "
                "Re-record the cassette."
            )
        head += f"response for this `{role}` request (key {key})."
        pool = [e for e in self._entries if e["role"] == role] or self._entries
        if not pool:
            return head + " The cassette is empty."
        mine = _pretty(request)
        nearest = max(
            pool, key=lambda e: difflib.SequenceMatcher(None, mine, _pretty(e["request"])).quick_ratio()
        )
        diff = list(
            difflib.unified_diff(
                _pretty(nearest["request"]).splitlines(),
                mine.splitlines(),
                "recorded",
                "requested",
                lineterm="",
                n=1,
            )
        )
        shown = "\n".join(diff[:40]) + ("\n..." if len(diff) > 40 else "")
        return (
            head + f" Nearest recorded request (role `{nearest['role']}`, sub-task "
            f"{nearest.get('subtask')!r}) differs:\n{shown}\nRe-record the cassette if the change is intended."
        )


def load_cassette(path: Path) -> list[dict[str, Any]]:
    """The entries of a cassette; `CassetteError` naming the file and line when it is broken."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise CassetteError(f"Cannot read cassette `{path}`: {e.strerror or e}.") from None
    except UnicodeDecodeError:
        raise CassetteError(f"Cassette `{path}` is not UTF-8 text.") from None
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            raise CassetteError(
                f"Cassette `{path}` line {n} is not valid JSON ({e.msg}); is it truncated?"
            ) from None
        if not isinstance(entry, dict) or not {"role", "key", "request", "response"} <= set(entry):
            raise CassetteError(
                f"Cassette `{path}` line {n} is not a cassette entry (needs role, key, request, response)."
            )
        entries.append(entry)
    return entries


def _pretty(request: dict[str, Any]) -> str:
    return json.dumps(request, indent=1, sort_keys=True, ensure_ascii=False)


def _dump_response(message: AIMessage) -> dict[str, Any]:
    return {
        "content": message.content,
        "tool_calls": [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in message.tool_calls],
        "usage": dict(message.usage_metadata or {}),
        "model_name": (message.response_metadata or {}).get("model_name", ""),
    }


def _load_response(data: dict[str, Any]) -> AIMessage:
    message = AIMessage(
        content=data.get("content", ""), tool_calls=[dict(c) for c in data.get("tool_calls", [])]
    )
    usage = data.get("usage") or {}
    if usage:
        message.usage_metadata = {
            "input_tokens": usage.get("input_tokens", 0),
            "output_tokens": usage.get("output_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        }
    message.response_metadata = {"model_name": data.get("model_name") or "replay"}
    return message


def _secret_values(model: Any) -> list[str]:
    """API keys a model holds (pydantic SecretStr fields), to scrub from what is recorded."""
    out = []
    for name in ("openai_api_key", "api_key", "anthropic_api_key"):
        value = getattr(model, name, None)
        get = getattr(value, "get_secret_value", None)
        if get is not None and get():
            out.append(str(get()))
    return out
