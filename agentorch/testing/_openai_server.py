"""A real, local, OpenAI-compatible HTTP server for tests: scripted replies over real HTTP.

`OpenAIServer` listens on 127.0.0.1 (a free port), speaks enough of the OpenAI Chat
Completions API for `openai` / `langchain_openai.ChatOpenAI` clients, and answers each
`POST /v1/chat/completions` from a script: text, tool calls, structured output (both the
`json_schema` response format and forced function calling), streamed SSE chunks, usage,
and injected faults (HTTP errors with `Retry-After`, hangs past the client timeout,
malformed JSON). It records every request so tests can assert on what the client sent.

Example:

    from langchain_openai import ChatOpenAI
    from agentorch.testing import OpenAIServer

    with OpenAIServer(["Hello!"]) as server:
        model = ChatOpenAI(model="test", base_url=server.base_url, api_key="unused",
                           timeout=5, use_responses_api=False)
        assert model.invoke("Hi").content == "Hello!"
        server.assert_complete()

In async tests (a new event loop per test), build the model with
`agentorch.llms.from_env(env={"OPENAI_BASE_URL": server.base_url, "AGENTORCH_MODEL": "test"})`:
a plain `ChatOpenAI` shares langchain-openai's connection pool per base URL, and when a later
test's server gets the same port, that test is handed a connection of an ended loop
("Event loop is closed"). `from_env` models keep a pool per loop.

Scripts come in three shapes:

- a list of replies, consumed in arrival order (deterministic only when calls are sequential);
- a callable `(request_json) -> reply`, which can look at `messages`, `tools`,
  `response_format`, `model`, ... and decide;
- a dict keyed by a substring of the *first message's content* (the system prompt), each
  value a list or a callable. Exactly one key must match a request. This relies on each
  role's system prompt carrying a stable, distinctive line (e.g. "You are the planner");
  if prompts change, the keys must change with them.

The server is strict: when a script runs out, no key matches, a callable raises, or a reply
does not fit the request, it answers HTTP 500 with the reason *and* records the reason in
`.errors`, so the test fails with a clear message (`assert_complete()` raises on it).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel

from agentorch._errors import ConfigError

__all__ = [
    "LLAMA_CPP_QUIRKS",
    "QUIRKS",
    "Fault",
    "OpenAIServer",
    "Quirk",
    "RecordedRequest",
    "Reply",
    "ReplyFunction",
    "Script",
    "ToolCall",
    "ToolCalls",
]

logger = logging.getLogger("agentorch.testing.openai_server")

#: Headers whose values are replaced by `REDACTED` in recorded requests.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"})
REDACTED = "[redacted]"

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True, kw_only=True)
class Fault:
    """An injected failure, used as a reply in a script. Set exactly one kind.

    Examples: `Fault(status=429, retry_after=1)`, `Fault(status=500)`, `Fault(hang=5)`,
    `Fault(malformed=True)`, `Fault(length='{"subtasks": [{"id": "a"')`.
    """

    status: int | None = None
    """Answer with this HTTP error status (400-599) and an OpenAI-style error body."""
    retry_after: float | None = None
    """With `status`: send `Retry-After` (whole seconds, rounded up) and `retry-after-ms`."""
    hang: float | None = None
    """Send nothing for this many seconds (past the client's timeout), then answer 504."""
    malformed: bool = False
    """Answer 200 with a body (or SSE event) that is not valid JSON."""
    length: str | None = None
    """Answer 200 with this text cut off at the output limit (`finish_reason: "length"`), as
    content, or as the arguments of the forced tool call when the request forces one."""
    message: str | None = None
    """Error message for `status` faults; a default names the injected status."""

    def __post_init__(self) -> None:
        kinds = [self.status is not None, self.hang is not None, self.malformed, self.length is not None]
        if sum(kinds) != 1:
            raise ConfigError(
                "A `Fault` needs exactly one of `status`, `hang`, `malformed` or `length`; got "
                f"status={self.status!r}, hang={self.hang!r}, malformed={self.malformed!r}, "
                f"length={self.length!r}."
            )
        if self.status is not None and not 400 <= self.status <= 599:
            raise ConfigError(f"`Fault.status` must be 400-599, got {self.status!r}.")
        if self.retry_after is not None and (self.status is None or self.retry_after < 0):
            raise ConfigError(
                "`Fault.retry_after` needs a `status` and a non-negative number of seconds, "
                f"got retry_after={self.retry_after!r} with status={self.status!r}."
            )
        if self.hang is not None and not self.hang > 0:
            raise ConfigError(f"`Fault.hang` must be a positive number of seconds, got {self.hang!r}.")


@dataclass(frozen=True)
class ToolCall:
    """One tool call the scripted assistant makes.

    `args` may be a mapping or pydantic model (sent as JSON) or a string sent verbatim as the
    call's `arguments` (use that to send arguments that are not valid JSON). `id` defaults to
    a server-wide counter (`call_1`, `call_2`, ...).
    """

    name: str
    args: Mapping[str, Any] | BaseModel | str = field(default_factory=dict)
    id: str | None = None


class ToolCalls:
    """A reply in which the assistant calls tools: `ToolCalls([ToolCall("search", {...})])`.

    Items may also be mappings with `name`, optional `args` and optional `id`. `content` is
    optional assistant text sent along with the calls.
    """

    __slots__ = ("calls", "content")

    def __init__(self, calls: Iterable[ToolCall | Mapping[str, Any]], content: str = "") -> None:
        parsed: list[ToolCall] = []
        for call in calls:
            if isinstance(call, ToolCall):
                parsed.append(call)
            elif isinstance(call, Mapping) and isinstance(call.get("name"), str):
                parsed.append(ToolCall(call["name"], call.get("args", {}), call.get("id")))
            else:
                raise ConfigError(
                    f"`ToolCalls` items must be `ToolCall` or a mapping with a `name`, got {call!r}."
                )
        if not parsed:
            raise ConfigError("`ToolCalls` needs at least one call.")
        self.calls: tuple[ToolCall, ...] = tuple(parsed)
        self.content = content

    def __repr__(self) -> str:
        return f"ToolCalls({list(self.calls)!r}, content={self.content!r})"


Reply: TypeAlias = str | Mapping[str, Any] | BaseModel | ToolCalls | Fault
"""What a script gives back for one request: text, structured data, tool calls or a fault."""
ReplyFunction: TypeAlias = Callable[[dict[str, Any]], Reply]
"""A script function: gets the request's JSON body, returns the reply."""
Script: TypeAlias = Sequence[Reply] | ReplyFunction | Mapping[str, Sequence[Reply] | ReplyFunction]
"""A list of replies, a function, or a dict keyed by a substring of the system prompt."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, as the client sent it (secrets redacted)."""

    method: str
    """HTTP method, e.g. "POST"."""
    path: str
    """Request path, e.g. "/v1/chat/completions"."""
    headers: Mapping[str, str]
    """Headers with lower-case names; `Authorization` and other secret headers redacted."""
    body: Any
    """The parsed JSON body, or None (no body, or not JSON)."""
    script_key: str | None = None
    """The script dict key that answered this request (None for list/function scripts)."""
    reply: Any = None
    """The scripted reply chosen for this request, if any."""


Quirk: TypeAlias = Literal["no_json_schema", "repeated_tool_call_header"]
"""A departure from the OpenAI API a real server makes (see `OpenAIServer(quirks=...)`)."""
QUIRKS: tuple[Quirk, ...] = ("no_json_schema", "repeated_tool_call_header")
LLAMA_CPP_QUIRKS: frozenset[Quirk] = frozenset(QUIRKS)
"""The quirks of llama-cpp-python's OpenAI-compatible server (0.3.36)."""


class _Lane:
    """One source of replies: a queue consumed in order, or a function."""

    def __init__(self, key: str | None, source: Sequence[Reply] | ReplyFunction) -> None:
        self.key = key
        self.function: ReplyFunction | None = None
        self.queue: deque[Reply] = deque()
        if callable(source) and not isinstance(source, (Mapping, ToolCalls, BaseModel)):
            self.function = source
        elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
            self.queue.extend(source)
        else:
            where = f"for key {key!r} " if key is not None else ""
            raise ConfigError(f"A script {where}must be a list of replies or a callable, got {source!r}.")

    def describe(self) -> str:
        return "the script" if self.key is None else f"the script for key {self.key!r}"


class _ScriptError(Exception):
    """A request the script cannot answer; becomes an HTTP 500 and an entry in `.errors`."""


def _build_lanes(script: Script) -> list[_Lane]:
    if isinstance(script, Mapping):
        if not script:
            raise ConfigError("A keyed script needs at least one key.")
        for key in script:
            if not isinstance(key, str) or not key:
                raise ConfigError(f"Script keys must be non-empty strings, got {key!r}.")
        return [_Lane(key, source) for key, source in script.items()]
    return [_Lane(None, script)]


def _text_of(content: Any) -> str:
    """Text of a message `content`: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def _approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _as_data(reply: Mapping[str, Any] | BaseModel) -> Any:
    if isinstance(reply, BaseModel):
        return reply.model_dump(mode="json")
    return dict(reply)


def _forced_tool_name(body: Mapping[str, Any]) -> str | None:
    """The function the request forces the model to call, if any."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, Mapping)]
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        return name if isinstance(name, str) else None
    if choice == "required" and len(tools) == 1:
        return (tools[0].get("function") or {}).get("name")
    return None


def _strict_schema_problems(schema: Any, where: str) -> list[str]:
    """What OpenAI's strict structured outputs would reject in `schema` (main rules only)."""
    problems: list[str] = []
    if not isinstance(schema, Mapping):
        return problems
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, Mapping):
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: 'additionalProperties' must be false")
        if isinstance(properties, Mapping):
            missing = sorted(set(properties) - set(schema.get("required") or []))
            if missing:
                problems.append(f"{where}: 'required' must list every property; missing {missing}")
            for name, sub in properties.items():
                problems += _strict_schema_problems(sub, f"{where}.properties.{name}")
    items = schema.get("items")
    if isinstance(items, Mapping):
        problems += _strict_schema_problems(items, f"{where}.items")
    for keyword in ("anyOf", "allOf"):
        for index, sub in enumerate(schema.get(keyword) or []):
            problems += _strict_schema_problems(sub, f"{where}.{keyword}[{index}]")
    for keyword in ("$defs", "definitions"):
        for name, sub in (schema.get(keyword) or {}).items():
            problems += _strict_schema_problems(sub, f"{where}.{keyword}.{name}")
    return problems


def _request_schema_problems(body: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        if spec.get("strict"):
            problems += _strict_schema_problems(spec.get("schema"), "response_format.schema")
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and function.get("strict"):
            problems += _strict_schema_problems(
                function.get("parameters"), f"tools[{function.get('name')!r}].parameters"
            )
    return problems


class _Answer:
    """The assistant message the server will send: text and/or tool calls."""

    def __init__(self, content: str | None, tool_calls: list[dict[str, Any]], cut_off: bool = False) -> None:
        self.content = content
        self.tool_calls = tool_calls
        self.cut_off = cut_off

    @property
    def finish_reason(self) -> str:
        return "length" if self.cut_off else "tool_calls" if self.tool_calls else "stop"

    def completion_text(self) -> str:
        args = "".join(call["function"]["arguments"] for call in self.tool_calls)
        return (self.content or "") + args


class OpenAIServer:
    """A local OpenAI-compatible Chat Completions server that answers from a script.

    Use it as a context manager (or call `start()` / `stop()`); point a client at
    `.base_url`. Every request is recorded in `.requests` (secret headers redacted); every
    request the script could not answer is in `.errors` and got an HTTP 500.

    Args:
        script: a list of replies (consumed in order), a function of the request JSON, or a
            dict from a system-prompt substring to a list or function (see module docs).
            A reply is a `str` (assistant text), a mapping or pydantic model (structured
            output: JSON content for `response_format`, a call to the forced function when
            the request forces `tool_choice`), `ToolCalls`, or a `Fault`.
        models: model ids listed by `GET /v1/models`.
        latency: seconds to wait before answering each chat request (to observe concurrency).
        strict_schemas: reject (HTTP 400, recorded in `.errors`) strict JSON schemas that
            OpenAI would reject: objects need `additionalProperties: false` and every
            property in `required`.
        quirks: behave like a real server that departs from the OpenAI API
            (`LLAMA_CPP_QUIRKS`: llama-cpp-python's server, 0.3.36):
            "no_json_schema" answers HTTP 500 `Input should be 'text' or 'json_object'` to a
            `json_schema` response format (`json_object`, with or without a `schema`, works);
            "repeated_tool_call_header" repeats a streamed tool call's `id` and `name` in
            every chunk, not only the first.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        script: Script = (),
        *,
        models: Sequence[str] = ("agentorch-test",),
        latency: float = 0.0,
        strict_schemas: bool = True,
        quirks: Iterable[Quirk] = (),
    ) -> None:
        self.quirks = frozenset(quirks)
        if unknown := self.quirks - set(QUIRKS):
            raise ConfigError(f"Unknown `quirks` {sorted(unknown)!r}: choose from {list(QUIRKS)!r}.")
        self._lock = threading.Lock()
        self._lanes = _build_lanes(script)
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.models = tuple(models)
        self.latency = latency
        self.strict_schemas = strict_schemas

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._httpd is not None:
            raise ConfigError("This `OpenAIServer` is already running.")
        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"OpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("OpenAI test server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, end hanging replies, close open connections. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None
        logger.debug("OpenAI test server stopped")

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (only while running)."""
        if self._httpd is None:
            raise ConfigError("The `OpenAIServer` is not running: call `start()` first.")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give clients as `base_url`, e.g. "http://127.0.0.1:PORT/v1"."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the `POST /v1/chat/completions` requests, in arrival order."""
        return [
            r.body
            for r in self.requests
            if r.method == "POST" and r.path == CHAT_COMPLETIONS_PATH and r.body is not None
        ]

    @property
    def errors(self) -> list[str]:
        """Why requests could not be answered from the script (a copy)."""
        with self._lock:
            return list(self._errors)

    def remaining(self) -> dict[str | None, int]:
        """Unconsumed replies per script key (None for a plain list); functions omitted."""
        with self._lock:
            return {lane.key: len(lane.queue) for lane in self._lanes if lane.function is None}

    def set_script(self, script: Script) -> None:
        """Replace the script (recorded requests and errors are kept)."""
        lanes = _build_lanes(script)
        with self._lock:
            self._lanes = lanes

    def assert_complete(self) -> None:
        """Raise AssertionError if any request failed to match or scripted replies are left."""
        problems = self.errors
        left = {key: n for key, n in self.remaining().items() if n}
        if left:
            problems.append(
                "unused scripted replies: "
                + ", ".join(f"{'list' if k is None else repr(k)}: {n}" for k, n in left.items())
            )
        if problems:
            raise AssertionError("OpenAIServer script problems:\n- " + "\n- ".join(problems))

    # -- request handling (called from handler threads) ----------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _error(self, message: str) -> str:
        with self._lock:
            self._errors.append(message)
        logger.warning("OpenAI test server: %s", message)
        return message

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _choose(self, body: Mapping[str, Any]) -> tuple[_Lane, Reply | None]:
        """Pick the lane for a request and, for queue lanes, pop its next reply."""
        with self._lock:
            lanes = self._lanes
            if len(lanes) == 1 and lanes[0].key is None:
                lane = lanes[0]
            else:
                messages = body.get("messages") or [{}]
                system = _text_of(messages[0].get("content")) if isinstance(messages[0], Mapping) else ""
                matching = [lane for lane in lanes if lane.key in system]  # type: ignore[operator]
                if len(matching) != 1:
                    found = "no script key" if not matching else "several script keys"
                    raise _ScriptError(
                        f"{found} ({[m.key for m in matching] or [m.key for m in lanes]}) "
                        f"matched the first message {system[:120]!r}: keys must be substrings "
                        "that appear in exactly one role's system prompt"
                    )
                lane = matching[0]
            if lane.function is not None:
                return lane, None
            if not lane.queue:
                raise _ScriptError(
                    f"{lane.describe()} ran out of replies (request #{len(self._requests) + 1}, "
                    f"model {body.get('model')!r}, last message "
                    f"{_text_of((body.get('messages') or [{}])[-1].get('content'))[:120]!r})"
                )
            return lane, lane.queue.popleft()

    def _answer(self, reply: Reply, body: Mapping[str, Any]) -> _Answer:
        """Turn a non-fault reply (or a length stop) into the assistant message this request
        asked for."""
        if isinstance(reply, Fault) and reply.length is not None:
            forced = _forced_tool_name(body)
            if forced is not None:
                return _Answer(None, [self._tool_call(ToolCall(forced, reply.length))], cut_off=True)
            return _Answer(reply.length, [], cut_off=True)
        if isinstance(reply, str):
            return _Answer(reply, [])
        if isinstance(reply, ToolCalls):
            return _Answer(reply.content or None, [self._tool_call(c) for c in reply.calls])
        if isinstance(reply, (Mapping, BaseModel)):
            data = _as_data(reply)
            response_format = body.get("response_format")
            if isinstance(response_format, Mapping) and response_format.get("type") in (
                "json_schema",
                "json_object",
            ):
                return _Answer(json.dumps(data), [])
            forced = _forced_tool_name(body)
            if forced is not None:
                return _Answer(None, [self._tool_call(ToolCall(forced, data))])
            if body.get("tools"):
                raise _ScriptError(
                    "a structured reply (mapping/model) came for a request with tools but no "
                    "forced `tool_choice` and no `response_format`; script `ToolCalls([...])` "
                    "or text instead"
                )
            return _Answer(json.dumps(data), [])
        raise _ScriptError(f"unsupported reply {reply!r}: use str, mapping, model, ToolCalls or Fault")

    def _tool_call(self, call: ToolCall) -> dict[str, Any]:
        if isinstance(call.args, str):
            arguments = call.args
        elif isinstance(call.args, BaseModel):
            arguments = call.args.model_dump_json()
        else:
            arguments = json.dumps(dict(call.args))
        return {
            "id": call.id or f"call_{self._next_id()}",
            "type": "function",
            "function": {"name": call.name, "arguments": arguments},
        }


def _usage(body: Mapping[str, Any], answer: _Answer) -> dict[str, int]:
    prompt_text = "".join(
        _text_of(m.get("content")) for m in body.get("messages") or [] if isinstance(m, Mapping)
    )
    if body.get("tools"):
        prompt_text += json.dumps(body["tools"])
    prompt = _approx_tokens(prompt_text)
    completion = _approx_tokens(answer.completion_text())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _pieces(text: str, size: int = 8) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


_LLAMA_CPP_FORMAT_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _make_handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    """Speaks HTTP/1.1 with keep-alive (the OpenAI SDK pools connections)."""

    owner: OpenAIServer
    protocol_version = "HTTP/1.1"
    server_version = "agentorch-openai-test/1"

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- helpers -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            name.lower(): (REDACTED if name.lower() in SECRET_HEADERS else value)
            for name, value in self.headers.items()
        }

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return raw, json.loads(raw) if raw else None
        except ValueError:
            return raw, None

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._send_bytes(status, data, headers)

    def _send_bytes(self, status: int, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._send_json(status, _error_body(status, message), headers)

    # -- routes ------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.owner._record(RecordedRequest("GET", self.path, self._headers(), None))
        if self.path.rstrip("/") == MODELS_PATH:
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "agentorch"} for m in self.owner.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._not_found()

    def do_POST(self) -> None:
        _, body = self._read_body()
        headers = self._headers()
        if self.path != CHAT_COMPLETIONS_PATH:
            self.owner._record(RecordedRequest("POST", self.path, headers, body))
            self._not_found()
            return
        if (
            not isinstance(body, Mapping)
            or not isinstance(body.get("messages"), list)
            or not body["messages"]
        ):
            self.owner._record(RecordedRequest("POST", self.path, headers, body))
            self._send_error(400, self.owner._error("chat request without a JSON body with `messages`"))
            return
        try:
            lane, reply = self.owner._choose(body)
            if lane.function is not None:
                try:
                    reply = lane.function(dict(body))
                except Exception as exc:  # the test's own function failed: report, don't crash
                    raise _ScriptError(f"{lane.describe()} raised {exc!r}") from exc
        except _ScriptError as exc:
            self.owner._record(RecordedRequest("POST", self.path, headers, body))
            self._send_error(500, self.owner._error(str(exc)))
            return
        self.owner._record(RecordedRequest("POST", self.path, headers, body, lane.key, reply))
        if self.owner.latency and self.owner._stopping.wait(self.owner.latency):
            return
        response_format = body.get("response_format")
        if (
            "no_json_schema" in self.owner.quirks
            and isinstance(response_format, Mapping)
            and response_format.get("type") == "json_schema"
        ):  # llama-cpp-python's server validates the request with pydantic and answers 500
            self._send_error(500, _LLAMA_CPP_FORMAT_ERROR)
            return
        if isinstance(reply, Fault) and reply.length is None:
            self._fault(reply, stream=bool(body.get("stream")))
            return
        if self.owner.strict_schemas and (problems := _request_schema_problems(body)):
            message = "Invalid schema for strict structured output: " + "; ".join(problems)
            self._send_error(400, self.owner._error(message))
            return
        try:
            answer = self.owner._answer(reply, body)  # type: ignore[arg-type]
        except _ScriptError as exc:
            self._send_error(500, self.owner._error(str(exc)))
            return
        if body.get("stream"):
            self._stream(body, answer)
        else:
            self._complete(body, answer)

    def _not_found(self) -> None:
        hint = (
            " (the Responses API: build ChatOpenAI with `use_responses_api=False`)"
            if self.path.startswith("/v1/responses")
            else ""
        )
        message = f"no route {self.command} {self.path}{hint}"
        self._send_error(404, self.owner._error(message))

    def _fault(self, fault: Fault, *, stream: bool) -> None:
        if fault.hang is not None:
            if self.owner._stopping.wait(fault.hang):
                return
            try:
                self._send_error(504, f"injected hang of {fault.hang} s is over")
            except OSError:
                pass  # the client gave up long ago, as intended
            return
        if fault.malformed:
            if stream:
                self._start_stream()
                self._chunk(b'data: {"id": "chatcmpl-malformed", "choices": [{\n\n')
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")
            else:
                self._send_bytes(
                    200, b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{'
                )
            return
        assert fault.status is not None  # guaranteed by Fault.__post_init__
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
            headers["retry-after-ms"] = str(int(fault.retry_after * 1000))
        message = fault.message or f"Injected fault: HTTP {fault.status} {HTTPStatus(fault.status).phrase}"
        self._send_error(fault.status, message, headers)

    def _envelope(self, body: Mapping[str, Any], kind: str, number: int) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{number}",
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model", ""),
            "system_fingerprint": "agentorch-test",
        }

    def _complete(self, body: Mapping[str, Any], answer: _Answer) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        payload = self._envelope(body, "chat.completion", self.owner._next_id())
        payload["choices"] = [
            {
                "index": 0,
                "message": message,
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ]
        payload["usage"] = _usage(body, answer)
        self._send_json(200, payload)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk (empty data ends the body)."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, body: Mapping[str, Any], answer: _Answer) -> None:
        options = body.get("stream_options")
        include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
        envelope = self._envelope(body, "chat.completion.chunk", self.owner._next_id())

        def event(delta: dict[str, Any] | None, finish_reason: str | None = None) -> None:
            chunk = dict(envelope)
            chunk["choices"] = [
                {"index": 0, "delta": delta or {}, "finish_reason": finish_reason, "logprobs": None}
            ]
            if include_usage:
                chunk["usage"] = None
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())

        self._start_stream()
        try:
            event({"role": "assistant", "content": "", "refusal": None})
            for piece in _pieces(answer.content or ""):
                event({"content": piece})
            for index, call in enumerate(answer.tool_calls):
                event(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                repeat = "repeated_tool_call_header" in self.owner.quirks
                header = {"id": call["id"], "type": "function"} if repeat else {}
                name = {"name": call["function"]["name"]} if repeat else {}
                for piece in _pieces(call["function"]["arguments"], 16):
                    event(
                        {"tool_calls": [{"index": index, **header, "function": {**name, "arguments": piece}}]}
                    )
            event({}, answer.finish_reason)
            if include_usage:
                final = dict(envelope, choices=[], usage=_usage(body, answer))
                self._chunk(f"data: {json.dumps(final)}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        except OSError:
            logger.debug("client went away mid-stream")
