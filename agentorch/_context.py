"""The per-run context and the one place every model call goes through.

Every LLM call — planner, critic, synthesizer, summarizer, specialists — is made by
`RunContext.call_model`: it checks the budget, tags the call with its role in the run config
metadata (so traces and scripted models know who is speaking), applies the per-call timeout and
records token usage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from agentorch._errors import ConfigError
from agentorch._keys import (
    ROLE_KEY,
    ROUND_KEY,
    SUBTASK_KEY,
    THREAD_KEY,
    TRACE_ROUND_KEY,
    TRACE_SUBTASK_KEY,
)
from agentorch._types import Budget, TokenUsage, Usage, price_for

if TYPE_CHECKING:
    from agentorch._team import Team

log = logging.getLogger("agentorch")

M = TypeVar("M", bound=BaseModel)


class BudgetExhausted(Exception):
    """Control flow: a budget limit was reached before a model call. Never reaches users.

    Raised inside `call_structured`, it carries what the earlier repair attempts used."""

    spent: TokenUsage = TokenUsage()
    model: str = "unknown"


@dataclass
class RunContext:
    """State of one `run`/`resume` call that is not part of the graph state: budget counters.

    Counters start from the usage already recorded in the thread's state, so a resumed run keeps
    counting where the interrupted one stopped.
    """

    team: Team
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

    def carry(self, role: str, usage: TokenUsage, model: str) -> None:
        """Keep `usage` of calls `role` made in a node attempt that is failing."""
        if usage.calls:
            before, _ = self.carried.get(role, (TokenUsage(), model))
            self.carried[role] = (before + usage, model)

    def count_replayed(self, message: AIMessage) -> None:
        """Count toward the budget a call answered in an earlier `run`/`resume` of this thread
        that no finished node has recorded yet (a sub-task paused for approval, or failed)."""
        self.llm_calls += 1
        self.spend(message)

    def priced(self, message: AIMessage) -> TokenUsage:
        """The usage of an answer, with its cost under the team's prices.

        Raises `ConfigError` when a money budget is set and the answering model has no price.
        """
        usage = usage_of(message)
        model = model_name_of(message)
        price = price_for(model, self.team.prices)
        if price is None:
            if self.team.budget.max_cost is not None:
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
        b: Budget = self.team.budget
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
    ) -> AIMessage:
        """Call the model for `role` (or the given runnable) once, budgeted and tagged.

        The answer's tokens and cost count toward the budget here; get its priced usage with
        `priced(message)`."""
        runnable = model if model is not None else self.team.model_for(role)
        message = await self._invoke(role, runnable, messages, subtask_id, round, run_name)
        if not isinstance(message, AIMessage):
            raise TypeError(f"The model for role `{role}` returned {type(message).__name__}.")
        self.spend(message)
        return message

    async def _invoke(
        self,
        role: str,
        runnable: Any,
        messages: Sequence[BaseMessage],
        subtask_id: str | None,
        round: int | None,
        run_name: str | None,
    ) -> Any:
        problem = self.budget_problem()
        if problem:
            raise BudgetExhausted(problem)
        config: dict[str, Any] = {
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
        self.llm_calls += 1
        log.debug("model call role=%s subtask=%s messages=%d", role, subtask_id, len(messages))
        coro = runnable.ainvoke(list(messages), config=config)
        timeout = self.team.model_timeout
        began = time.monotonic()
        try:
            out = await (asyncio.wait_for(coro, timeout) if timeout else coro)
        except BaseException:
            self.failed_role = role
            raise
        self.failed_role = None
        if log.isEnabledFor(logging.DEBUG):
            raw = out.get("raw") if isinstance(out, dict) else out
            tokens = usage_of(raw).total_tokens if isinstance(raw, AIMessage) else "?"
            log.debug(
                "model answered role=%s subtask=%s in %.2fs, %s tokens",
                role,
                subtask_id,
                time.monotonic() - began,
                tokens,
            )
        return out

    async def call_structured(
        self,
        role: str,
        schema: type[M],
        messages: Sequence[BaseMessage],
        *,
        check: Any = None,
        retries: int = 2,
        round: int | None = None,
    ) -> tuple[M | None, list[str], TokenUsage, str]:
        """Ask `role` for a `schema` instance, feeding problems back for repair.

        `check(value) -> list[str]` adds semantic validation. Returns the value (None if still
        invalid after `retries` repairs), the last problems, the usage of all attempts and the
        name of the model that answered.
        """
        structured = self.team.structured_model(role, schema)
        convo = list(messages)
        # calls answered in earlier attempts of this node (retried after an error) count too
        usage, model = self.carried.pop(role, (TokenUsage(), "unknown"))
        problems: list[str] = []
        for attempt in range(retries + 1):
            try:
                out = dict(await self._invoke(role, structured, convo, None, round, None))
            except (ValidationError, OutputParserException, json.JSONDecodeError) as e:
                # ChatOpenAI's json_schema mode parses inside the call and raises instead of
                # returning `parsing_error`: treat it as the same repairable problem
                out = {"raw": None, "parsed": None, "parsing_error": e}
            except BudgetExhausted as e:  # the attempts already made still count
                e.spent, e.model = usage, model
                raise
            except BaseException:
                self.carry(role, usage, model)
                raise
            raw = out.get("raw")
            if isinstance(raw, AIMessage):
                usage = usage + self.spend(raw)
                model = model_name_of(raw)
            value = out.get("parsed")
            if isinstance(value, dict):
                try:
                    value = schema.model_validate(value)
                except ValidationError as e:
                    value, out["parsing_error"] = None, e
            if value is None:
                err = out.get("parsing_error")
                problems = [
                    f"The answer did not match the required format: {_short(err)}"
                    if err is not None
                    else "The answer did not match the required format: it was plain text, "
                    f"not a `{schema.__name__}` object."
                ]
            else:
                problems = list(check(value)) if check else []
                if not problems:
                    return value, [], usage, model
            log.info("%s output rejected (attempt %d): %s", role, attempt + 1, problems)
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
        return None, problems, usage, model


def _by_model(entries: Any) -> dict[str, TokenUsage]:
    out: dict[str, TokenUsage] = {}
    for usage, model in entries:
        out[model] = out.get(model, TokenUsage()) + usage
    return out


def usage_of(message: AIMessage) -> TokenUsage:
    """The token usage a model reported on `message` (zeros if it reported none)."""
    u: Mapping[str, Any] = message.usage_metadata or {}
    return TokenUsage(
        input_tokens=int(u.get("input_tokens", 0)),
        output_tokens=int(u.get("output_tokens", 0)),
        total_tokens=int(u.get("total_tokens", 0)),
        calls=1,
    )


def model_name_of(message: AIMessage) -> str:
    """The model name a provider reported, or "unknown"."""
    meta = message.response_metadata or {}
    return str(meta.get("model_name") or meta.get("model") or "unknown")


def _short(value: object, limit: int = 500) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"
