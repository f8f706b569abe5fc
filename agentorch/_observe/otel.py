"""OpenTelemetry spans for team runs, with the GenAI semantic conventions.

agentorch uses only the OpenTelemetry *API*: spans go to whatever tracer provider the
application installed (`opentelemetry.trace.set_tracer_provider`). When none is installed, or
the installed one hands out no-op tracers (`OTEL_SDK_DISABLED=true`), no handler is attached to
the run at all, so tracing costs nothing. The `agentorch` CLI installs the SDK with an OTLP
exporter when the standard `OTEL_*` environment variables ask for one (`_otel_export`).

The spans are built by a LangChain callback handler attached to the run's config, from the
runs LangChain reports (the graph, model calls, tool calls) and the metadata every agentorch
model call carries (role, sub-task, round). The tree:

    invoke_workflow {team}                 the run (or one resume of it)
      round {n}                            from the end of round n-1 to its last call
        chat {model}                       the planner, critic, synthesizer
        invoke_agent {agent}               one sub-task in round n
          chat {model}                     the agent's model calls
          execute_tool {tool}              its tool calls

A tool call belongs to the sub-task named in its own metadata when it carries one, otherwise to
the sub-task of the nearest enclosing LangChain run that served only that sub-task (a
specialist node or task). Round and sub-task spans are not LangChain runs: a round starts where
the previous one ended (round 1 with the run), a sub-task with the first enclosing run that
served only it; each ends with its last call.

A run that resumes a paused or failed one (`team.resume`) is a trace of its own whose root span
links to the root span of the run it resumes (link attribute `agentorch.link.type="resumes"`),
when both ran in this process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import LLMResult
from langgraph.errors import GraphInterrupt

from agentorch._keys import ROLE_KEY, ROUND_KEY, RUN_ID_KEY, SUBTASK_KEY, TEAM_KEY, THREAD_KEY, TOOL_CALL_KEY

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
except ImportError:  # the `otel` extra is not installed: no spans
    trace = None  # type: ignore[assignment]

log = logging.getLogger("agentorch")

__all__ = ["OTelHandler", "otel_handler"]

# GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/)
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"  # the older name of gen_ai.provider.name; many backends still read it
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
AGENT_NAME = "gen_ai.agent.name"
WORKFLOW_NAME = "gen_ai.workflow.name"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ID = "gen_ai.tool.call.id"
ERROR_TYPE = "error.type"
# agentorch's own
A_ROLE = "agentorch.role"
A_SUBTASK = "agentorch.subtask_id"
A_ROUND = "agentorch.round"
A_TOOL_KEY = "agentorch.tool.call_key"
A_THREAD = "agentorch.thread_id"
A_RUN = "agentorch.run_id"
A_STATUS = "agentorch.status"

A_LINK = "agentorch.link.type"

_SHARED = object()  # an enclosing run that served more than one sub-task
_UNFINISHED: OrderedDict[str, Any] = OrderedDict()
"""Thread id -> the span context of its last run that paused or failed, so the run that resumes
it links to it (in this process; the most recent `_REMEMBERED` threads)."""
_REMEMBERED = 4096
_unfinished_lock = threading.Lock()
_Key = tuple[int | None, str]  # (round, sub-task id)


def otel_handler() -> OTelHandler | None:
    """A handler building this run's spans, or None when no tracer provider would record them.

    Checked per run, so a provider the application installs after building its team counts."""
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    # the API's defaults until an SDK (or another implementation) is installed
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    from agentorch import __version__

    tracer = provider.get_tracer("agentorch", __version__)
    if isinstance(tracer, trace.NoOpTracer):  # e.g. the SDK with OTEL_SDK_DISABLED=true
        return None
    return OTelHandler(tracer)


@dataclass
class _Tool:
    """A tool call no sub-task has claimed yet: its span waits until one does, or the run ends."""

    name: str
    call_id: Any
    start: int
    enclosing: tuple[UUID, ...]  # the LangChain runs it ran inside, innermost first
    effect_key: str | None = None  # the call's `tool_call_key`
    end: int | None = None
    error: BaseException | None = None


@dataclass
class _Group:
    """A round or a sub-task: a span that is no LangChain run, ended at its last activity."""

    span: Any
    last: int
    role: str | None = None
    tokens: list[int] = field(default_factory=lambda: [0, 0])


class OTelHandler(BaseCallbackHandler):
    """Turns one team run's LangChain callbacks into OpenTelemetry spans (see the module doc);
    agentorch attaches a new one to every run (`trace_config`) when a tracer provider is installed."""

    run_inline = True  # called on the caller's thread and context, never in an executor

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        self._lock = threading.Lock()
        self._parents: dict[UUID, UUID | None] = {}  # every open LangChain run -> its parent
        self._started: dict[UUID, int] = {}  # open chain runs -> start time (ns)
        self._owner: dict[UUID, Any] = {}  # open chain runs -> the sub-task key they serve, or _SHARED
        self._spans: dict[UUID, tuple[Any, _Key | None, int | None]] = {}  # model/tool runs
        self._root: UUID | None = None
        self._root_span: Any = None
        self._base: dict[str, Any] = {}  # attributes of every span: thread and run id
        self._rounds: dict[int, _Group] = {}
        self._rounds_from = 0  # where the next round span starts: the end of the last one
        self._subtasks: dict[_Key, _Group] = {}
        self._tokens = [0, 0]
        self._paused = False
        self._orphans: dict[UUID, _Tool] = {}  # running tool calls of no known sub-task
        self._waiting: list[_Tool] = []  # finished ones

    # -- the run -------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        now = time.time_ns()
        with self._lock:
            if parent_run_id in self._parents:
                self._parents[run_id] = parent_run_id
                self._started[run_id] = now
                return
            if self._root is not None:
                return  # not under this run: not ours to trace
            self._root, self._parents[run_id] = run_id, None
            self._rounds_from = now
            meta = metadata or {}
            self._base = _attrs({A_THREAD: meta.get(THREAD_KEY), A_RUN: meta.get(RUN_ID_KEY)})
            team = str(meta.get(TEAM_KEY) or kwargs.get("name") or "team")
            with _unfinished_lock:
                earlier = _UNFINISHED.pop(str(meta.get(THREAD_KEY)), None)
            # the application's current span (if any) is the run's parent
            self._root_span = self.tracer.start_span(
                f"invoke_workflow {team}",
                context=otel_context.get_current(),
                start_time=now,
                attributes={
                    OPERATION: "invoke_workflow",
                    WORKFLOW_NAME: team,
                    **_attrs({CONVERSATION_ID: meta.get(THREAD_KEY)}),
                    **self._base,
                },
                links=[trace.Link(earlier, {A_LINK: "resumes"})] if earlier is not None else None,
            )

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id == self._root:
            status = outputs.get("status") if isinstance(outputs, Mapping) else None
            self._end_run(None, status if isinstance(status, str) else None)
        else:
            self._forget(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id == self._root:
            self._end_run(error, None)
            return
        if isinstance(error, GraphInterrupt):  # a node paused for a person
            self._paused = True  # so the run ends "interrupted"
        self._forget(run_id)

    def _forget(self, run_id: UUID) -> None:
        now = time.time_ns()
        with self._lock:
            self._parents.pop(run_id, None)
            self._started.pop(run_id, None)
            key = self._owner.pop(run_id, None)
            if key is not None and key is not _SHARED and key in self._subtasks:
                self._subtasks[key].last = max(self._subtasks[key].last, now)

    def _end_run(self, error: BaseException | None, status: str | None) -> None:
        with self._lock:
            span = self._root_span
            if span is None:
                return
            for tool in [*self._waiting, *self._orphans.values()]:
                self._emit_tool(tool, None)  # no sub-task ever claimed them
            for rnd in list(self._rounds):
                self._close_round(rnd)
            for call_span, _, _ in self._spans.values():  # cancelled before they ended
                call_span.end()
            self._root_span = None
            for state in (
                self._waiting,
                self._orphans,
                self._spans,
                self._parents,
                self._started,
                self._owner,
            ):
                state.clear()
        _set_tokens(span, self._tokens)
        if isinstance(error, GraphInterrupt) or (error is None and not status and self._paused):
            status = "interrupted"
        elif error is not None:
            _record_error(span, error)
        if status:
            span.set_attribute(A_STATUS, status)
        thread = self._base.get(A_THREAD)
        if thread is not None and (status == "interrupted" or error is not None):
            with _unfinished_lock:  # the next run on the thread resumes this one
                _UNFINISHED[str(thread)] = span.get_span_context()
                while len(_UNFINISHED) > _REMEMBERED:
                    _UNFINISHED.popitem(last=False)
        span.end()

    # -- rounds and sub-tasks ----------------------------------------------------------------

    def _round(self, rnd: int) -> Any:
        """The span of round `rnd`: rounds follow each other, so it starts where the last ended
        (the first where the run started) and ends with its last call."""
        group = self._rounds.get(rnd)
        if group is None:
            for earlier in [r for r in self._rounds if r < rnd]:
                self._close_round(earlier)  # the next round began: the earlier one is over
            start = self._rounds_from
            group = self._rounds[rnd] = _Group(
                self.tracer.start_span(
                    f"round {rnd}",
                    context=trace.set_span_in_context(self._root_span),
                    start_time=start,
                    attributes={A_ROUND: rnd, **self._base},
                ),
                start,
            )
        return group.span

    def _close_round(self, rnd: int) -> None:
        group = self._rounds.pop(rnd)
        for key in [k for k in self._subtasks if k[0] == rnd]:
            sub = self._subtasks.pop(key)
            _set_tokens(sub.span, sub.tokens)
            sub.span.end(end_time=sub.last)
            group.last = max(group.last, sub.last)
        group.span.end(end_time=group.last)
        self._rounds_from = max(self._rounds_from, group.last)

    def _subtask(self, key: _Key, role: str | None, parent_run: UUID | None, start: int) -> Any:
        """The span of sub-task `key`, opened at the first call made for it."""
        # claim the enclosing runs for this sub-task; a run two sub-tasks claim serves neither
        first = start
        run = parent_run
        while run is not None and run != self._root:
            owner = self._owner.get(run)
            if owner == key or owner is _SHARED:
                break
            if owner is None:
                self._owner[run] = key
                first = min(first, self._started.get(run, first))
            else:
                while run is not None and run != self._root:  # it and all above it are shared
                    self._owner[run] = _SHARED
                    run = self._parents.get(run)
                break
            run = self._parents.get(run)
        group = self._subtasks.get(key)
        if group is None:
            rnd, subtask_id = key
            parent = self._round(rnd) if rnd is not None else self._root_span
            agent = role or "agent"
            group = self._subtasks[key] = _Group(
                self.tracer.start_span(
                    f"invoke_agent {agent}",
                    context=trace.set_span_in_context(parent),
                    start_time=first,
                    attributes={
                        OPERATION: "invoke_agent",
                        AGENT_NAME: agent,
                        A_ROLE: agent,
                        A_SUBTASK: subtask_id,
                        **_attrs({A_ROUND: rnd}),
                        **self._base,
                    },
                ),
                first,
                agent,
            )
        if self._waiting:
            self._adopt(key)
        return group.span

    def _served_subtask(self, run: UUID | None) -> _Key | None:
        """The sub-task the nearest enclosing run served alone, if any."""
        while run is not None and run != self._root:
            owner = self._owner.get(run)
            if owner is _SHARED:
                return None
            if owner is not None:
                return owner
            run = self._parents.get(run)
        return None

    def _parent_span(self, key: _Key | None, rnd: int | None) -> Any:
        if key is not None:
            return self._subtasks[key].span
        if rnd is not None:
            return self._rounds[rnd].span
        return self._root_span

    def _touch(self, key: _Key | None, rnd: int | None, now: int, tokens: tuple[int, int]) -> None:
        """Move the end of `key`'s sub-task and `rnd`'s round to `now`; add the tokens."""
        for group in (self._subtasks.get(key) if key else None, self._rounds.get(rnd) if rnd else None):
            if group is not None:
                group.last = max(group.last, now)
                group.tokens[0] += tokens[0]
                group.tokens[1] += tokens[1]
        self._tokens[0] += tokens[0]
        self._tokens[1] += tokens[1]

    # -- model calls -------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start_model("chat", run_id, parent_run_id, metadata, invocation_params)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start_model("text_completion", run_id, parent_run_id, metadata, invocation_params)

    def _start_model(
        self,
        operation: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> None:
        now = time.time_ns()
        meta = metadata or {}
        params = params or {}
        role, subtask_id, rnd = meta.get(ROLE_KEY), meta.get(SUBTASK_KEY), meta.get(ROUND_KEY)
        rnd = rnd if isinstance(rnd, int) else None
        model = meta.get("ls_model_name") or params.get("model") or params.get("model_name")
        provider = meta.get("ls_provider")
        with self._lock:
            if self._root_span is None or parent_run_id not in self._parents:
                return
            self._parents[run_id] = parent_run_id
            key: _Key | None = (rnd, str(subtask_id)) if subtask_id is not None else None
            if key is not None:
                self._subtask(key, role, parent_run_id, now)
            elif rnd is not None:
                self._round(rnd)
            span = self.tracer.start_span(
                f"{operation} {model}" if model else operation,
                context=trace.set_span_in_context(self._parent_span(key, rnd)),
                kind=trace.SpanKind.CLIENT,
                start_time=now,
                attributes=_attrs(
                    {
                        OPERATION: operation,
                        PROVIDER: provider,
                        SYSTEM: provider,
                        REQUEST_MODEL: model,
                        "gen_ai.request.temperature": params.get("temperature"),
                        "gen_ai.request.max_tokens": params.get("max_tokens"),
                        A_ROLE: role,
                        A_SUBTASK: subtask_id,
                        A_ROUND: rnd,
                        **self._base,
                    }
                ),
            )
            self._spans[run_id] = (span, key, rnd)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        now = time.time_ns()
        with self._lock:
            self._parents.pop(run_id, None)
            entry = self._spans.pop(run_id, None)
            if entry is None:
                return
            span, key, rnd = entry
            message = _message_of(response)
            usage: Mapping[str, Any] = (message.usage_metadata or {}) if message is not None else {}
            tokens = (int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
            self._touch(key, rnd, now, tokens if usage else (0, 0))
        if message is not None:
            meta = message.response_metadata or {}
            finish = meta.get("finish_reason") or meta.get("stop_reason")
            span.set_attributes(
                _attrs(
                    {
                        RESPONSE_MODEL: meta.get("model_name") or meta.get("model"),
                        RESPONSE_ID: meta.get("id"),
                        FINISH_REASONS: [str(finish)] if finish else None,
                    }
                )
            )
            if usage:
                _set_tokens(span, list(tokens))
        span.end(end_time=now)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id, error)

    # -- tool calls --------------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        now = time.time_ns()
        meta = metadata or {}
        name = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
        call_id = kwargs.get("tool_call_id")
        effect_key = meta.get(TOOL_CALL_KEY)  # the call's `tool_call_key`
        with self._lock:
            if self._root_span is None or parent_run_id not in self._parents:
                return
            self._parents[run_id] = parent_run_id
            rnd = meta.get(ROUND_KEY)
            key: _Key | None
            if meta.get(SUBTASK_KEY) is not None:  # the call names its sub-task itself
                key = (rnd if isinstance(rnd, int) else None, str(meta[SUBTASK_KEY]))
                self._subtask(key, meta.get(ROLE_KEY), parent_run_id, now)
            else:
                key = self._served_subtask(parent_run_id)
            if key is None or key not in self._subtasks:
                # e.g. the first call of a resumed run, whose model call was replayed: a later
                # call of its sub-task claims an enclosing run and adopts it (`_adopt`)
                self._orphans[run_id] = _Tool(name, call_id, now, self._enclosing(parent_run_id), effect_key)
                return
            self._spans[run_id] = (self._tool_span(name, call_id, key, now, effect_key), key, key[0])

    def _tool_span(
        self, name: str, call_id: Any, key: _Key | None, start: int, effect_key: Any = None
    ) -> Any:
        group = self._subtasks.get(key) if key is not None else None
        return self.tracer.start_span(
            f"execute_tool {name}",
            context=trace.set_span_in_context(group.span if group else self._root_span),
            start_time=start,
            attributes=_attrs(
                {
                    OPERATION: "execute_tool",
                    TOOL_NAME: name,
                    TOOL_TYPE: "function",
                    TOOL_CALL_ID: call_id,
                    A_TOOL_KEY: effect_key,
                    A_ROLE: group.role if group else None,
                    A_SUBTASK: key[1] if group and key else None,
                    A_ROUND: key[0] if group and key else None,
                    **self._base,
                }
            ),
        )

    def _enclosing(self, run: UUID | None) -> tuple[UUID, ...]:
        chain = []
        while run is not None and run != self._root:
            chain.append(run)
            run = self._parents.get(run)
        return tuple(chain)

    def _adopt(self, key: _Key) -> None:
        """Give `key`'s sub-task the finished tool calls made inside a run it now claims."""
        for tool in [t for t in self._waiting if any(self._owner.get(r) == key for r in t.enclosing)]:
            self._waiting.remove(tool)
            self._emit_tool(tool, key)

    def _emit_tool(self, tool: _Tool, key: _Key | None) -> None:
        span = self._tool_span(tool.name, tool.call_id, key, tool.start, tool.effect_key)
        end = tool.end or time.time_ns()
        self._touch(key, key[0] if key else None, end, (0, 0))
        if tool.error is not None:
            _record_error(span, tool.error)
        span.end(end_time=end)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id, None)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id, error)

    def _end_call(self, run_id: UUID, error: BaseException | None) -> None:
        """End a tool call's span, or a model call's that failed."""
        now = time.time_ns()
        with self._lock:
            self._parents.pop(run_id, None)
            orphan = self._orphans.pop(run_id, None)
            if orphan is not None:
                orphan.end, orphan.error = now, error
                self._waiting.append(orphan)
                return
            entry = self._spans.pop(run_id, None)
            if entry is None:
                return
            span, key, rnd = entry
            self._touch(key, rnd, now, (0, 0))
        if error is not None:
            _record_error(span, error)
        span.end(end_time=now)


def _attrs(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without the Nones (OpenTelemetry attributes cannot be None)."""
    return {k: v for k, v in values.items() if v is not None}


def _set_tokens(span: Any, tokens: list[int]) -> None:
    span.set_attributes({INPUT_TOKENS: tokens[0], OUTPUT_TOKENS: tokens[1]})


def _message_of(response: LLMResult) -> AIMessage | None:
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)  # ChatGeneration's
            if isinstance(message, AIMessage):
                return message
    return None


def _record_error(span: Any, error: BaseException) -> None:
    span.record_exception(error)
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)[:500]))
