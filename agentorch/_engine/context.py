"""The per-run context and the one place every model call goes through.

Every LLM call — planner, critic, synthesizer, summarizer, specialists — is made by
`RunContext.call_model`: it checks the budget, tags the call with its role in the run config
metadata (so traces and scripted models know who is speaking) and records token usage.

Every call runs as a LangGraph task (`model_call`) under the team's `RetryPolicy`, with
`model_timeout` as the task's timeout: LangGraph retries and times it out, and checkpoints each
answer when it arrives, so a node or sub-task that runs again after a crash, a failure or an
approval replays answered calls instead of paying for them twice. A call the model answered
was paid for: its answer is in the checkpoint, and it counts in usage and toward the budget of
the process that replays it (unless a paused sub-task's payload already counted it) — across
any number of failures and resumes.

One call is made directly instead, in its sub-task's own task: the first call of an agent with
no tools (and no model routing) whose context needed no summary. Nothing was paid before it in
that task, so the `specialist` task itself retries it, under the team's rule applied to its
cause (`FirstCallFailed`), and its answer is checkpointed with the sub-task's result. Such an
agent almost always answers in that one call, and saves the cost of a nested task.

The planner's, critic's and typed agents' repair loops (`call_structured`) count only the
attempts made by the process running them: a run resumed after repairs ran out replays the
rejected answers (free, and shown to the model as before) and asks again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import openai
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp, NodeTimeoutError
from langgraph.func import task
from langgraph.types import RetryPolicy
from pydantic import BaseModel, ValidationError

from agentorch._engine.approvals import spent_while_paused
from agentorch._engine.services import Services
from agentorch._errors import AgentorchError, ConfigError
from agentorch._keys import (
    ROLE_KEY,
    ROUND_KEY,
    SUBTASK_KEY,
    THREAD_KEY,
    TRACE_ROUND_KEY,
    TRACE_SUBTASK_KEY,
)
from agentorch._types import Budget, PendingInterrupt, TokenUsage, Usage, price_for

if TYPE_CHECKING:
    from agentorch._settings import TeamSettings

log = logging.getLogger("agentorch")

M = TypeVar("M", bound=BaseModel)


class BudgetExhausted(RuntimeError):
    """Control flow: a budget limit was reached before a model call. Never reaches users.

    A `RuntimeError`, so LangGraph's default retry rule does not retry it.

    Raised inside `call_structured`, it carries what the earlier repair attempts used."""

    spent: TokenUsage = TokenUsage()
    model: str = "unknown"


class FirstCallFailed(Exception):
    """An agent's first model call, made directly in its sub-task's task, failed (the cause
    is chained). The `specialist` task retries only this error, by the team's rule for its
    cause (`first_call_retry`); the dispatcher reports it, when retries are spent, as the
    sub-task's failure."""


@dataclass
class RunContext:
    """State of one `run`/`resume` call that is not part of the graph state: budget counters.

    Counters start from the usage already recorded in the thread's state, so a resumed run keeps
    counting where the interrupted one stopped.
    """

    settings: TeamSettings
    """The team's settings for this run (`Team.settings()`)."""
    thread_id: str = ""
    started: float = field(default_factory=time.monotonic)
    llm_calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    carried: dict[str, tuple[TokenUsage, str]] = field(default_factory=dict)
    """Usage of answered calls whose node attempt then failed, by role (with the model name):
    LangGraph drops a failed node's writes, so a retried node adds them to its own usage and a
    failed run's result adds what is left."""
    precounted: set[str] = field(default_factory=set)
    """Sub-tasks resumed after an approval whose earlier calls the counters already hold."""
    failed_role: str | None = None
    """The role whose model call raised last (None once a later call answers): names the role
    in a failure's message."""

    @property
    def services(self) -> Services:
        """The team's prompts, model routing and context builder."""
        return Services.of(self.settings)

    @classmethod
    def resuming(
        cls,
        settings: TeamSettings,
        thread_id: str,
        state: Mapping[str, Any],
        paused: Iterable[PendingInterrupt] = (),
    ) -> RunContext:
        """A context whose budget counters start from what the thread has spent: the usage its
        `state` records (the round so far included), plus what the sub-tasks `paused` for
        approval had spent when they paused (their calls are in no finished node's usage yet;
        counted now, before any resumed branch may call a model, and not again on replay)."""
        spent = Usage.model_validate(state.get("usage") or {}).total
        ctx = cls(
            settings=settings,
            thread_id=thread_id,
            llm_calls=spent.calls,
            tokens=spent.total_tokens,
            cost=spent.cost,
        )
        for subtask_id, usage in spent_while_paused(paused).items():
            ctx.precounted.add(subtask_id)
            ctx.llm_calls += usage.calls
            ctx.tokens += usage.total_tokens
            ctx.cost += usage.cost
        return ctx

    @classmethod
    def from_state(cls, settings: TeamSettings, thread_id: str, state: Mapping[str, Any]) -> RunContext:
        """A context for a node of a graph invoked without one (LangGraph Server,
        `team.compile()`): budget counters as `resuming` gives them, and its clock from the
        run's first recorded step, so budgets count per run."""
        ctx = cls.resuming(settings, thread_id, state)
        first = min((s["started_at"] for s in state.get("steps", [])), default=None)
        if first is not None:
            ctx.started = time.monotonic() - (time.time() - first)
        return ctx

    def carry(self, role: str, usage: TokenUsage, model: str) -> None:
        """Keep `usage` of calls `role` made in a node attempt that is failing."""
        if usage.calls:
            before, _ = self.carried.get(role, (TokenUsage(), model))
            self.carried[role] = (before + usage, model)

    def priced(self, message: AIMessage) -> TokenUsage:
        """The usage of an answer, with its cost under the team's prices.

        Raises `ConfigError` when a money budget is set and the answering model has no price.
        """
        usage = usage_of(message)
        model = model_name_of(message)
        price = price_for(model, self.settings.prices)
        if price is None:
            if self.settings.budget.max_cost is not None:
                raise ConfigError(
                    f"`Budget(max_cost=...)` needs a price for every model, and `{model}` has "
                    f"none: pass `Team(prices={{{model!r}: (input_per_1M, output_per_1M)}})`."
                )
            return usage
        return usage.model_copy(update={"cost": price.cost(usage)})

    def spend(self, message: AIMessage) -> TokenUsage:
        """Count an answer's tokens and cost toward the budget; its priced usage."""
        usage = self.priced(message)
        self.tokens += usage.total_tokens
        self.cost += usage.cost
        return usage

    def carried_usage(self) -> Usage:
        """What `carried` holds, as a `Usage`."""
        return Usage(
            by_role={r: u for r, (u, _) in self.carried.items()}, by_model=_by_model(self.carried.values())
        )

    def budget_problem(self) -> str | None:
        """Which budget limit is reached, or None."""
        b: Budget = self.settings.budget
        if b.max_llm_calls is not None and self.llm_calls >= b.max_llm_calls:
            return f"max_llm_calls={b.max_llm_calls} reached"
        if b.max_tokens is not None and self.tokens >= b.max_tokens:
            return f"max_tokens={b.max_tokens} reached ({self.tokens} used)"
        if b.max_seconds is not None and time.monotonic() - self.started >= b.max_seconds:
            return f"max_seconds={b.max_seconds} reached"
        if b.max_cost is not None and self.cost >= b.max_cost:
            return f"max_cost={b.max_cost} reached ({self.cost:.4f} spent)"
        return None

    async def call_model(
        self,
        role: str,
        messages: Sequence[BaseMessage],
        *,
        model: Any = None,
        subtask_id: str | None = None,
        round: int | None = None,
        run_name: str | None = None,
        direct: bool = False,
    ) -> AIMessage:
        """Call the model for `role` (or the given runnable) once, budgeted and tagged.

        `direct`: a sub-task's call made in its own task, not a `model_call` task (see the
        module's docstring); it raises `FirstCallFailed` when it fails.

        The answer's tokens and cost count toward the budget here; get its priced usage with
        `priced(message)`."""
        runnable = model if model is not None else self.settings.model_for(role)
        message, _ = await self._invoke(role, runnable, messages, subtask_id, round, run_name, direct=direct)
        if not isinstance(message, AIMessage):
            raise TypeError(f"The model for role `{role}` returned {type(message).__name__}.")
        return message

    async def _invoke(
        self,
        role: str,
        runnable: Any,
        messages: Sequence[BaseMessage],
        subtask_id: str | None,
        round: int | None,
        run_name: str | None,
        structured: bool = False,
        direct: bool = False,
    ) -> tuple[Any, bool]:
        """One model call, a `model_call` task (see the module's docstring): budget checked,
        answer counted (whether made now or replayed from the checkpoint). Returns the answer
        and whether the call was made now (False: replayed)."""
        options: dict[str, Any] = {
            "metadata": {
                ROLE_KEY: role,
                SUBTASK_KEY: subtask_id,
                ROUND_KEY: round,
                THREAD_KEY: self.thread_id,
                TRACE_ROUND_KEY: round,
                TRACE_SUBTASK_KEY: subtask_id,
            },
            "run_name": run_name or role,
        }
        log.debug("model call role=%s subtask=%s messages=%d", role, subtask_id, len(messages))
        made: list[bool] = []
        began = time.monotonic()
        call = (
            _direct_call
            if direct
            else model_call_task(self.settings.retry, self.settings.model_timeout)
            if _in_graph()
            else _model_call  # a node called on its own (a unit test): nothing to save to
        )
        try:
            out = await call(self, runnable, list(messages), options, made, structured)
        except NodeTimeoutError as e:
            self.failed_role = role
            raise TimeoutError(
                f"the model call took longer than model_timeout={self.settings.model_timeout} s"
            ) from e
        except BaseException:
            self.failed_role = role
            raise
        self.failed_role = None
        raw = out.get("raw") if isinstance(out, dict) else out
        if not made:  # answered in an earlier run/resume of this thread: count it now, unless
            if subtask_id in self.precounted:  # the paused sub-task's payload counted it already
                return out, False
            self.llm_calls += 1
        if isinstance(raw, AIMessage):
            self.spend(raw)
        if log.isEnabledFor(logging.DEBUG):
            tokens = usage_of(raw).total_tokens if isinstance(raw, AIMessage) else "?"
            log.debug(
                "model answered role=%s subtask=%s in %.2fs, %s tokens%s",
                role,
                subtask_id,
                time.monotonic() - began,
                tokens,
                "" if made else " (replayed from the checkpoint)",
            )
        return out, bool(made)

    async def call_structured(
        self,
        role: str,
        schema: type[M],
        messages: Sequence[BaseMessage],
        *,
        check: Any = None,
        retries: int = 2,
        round: int | None = None,
        model: Any = None,
        subtask_id: str | None = None,
        run_name: str | None = None,
        on_answer: Callable[[AIMessage], None] | None = None,
    ) -> tuple[M | None, list[str], TokenUsage, str]:
        """Ask `role` for a `schema` instance, feeding problems back for repair.

        `check(value) -> list[str]` adds semantic validation. Returns the value (None if still
        invalid after `retries` repairs), the last problems, the usage of all attempts and the
        name of the model that answered.

        A sub-task's call (`subtask_id`, on its attempt's chat `model`) is a `model_call` task
        like the agent's other calls; its caller keeps the usage account, told of each answer
        through `on_answer`, so nothing is carried here.
        """
        structured = self.services.structured_model(role, schema, model)
        convo = list(messages)
        node_call = subtask_id is None
        usage, answered_by = TokenUsage(), "unknown"
        problems: list[str] = []
        made_now = 0  # attempts made by this process (replayed ones are free: see the module)
        while made_now <= retries:
            try:
                answer, made = await self._invoke(
                    role, structured, convo, subtask_id, round, run_name, structured=True
                )
                out = dict(answer)
                made_now += made
            except BudgetExhausted as e:  # the attempts already made still count
                e.spent, e.model = usage, answered_by
                raise
            except AgentorchError as e:
                if not problems:
                    if node_call:
                        self.carry(role, usage, answered_by)
                    raise
                # a repair that cannot be asked (a used-up script, a blocked or unrecorded
                # call): the answer's own problems are the cause to report, this is a footnote
                return None, [*problems, f"asking `{role}` to repair it failed: {e}"], usage, answered_by
            except BaseException:
                if node_call:
                    self.carry(role, usage, answered_by)
                raise
            raw = out.get("raw")
            if isinstance(raw, AIMessage):
                usage = usage + self.priced(raw)
                answered_by = model_name_of(raw)
                if on_answer is not None:
                    on_answer(raw)
            value = out.get("parsed")
            if isinstance(value, dict):
                try:
                    value = schema.model_validate(value)
                except ValidationError as e:
                    value, out["parsing_error"] = None, e
            if value is None:
                err = out.get("parsing_error")
                problems = [
                    CUT_OFF
                    if err == CUT_OFF
                    else f"The answer did not match the required format: {_short(_validation_text(err))}"
                    if err is not None
                    else "The answer did not match the required format: it was plain text, "
                    f"not a `{schema.__name__}` object."
                ]
            else:
                problems = list(check(value)) if check else []
                if not problems:
                    return value, [], usage, answered_by
            log.info("%s output rejected (attempt %d): %s", role, made_now, problems)
            shown = raw.content or raw.tool_calls if isinstance(raw, AIMessage) else raw
            convo = [
                *messages,
                HumanMessage(
                    "Your previous answer was rejected.\nPrevious answer: "
                    f"{_short(shown, 2000)}\nProblems:\n- "
                    + "\n- ".join(problems)
                    + "\nAnswer again with every problem fixed."
                ),
            ]
        return None, problems, usage, answered_by


@functools.lru_cache(maxsize=64)
def model_call_task(retry: RetryPolicy, timeout: float | None) -> Any:
    """The `model_call` task under `retry` and `timeout` (one per policy, built once)."""
    # langgraph 1.2 types `task(...)` as taking functions of no arguments (ParamSpec lost)
    return task(name="model_call", retry_policy=retry, timeout=timeout)(_model_call)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=64)
def first_call_retry(retry: RetryPolicy) -> RetryPolicy:
    """`retry` for a `specialist` task: it retries `FirstCallFailed` only, when the team's rule
    (`retry.retry_on`, in any form LangGraph accepts) would retry its cause."""
    rule = retry.retry_on

    def retry_on(exc: Exception) -> bool:
        cause = exc.__cause__
        if not isinstance(exc, FirstCallFailed) or not isinstance(cause, Exception):
            return False
        if isinstance(rule, (type, Sequence)):
            return isinstance(cause, rule if isinstance(rule, type) else tuple(rule))
        return bool(rule(cause))

    return with_retry_on(retry, retry_on)


def with_retry_on(retry: RetryPolicy, retry_on: Any) -> RetryPolicy:
    """`retry` with another `retry_on` (the same attempts, intervals and jitter)."""
    return RetryPolicy(
        initial_interval=retry.initial_interval,
        backoff_factor=retry.backoff_factor,
        max_interval=retry.max_interval,
        max_attempts=retry.max_attempts,
        jitter=retry.jitter,
        retry_on=retry_on,
    )


async def _model_call(
    ctx: RunContext,
    runnable: Any,
    messages: list[BaseMessage],
    options: dict[str, Any],
    made: list[bool],
    structured: bool,
) -> Any:
    """The body of a `model_call` task (or a direct call): the budget is checked here, so an
    answer replayed from the checkpoint is never refused. What it returns is checkpointed, so
    structured output comes back as plain data and tool-call arguments are made storable."""
    problem = ctx.budget_problem()
    if problem:
        raise BudgetExhausted(problem)
    made.append(True)  # a task replayed from the checkpoint does not run its body
    ctx.llm_calls += 1  # counted before the answer, so calls made in parallel see each other
    try:
        out = await runnable.ainvoke(messages, config=options)
    except (ValidationError, OutputParserException, json.JSONDecodeError) as e:
        if not structured:  # e.g. a body that is not JSON: a transient fault, retried
            raise
        # ChatOpenAI's json_schema mode parses inside the call and raises instead of returning
        # `parsing_error`: the same repairable problem
        return {"raw": None, "parsed": None, "parsing_error": _short(_validation_text(e))}
    except openai.LengthFinishReasonError as e:
        if not structured:
            raise
        # the answer stopped at the output limit: the same answer again would too (it is not
        # retried); the repair loop asks for a shorter one, its tokens counted
        return {"raw": _cut_off_message(e.completion), "parsed": None, "parsing_error": CUT_OFF}
    except Exception as e:
        if structured and (why := rejected_request(e)):
            method = ctx.settings.structured_output_method
            raise ConfigError(
                f"The model server rejected the structured-output request ({why}) made with "
                + (f"`structured_output_method={method!r}`" if method else "the model's default method")
                + ". If the server does not support that method, choose another one: "
                "`Team(structured_output_method=...)`, the `AGENTORCH_STRUCTURED_OUTPUT` "
                "environment variable or `agentorch run --structured-output ...`, one of "
                "'json_schema', 'function_calling', 'json_mode' (llama.cpp: 'json_mode')."
            ) from e
        raise
    if isinstance(out, dict):  # with_structured_output(include_raw=True)
        parsed, error = out.get("parsed"), out.get("parsing_error")
        out = {
            "raw": out.get("raw"),
            "parsed": parsed.model_dump(mode="json") if isinstance(parsed, BaseModel) else parsed,
            "parsing_error": None if error is None else _short(_validation_text(error)),
        }
    raw = out.get("raw") if isinstance(out, dict) else out
    if isinstance(raw, AIMessage):
        for tool_call in raw.tool_calls:
            tool_call["args"] = _checkpointable(tool_call.get("args") or {})
    return out


async def _direct_call(ctx: RunContext, *args: Any) -> Any:
    """`_model_call(ctx, *args)` under `model_timeout`, its failure as `FirstCallFailed`."""
    timeout = ctx.settings.model_timeout
    try:
        async with asyncio.timeout(timeout) as limit:
            return await _model_call(ctx, *args)
    except (BudgetExhausted, GraphBubbleUp):
        raise
    except TimeoutError as e:
        if not limit.expired():
            raise FirstCallFailed() from e
        raise FirstCallFailed() from TimeoutError(
            f"the model call took longer than model_timeout={timeout} s"
        )
    except Exception as e:
        raise FirstCallFailed() from e


CUT_OFF = (
    "The answer was cut off at the model's output-token limit (finish reason `length`): give "
    "a much shorter answer. If this keeps happening, the model's output limit is too low for "
    "this answer: raise it (e.g. `max_tokens`)."
)
"""The repair request after a structured answer stopped at the output limit."""

_INVALID_REQUEST = re.compile(
    r"input should be|literal_error|validation error|not supported|unsupported|invalid request"
    r"|unrecognized request argument|extra inputs are not permitted",
    re.IGNORECASE,
)


def rejected_request(exc: BaseException) -> str | None:
    """Why a model server refused the request itself (so retrying it cannot help), or None:
    an HTTP 400/422, or a 5xx whose message says the request is invalid (llama.cpp's server
    answers 500 `Input should be 'text' or 'json_object'` to a `json_schema` response format)."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return None
    message = str(getattr(exc, "message", None) or exc)
    if status in (400, 422) or (status >= 500 and _INVALID_REQUEST.search(message)):
        return f"HTTP {status}: {_short(message, 300)}"
    return None


def _cut_off_message(completion: Any) -> AIMessage:
    """The answer of a completion that stopped at the output limit, with its usage."""
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    return AIMessage(
        content=(choice.message.content or "") if choice is not None else "",
        usage_metadata={
            "input_tokens": usage.prompt_tokens if usage else 0,
            "output_tokens": usage.completion_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        },
        response_metadata={"model_name": completion.model, "finish_reason": "length"},
    )


def _in_graph() -> bool:
    """Whether the caller runs inside a LangGraph run (where tasks can be saved)."""
    try:
        get_config()
    except RuntimeError:
        return False
    return True


def _checkpointable(value: Any) -> Any:
    """`value` with integers too big for a checkpoint (msgpack: 64 bits) as decimal strings.

    A model may ask for a tool with any JSON number; saving such an answer would fail the run.
    Typed tools still get the exact integer: pydantic parses decimal strings for `int`.
    """
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, dict):
        return {k: _checkpointable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_checkpointable(v) for v in value]
    return value


def _by_model(entries: Any) -> dict[str, TokenUsage]:
    out: dict[str, TokenUsage] = {}
    for usage, model in entries:
        out[model] = out.get(model, TokenUsage()) + usage
    return out


def usage_of(message: AIMessage) -> TokenUsage:
    """The token usage a model reported on `message` (zeros if it reported none), with the
    input tokens its provider served from the prompt cache (`input_token_details.cache_read`)."""
    u: Mapping[str, Any] = message.usage_metadata or {}
    details: Mapping[str, Any] = u.get("input_token_details") or {}
    return TokenUsage(
        input_tokens=int(u.get("input_tokens", 0)),
        output_tokens=int(u.get("output_tokens", 0)),
        total_tokens=int(u.get("total_tokens", 0)),
        calls=1,
        cached_input_tokens=int(details.get("cache_read") or 0),
    )


def model_name_of(message: AIMessage) -> str:
    """The model name a provider reported, or "unknown"."""
    meta = message.response_metadata or {}
    return str(meta.get("model_name") or meta.get("model") or "unknown")


def _validation_text(err: object) -> object:
    """A pydantic `ValidationError` as `field: problem (got value)` items, without pydantic's
    links; any other error as it is."""
    if not isinstance(err, ValidationError):
        return err
    return "; ".join(
        f"`{'.'.join(map(str, e['loc'])) or 'answer'}`: {e['msg']} (got {e.get('input')!r})"
        for e in err.errors()
    )


def _short(value: object, limit: int = 500) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"
