"""`Team`: describe a team of agents, compile it to a LangGraph graph, run it."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, RetryPolicy, StreamMode, default_retry_on

import agentorch.prompts as prompt_files
from agentorch._agent import Agent
from agentorch._context import BudgetExhausted, RunContext
from agentorch._errors import (
    AgentorchError,
    ConfigError,
    CriticError,
    PlanError,
    RunFailed,
    describe_error,
)
from agentorch._events import Event, Interrupted, events_from_chunk, waiting_interrupts
from agentorch._graph import GraphShape, build_graph, mark_sent_back
from agentorch._keys import CALL_KEY, CRITIC, PLANNER, SUMMARIZER, SYNTHESIZER, TEAM_CONFIG
from agentorch._memory import TeamMemory
from agentorch._models import (
    STRUCTURED_OUTPUT_METHODS,
    ChatModel,
    ModelSpec,
    RouteModel,
    StructuredOutputMethod,
    chat_model_problem,
    first_model,
    members,
    model_label,
)
from agentorch._plan import plan_problems
from agentorch._state import add_usage, merge_results
from agentorch._sync import iterate_sync, run_sync
from agentorch._tracing import ensure_tracing_usable, trace_config
from agentorch._types import (
    DEFAULT_PRICES,
    Budget,
    ModelPrice,
    PendingInterrupt,
    Plan,
    RunResult,
    StepRecord,
    SubTaskResult,
    TokenUsage,
    Usage,
    Verdict,
    normalize_prices,
    price_for,
)
from agentorch._view import describe_event

log = logging.getLogger("agentorch")

__all__ = ["Team", "retryable"]


def retryable(exc: BaseException) -> bool:
    """Default retry rule for model calls: transient failures yes, our own errors and 4xx no."""
    if isinstance(exc, (AgentorchError, BudgetExhausted)):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, json.JSONDecodeError):
        # a model server answered 200 with a body that is not JSON (a proxy or server hiccup);
        # the OpenAI SDK does not retry it, so we do
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status in (408, 409, 429)
    return isinstance(exc, Exception) and default_retry_on(exc)


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return value


class Team:
    """A team of agents: a planner splits the goal, specialists work, a critic reviews.

    Args:
        agents: the specialists; names must be unique.
        llm: the default chat model for every role (planner, critic, synthesizer, summarizer,
            agents). Any LangChain chat model: `ChatOpenAI(...)`, `ScriptedChatModel(...)`,
            or chat models chained with `primary.with_fallbacks([backup])` (the backup answers
            when the primary raises, after the primary's own retries); or a
            `agentorch.llms.cascade(cheap, strong)`: agents escalate through it per attempt,
            the other roles use its first model.
        llms: per-role or per-agent models (or cascades) overriding `llm`, e.g.
            `{"planner": strong}`.
        max_rounds: critic rounds before the run ends with status "max_rounds".
        max_subtasks: the largest plan the planner may produce.
        plan_retries: repair attempts when the planner's (or critic's) output is invalid.
        max_tool_calls: tool calls one specialist may make on one sub-task.
        critic: review results with the critic (False: synthesize right after the work).
        approve_plan: pause after planning until a person approves (`resume(approve=...)`).
        budget: limits on model calls, tokens and seconds per run.
        checkpointer: any LangGraph saver (async-capable); default in-memory.
        memory: a `TeamMemory` such as `agentorch.memory.ChromaMemory`.
        context_budget: tokens of context (dependencies, memory) per planner/specialist call.
        retry: LangGraph `RetryPolicy` for model calls.
        model_timeout: seconds one model call may take (None: no limit).
        tool_timeout: default seconds one tool call may take (per tool: `@tool(timeout=...)`).
        prompts: overrides of the bundled prompts by name ("planner", "critic", ...).
        structured_output_method: how plans and verdicts are asked for, passed to the model's
            `with_structured_output(method=...)`: "json_schema" (a strict response format;
            ChatOpenAI's default), "function_calling" (a forced tool call: for servers without
            JSON-schema support) or "json_mode". None: the model's own default.
        prices: model name -> price per 1M (input, output) tokens, on top of
            `agentorch.DEFAULT_PRICES` (OpenAI list prices); usage is priced during the run
            (`RunResult.usage.cost()`) and `Budget(max_cost=...)` counts it.
        route_model: `(subtask, attempt, history) -> chat model or None`, called before every
            attempt of every sub-task to pick its model (None: no model left, the sub-task
            fails saying so). Default: the agent's cascade (`Cascade.route`), or its one model.

    Example:
        >>> from agentorch import Team, Agent
        >>> from agentorch.llms import ScriptedChatModel
        >>> plan = {"subtasks": [{"id": "w", "description": "Say hi", "agent": "writer"}]}
        >>> llm = ScriptedChatModel({"planner": [plan], "writer": ["Hi!"],
        ...                          "critic": [{"decision": "accept"}], "synthesizer": ["Hi!"]})
        >>> team = Team(agents=[Agent(name="writer", role="Writes")], llm=llm)
        >>> team.run("Greet the reader").answer
        'Hi!'
    """

    def __init__(
        self,
        agents: Sequence[Agent],
        llm: ModelSpec | None = None,
        *,
        llms: Mapping[str, ModelSpec] | None = None,
        name: str = "team",
        max_rounds: int = 3,
        max_subtasks: int = 20,
        plan_retries: int = 2,
        max_tool_calls: int = 8,
        critic: bool = True,
        approve_plan: bool = False,
        budget: Budget | None = None,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        memory: TeamMemory | None = None,
        context_budget: int = 3000,
        retry: RetryPolicy | None = None,
        model_timeout: float | None = 120.0,
        tool_timeout: float | None = 60.0,
        prompts: Mapping[str, str] | None = None,
        structured_output_method: StructuredOutputMethod | None = None,
        prices: Mapping[str, ModelPrice | tuple[float, float] | Mapping[str, float]] | None = None,
        route_model: RouteModel | None = None,
    ) -> None:
        if isinstance(agents, Agent) or not isinstance(agents, Sequence) or not agents:
            raise ConfigError("A team needs at least one agent: `Team(agents=[Agent(...), ...])`.")
        for a in agents:
            if not isinstance(a, Agent):
                raise ConfigError(f"`agents` must hold `Agent` instances, got {type(a).__name__}.")
        names = [a.name for a in agents]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"Agent names must be unique; repeated: {', '.join(dupes)}.")
        self.agents: tuple[Agent, ...] = tuple(agents)
        self._by_name = {a.name: a for a in self.agents}
        self.name = name
        self.max_rounds = _positive_int("max_rounds", max_rounds)
        self.max_subtasks = _positive_int("max_subtasks", max_subtasks)
        self.plan_retries = _positive_int("plan_retries", plan_retries, 0)
        self.max_tool_calls = _positive_int("max_tool_calls", max_tool_calls)
        self.context_budget = _positive_int("context_budget", context_budget, 100)
        self.critic = bool(critic)
        self.approve_plan = bool(approve_plan)
        if budget is not None and not isinstance(budget, Budget):
            raise ConfigError(f"`budget` must be an `agentorch.Budget`, got {type(budget).__name__}.")
        self.budget = budget or Budget()
        if memory is not None and not isinstance(memory, TeamMemory):
            raise ConfigError(
                f"`memory` must implement agentorch's TeamMemory protocol (arecall, "
                f"aassemble_context, aremember_run), got {type(memory).__name__}."
            )
        self.memory = memory
        self.checkpointer = self._check_checkpointer(checkpointer)
        self.retry = retry or RetryPolicy(max_attempts=3, initial_interval=0.5, retry_on=retryable)
        for label, t in (("model_timeout", model_timeout), ("tool_timeout", tool_timeout)):
            if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
                raise ConfigError(f"`{label}` must be a number of seconds > 0 or None, got {t!r}.")
        self.model_timeout = model_timeout
        self.tool_timeout = tool_timeout
        unknown = set(prompts or {}) - set(prompt_files.PROMPT_NAMES)
        if unknown:
            raise ConfigError(
                f"Unknown prompt names {sorted(unknown)}; "
                f"overridable prompts: {', '.join(prompt_files.PROMPT_NAMES)}."
            )
        if structured_output_method not in (None, *STRUCTURED_OUTPUT_METHODS):
            raise ConfigError(
                f"`structured_output_method` must be one of {', '.join(STRUCTURED_OUTPUT_METHODS)} "
                f"or None, got {structured_output_method!r}."
            )
        self.structured_output_method = structured_output_method
        self.llm = llm
        self.llms = dict(llms or {})
        self.prices: dict[str, ModelPrice] = {**DEFAULT_PRICES, **normalize_prices(prices)}
        if route_model is not None and not callable(route_model):
            raise ConfigError(
                "`route_model` must be a function `(subtask, attempt, history) -> model`, "
                f"got {type(route_model).__name__}."
            )
        self.route_model = route_model
        self._check_models()
        self._graph: CompiledStateGraph[Any, Any, Any, Any] | None = None
        self.prompts: dict[str, str] = dict(prompts or {})
        """Overrides of the bundled prompts by name."""

    # -- configuration helpers --------------------------------------------------------------

    @staticmethod
    def _check_checkpointer(cp: Any) -> BaseCheckpointSaver[Any]:
        if cp is None:
            return InMemorySaver()
        if not isinstance(cp, BaseCheckpointSaver):
            raise ConfigError(
                f"`checkpointer` must be a LangGraph checkpoint saver, got {type(cp).__name__}."
            )
        if type(cp).__name__ == "SqliteSaver":
            raise ConfigError(
                "`SqliteSaver` has no async methods and agentorch runs async: use "
                "`langgraph.checkpoint.sqlite.aio.AsyncSqliteSaver` instead."
            )
        return cp

    def _check_models(self) -> None:
        for key, m in self.llms.items():
            if (problem := chat_model_problem(m)) is not None:
                raise ConfigError(f"`llms[{key!r}]`: {problem}.")
        known = {PLANNER, CRITIC, SYNTHESIZER, SUMMARIZER, *self._by_name}
        unknown = sorted(set(self.llms) - known)
        if unknown:
            raise ConfigError(
                f"`llms` names unknown roles {unknown}; use role names ({', '.join(sorted(known))})."
            )
        if self.llm is not None and (problem := chat_model_problem(self.llm)) is not None:
            raise ConfigError(f"`llm`: {problem}.")
        roles = [PLANNER, SYNTHESIZER, *self._by_name]
        if self.critic:
            roles.append(CRITIC)
        if self.memory is not None:
            roles.append(SUMMARIZER)
        missing = [r for r in roles if self._model_or_none(r) is None]
        if missing:
            raise ConfigError(
                f"No model for {', '.join(f'`{r}`' for r in missing)}: pass `llm=` (used for every "
                "role) or `llms={role: model}`, or give the agent its own `llm=`. For a real model "
                "use `agentorch.llms.from_env()`."
            )
        if self.budget.max_cost is not None:
            unpriced = sorted(
                {
                    model_label(m)
                    for r in roles
                    for m in members(self._model_or_none(r))
                    if price_for(model_label(m), self.prices) is None
                }
            )
            if unpriced:
                example = ", ".join(f"{m!r}: (input_per_1M, output_per_1M)" for m in unpriced)
                raise ConfigError(
                    f"`Budget(max_cost=...)` needs a price for every model; no price for "
                    f"{', '.join(f'`{m}`' for m in unpriced)}: pass `Team(prices={{{example}}})`."
                )

    def model_spec(self, role: str) -> ModelSpec | None:
        """What `role` (an agent name or a team role) is configured with: a chat model, a
        cascade, or None."""
        return self._model_or_none(role)

    def _model_or_none(self, role: str) -> ModelSpec | None:
        agent = self._by_name.get(role)
        if agent is not None and agent.llm is not None:
            return agent.llm
        return self.llms.get(role, self.llm)

    def model_for(self, role: str) -> ChatModel:
        """The chat model that answers for `role` (an agent name or a team role); for a
        cascade, its first model (see `route` for the model of one attempt)."""
        model = self._model_or_none(role)
        if model is None:
            raise ConfigError(f"No model configured for role `{role}`.")
        return first_model(model)

    def models_for(self, role: str) -> tuple[ChatModel, ...]:
        """Every chat model `role` may run on: a cascade's members in order, or its one model."""
        model = self._model_or_none(role)
        if model is None:
            raise ConfigError(f"No model configured for role `{role}`.")
        return members(model)

    def agent(self, name: str) -> Agent:
        """The agent called `name`."""
        return self._by_name[name]

    @property
    def agent_names(self) -> list[str]:
        """Names of the team's agents, in order."""
        return list(self._by_name)

    # -- graph ------------------------------------------------------------------------------

    def compile(
        self, checkpointer: BaseCheckpointSaver[Any] | Literal[False] | None = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Compile the team into a LangGraph graph (a new one per call).

        Input is `{"goal": "..."}`; pass `context=RunContext(...)` only through `Team.run`, which
        also enforces budgets across parallel branches. `checkpointer`: a saver, None for the
        team's own, or False for none — for hosts that bring their own persistence (LangGraph
        Server refuses graphs that carry a checkpointer).
        """
        graph = build_graph(GraphShape.of(self))
        if checkpointer is False:
            compiled = graph.compile(name=self.name, **kwargs)
        else:
            cp = self._check_checkpointer(checkpointer) if checkpointer is not None else self.checkpointer
            compiled = graph.compile(checkpointer=cp, name=self.name, **kwargs)
        # invoked without `Team.run`'s context (LangGraph Server), the nodes find the team here
        return compiled.with_config(configurable={TEAM_CONFIG: self})

    def _compiled(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        # the graph `run` uses: one compiled graph per shape, shared by every team of that
        # shape (compiling costs ~5 ms, a fifth of a short scripted run), with this team's saver
        if self._graph is None:
            shape = GraphShape.of(self)
            try:
                shared = _shared_graph(shape)
            except TypeError:  # a retry policy that cannot be hashed (e.g. a list in `retry_on`)
                self._graph = self.compile()
            else:
                self._graph = shared.copy({"checkpointer": self.checkpointer, "name": self.name})
        return self._graph

    def draw(self) -> str:
        """The team's LangGraph graph as Mermaid text (offline)."""
        return self._compiled().get_graph().draw_mermaid()

    def _repr_html_(self) -> str:
        """The team in Jupyter: its agents (role, tools, model), settings and Mermaid graph."""
        from agentorch._html import team_html

        return team_html(self)

    # -- running ----------------------------------------------------------------------------

    async def astream(
        self, goal: str, *, thread_id: str | None = None, tokens: bool = False
    ) -> AsyncIterator[Event]:
        """Run the team on `goal`, yielding typed events as the work happens.

        `tokens=True` adds a `Token` event for each piece of text the specialists and the
        synthesizer write, as the models stream it (LangGraph's "messages" stream mode)."""
        goal = _check_goal(goal)
        tid = thread_id or uuid.uuid4().hex
        await self._check_fresh_thread(tid)
        start = {"goal": goal, "run_id": uuid.uuid4().hex, "round": 0}
        async for ev in self._drive(start, tid, tokens=tokens):
            yield ev

    async def aresume_stream(
        self,
        thread_id: str,
        approve: Any = None,
        *,
        decisions: Mapping[str, Any] | None = None,
        tokens: bool = False,
    ) -> AsyncIterator[Event]:
        """Continue an interrupted or failed run, yielding events (see `resume`; `tokens` as in
        `astream`: calls replayed from the checkpoint stream nothing)."""
        command, pending = await self._resume_command(thread_id, approve, decisions)
        # a sub-task whose approval is answered carries on where it paused: it already started
        carrying_on = {p.payload.get("subtask_id") for p in pending if p.kind == "tool"}
        async for ev in self._drive(command, thread_id, carrying_on, tokens=tokens):
            yield ev

    async def arun(self, goal: str, *, thread_id: str | None = None) -> RunResult:
        """Run the team on `goal` and return the result.

        Raises `PlanError` if no valid plan could be made, and `RunFailed` (carrying the partial
        result) if a model or tool error outlived its retries; `resume(thread_id)` continues it.
        """
        tid = thread_id or uuid.uuid4().hex
        async for _ in self.astream(goal, thread_id=tid):
            pass
        return await self.aresult(tid)

    async def aresume(
        self, thread_id: str, approve: Any = None, *, decisions: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Continue the run on `thread_id`.

        After an interrupt, `approve` answers it: for a plan, True (run it), False (stop, status
        "rejected") or an edited `Plan`; for a gated tool call, True, False, or
        `{"args": {...}}` to run edited arguments (add `"by": "name"` to record who approved).
        With several pending interrupts, `decisions` maps interrupt ids to answers. After a
        failure, call it without `approve` to continue from the last checkpoint: finished
        sub-tasks are not run again.
        """
        async for _ in self.aresume_stream(thread_id, approve, decisions=decisions):
            pass
        return await self.aresult(thread_id)

    def run(self, goal: str, *, thread_id: str | None = None) -> RunResult:
        """Sync `arun`."""
        return run_sync(self.arun(goal, thread_id=thread_id))

    def resume(
        self, thread_id: str, approve: Any = None, *, decisions: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Sync `aresume`."""
        return run_sync(self.aresume(thread_id, approve, decisions=decisions))

    def stream(self, goal: str, *, thread_id: str | None = None, tokens: bool = False) -> Iterator[Event]:
        """Sync `astream`."""
        return iterate_sync(self.astream(goal, thread_id=thread_id, tokens=tokens))

    async def aresult(self, thread_id: str) -> RunResult:
        """The `RunResult` of the run on `thread_id`, as its last checkpoint holds it."""
        snapshot = await self._compiled().aget_state(_config(thread_id))
        values = _with_round_so_far(snapshot.values or {}, await self._pending_writes(snapshot))
        interrupts = await self._waiting(snapshot)
        status = values.get("status") or ("interrupted" if interrupts else "failed")
        return _result_from_state(values, thread_id, status, interrupts)

    def result(self, thread_id: str) -> RunResult:
        """Sync `aresult`."""
        return run_sync(self.aresult(thread_id))

    # -- internals --------------------------------------------------------------------------

    async def _waiting(self, snapshot: Any) -> list[PendingInterrupt]:
        """The interrupts of `snapshot` that wait for an answer (see `waiting_interrupts`)."""
        if not any(t.interrupts for t in snapshot.tasks):
            return []
        return waiting_interrupts(snapshot, await self._pending_writes(snapshot))

    async def _pending_writes(self, snapshot: Any) -> list[Any]:
        """The writes saved for the step of `snapshot` (its tasks' results and answers)."""
        saved = await self._compiled().checkpointer.aget_tuple(snapshot.config)  # type: ignore[union-attr]
        return list(saved.pending_writes or []) if saved else []

    async def _failed_result(self, thread_id: str, message: str, spent: Usage | None = None) -> RunResult:
        """The run on `thread_id` as its checkpoint holds it, marked failed, plus `spent` usage
        that no checkpoint holds."""
        partial = await self.aresult(thread_id)
        usage = partial.usage
        if spent is not None:
            usage = _usage_from_state(add_usage(usage.model_dump(), spent.model_dump()))
        return partial.model_copy(update={"status": "failed", "error": message, "usage": usage})

    async def _check_fresh_thread(self, thread_id: str) -> None:
        snapshot = await self._compiled().aget_state(_config(thread_id))
        if snapshot.values:
            hint = (
                f"call `team.resume({thread_id!r})` to continue it"
                if _unfinished(snapshot)
                else "use a new thread_id for a new run"
            )
            raise ConfigError(f"thread_id {thread_id!r} already holds a run; {hint}.")

    async def _resume_command(
        self, thread_id: str, approve: Any, decisions: Mapping[str, Any] | None
    ) -> tuple[Command[Any] | None, list[PendingInterrupt]]:
        """The input that resumes the run on `thread_id`, and the interrupts it answers."""
        snapshot = await self._compiled().aget_state(_config(thread_id))
        if not snapshot.values:
            raise ConfigError(f"No run found on thread_id {thread_id!r}; start one with `run`.")
        pending = await self._waiting(snapshot)
        if not pending:
            if not _unfinished(snapshot):
                raise ConfigError(f"The run on thread_id {thread_id!r} has already finished.")
            if approve is not None or decisions:
                raise ConfigError(f"The run on {thread_id!r} is not waiting for approval.")
            return None, []
        answers: dict[str, Any] = {}
        for p in pending:
            answer = (decisions or {}).get(p.id, approve)
            if answer is None:
                raise ConfigError(
                    f"The run on {thread_id!r} is waiting for approval of a {p.kind} "
                    f"(interrupt `{p.id}`): pass `approve=True`, `approve=False`"
                    + (" or an edited `Plan`" if p.kind == "plan" else " or {'args': {...}}")
                    + (", or `decisions={id: answer}` for each." if len(pending) > 1 else ".")
                )
            answers[p.id] = self._normalize_decision(p, answer)
        # always by interrupt id: a bare value would be kept as the thread's answer to
        # whichever interrupt asks next, and could reach a call nobody was shown
        return Command(resume=answers), pending

    def _normalize_decision(self, pending: PendingInterrupt, answer: Any) -> Any:
        if pending.kind == "plan":
            if isinstance(answer, bool):
                return answer
            try:
                plan = answer if isinstance(answer, Plan) else Plan.model_validate(answer)
            except ValueError as e:
                raise ConfigError(f"The edited plan is not a valid `Plan`: {e}") from None
            problems = plan_problems(plan, self.agent_names, self.max_subtasks)
            if problems:
                raise ConfigError("The edited plan is invalid: " + " ".join(problems))
            return plan.model_dump(mode="json")
        if isinstance(answer, bool):  # tagged with the call it answers (see `_handle_call`)
            return {"approved": answer, CALL_KEY: pending.payload.get(CALL_KEY)}
        # anything ambiguous is refused, never taken as a yes: a typo ("arg"), a string
        # "approved": "no", or {} (which LangGraph would read as "no answers")
        if (
            isinstance(answer, Mapping)
            and answer
            and set(answer) <= {"approved", "args", "by"}
            and isinstance(answer.get("approved", True), bool)
            and isinstance(answer.get("args", {}), Mapping)
        ):
            return {**answer, CALL_KEY: pending.payload.get(CALL_KEY)}
        raise ConfigError(
            f"Answer a tool approval with True, False or {{'args': {{...}}, 'by': 'name'}} "
            f"(keys: approved (a bool), args, by), got {answer!r}."
        )

    async def _drive(
        self, graph_input: Any, thread_id: str, carrying_on: Collection[Any] = (), *, tokens: bool = False
    ) -> AsyncIterator[Event]:
        graph = self._compiled()
        ctx = RunContext(team=self, thread_id=thread_id)
        if isinstance(graph_input, dict):  # a new run on a fresh thread: nothing spent yet
            run_id = graph_input.get("run_id", "")
        else:  # resuming: budgets count on from what the thread already spent
            snapshot = await graph.aget_state(_config(thread_id))
            values = _with_round_so_far(snapshot.values or {}, await self._pending_writes(snapshot))
            usage = _usage_from_state(values.get("usage") or {}).total
            ctx.llm_calls, ctx.tokens, ctx.cost = usage.calls, usage.total_tokens, usage.cost
            # sub-tasks paused for approval made calls no finished node has recorded: count
            # them now, before any resumed branch may call a model
            for pause in await self._waiting(snapshot):
                spent = pause.payload.get("spent") or {}
                if pause.kind == "tool" and pause.payload["subtask_id"] not in ctx.precounted:
                    ctx.precounted.add(pause.payload["subtask_id"])
                    ctx.llm_calls += int(spent.get("calls", 0))
                    ctx.tokens += int(spent.get("total_tokens", 0))
                    ctx.cost += float(spent.get("cost", 0.0))
            run_id = values.get("run_id", "")
        ensure_tracing_usable()
        carrying_on = set(carrying_on)
        started: set[tuple[str, int, int]] = set()  # a task retried after its first call failed
        paused: list[PendingInterrupt] = []  # says it started again
        traced = trace_config(thread_id, run_id, self.name)
        log.debug(
            "run %s on thread %s: %s",
            run_id,
            thread_id,
            "resuming" if not isinstance(graph_input, dict) else "starting",
        )
        try:
            async for mode, chunk in graph.astream(
                graph_input, traced, context=ctx, stream_mode=_TOKEN_STREAM_MODES if tokens else _STREAM_MODES
            ):
                for ev in events_from_chunk(str(mode), chunk):
                    if ev["type"] == "interrupted":
                        # the step goes on until its other branches end: say it after them
                        paused.extend(ev["interrupts"])
                        continue
                    if ev["type"] == "subtask_started":
                        once = (ev["subtask_id"], ev["round"], ev["attempt"])
                        if ev["subtask_id"] in carrying_on or once in started:
                            carrying_on.discard(ev["subtask_id"])
                            continue
                        started.add(once)
                    if ev["type"] != "token" and log.isEnabledFor(logging.DEBUG):
                        log.debug("thread %s: %s", thread_id, describe_event(ev))
                    yield ev
            if paused:
                yield Interrupted(type="interrupted", interrupts=paused)
        except ConfigError:
            raise
        except PlanError as e:
            e.result = await self._failed_result(thread_id, str(e), e.spent)
            raise
        except (AgentorchError, GraphRecursionError, Exception) as e:
            message = str(e) if isinstance(e, AgentorchError) else describe_error(e)
            if ctx.failed_role and not isinstance(e, AgentorchError):
                message = f"The `{ctx.failed_role}` model call failed: {message}"
            failed = await self._failed_result(thread_id, message, ctx.carried_usage())
            log.warning("run on thread %s failed: %s", thread_id, message)
            resumable = (
                f"{message} (thread_id {thread_id!r}; finished sub-tasks are kept — "
                f"`team.resume({thread_id!r})` continues the run)"
            )
            if isinstance(e, CriticError):
                raise CriticError(resumable, e.problems, failed) from e
            raise RunFailed(resumable, failed) from e


@functools.lru_cache(maxsize=32)
def _shared_graph(shape: GraphShape) -> CompiledStateGraph[Any, Any, Any, Any]:
    return build_graph(shape).compile()


def _with_round_so_far(values: Mapping[str, Any], pending_writes: Iterable[Any]) -> dict[str, Any]:
    """A thread's state `values` plus the sub-tasks that finished in a round that has not ended
    (paused, failed or cut off): their `specialist` tasks' updates, saved as each finished, are
    in the checkpoint's `pending_writes` but not yet in its values."""
    out = dict(values)
    for update in pending_writes:
        value = update[2]
        if isinstance(value, dict) and {"results", "history", "usage"} <= value.keys():
            out["results"] = merge_results(out.get("results"), value["results"])
            out["history"] = [*out.get("history", []), *value["history"]]
            out["usage"] = add_usage(out.get("usage"), value["usage"])
    return out


def _unfinished(snapshot: Any) -> bool:
    """Whether the thread's run can continue. `snapshot.next` alone is not enough: after a crash
    between steps, the last checkpoint's tasks have all saved their writes, so `next` is empty,
    yet the steps those writes lead to (e.g. the `Send`s to specialists) have not run."""
    return bool(snapshot.next or snapshot.tasks)


_STREAM_MODES: list[StreamMode] = ["updates", "custom"]
_TOKEN_STREAM_MODES: list[StreamMode] = [*_STREAM_MODES, "messages"]


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _check_goal(goal: Any) -> str:
    if not isinstance(goal, str) or not goal.strip():
        raise ConfigError(f"The goal must be a non-empty string, got {goal!r}.")
    return goal.strip()


def _usage_from_state(raw: Mapping[str, Mapping[str, Mapping[str, int]]]) -> Usage:
    return Usage(
        by_role={k: TokenUsage(**v) for k, v in raw.get("by_role", {}).items()},
        by_model={k: TokenUsage(**v) for k, v in raw.get("by_model", {}).items()},
    )


def _result_from_state(
    values: Mapping[str, Any], thread_id: str, status: str, interrupts: list[PendingInterrupt]
) -> RunResult:
    plan = values.get("plan")
    return RunResult(
        goal=values.get("goal", ""),
        answer=values.get("answer", ""),
        status=status,
        plan=Plan.model_validate(plan) if plan else None,
        plans=[Plan.model_validate(p) for p in values.get("plans", [])],
        results={k: SubTaskResult.model_validate(v) for k, v in values.get("results", {}).items()},
        history=[
            SubTaskResult.model_validate(h)
            for h in mark_sent_back(values.get("history", []), values.get("verdicts", []))
        ],
        verdicts=[Verdict.model_validate(v) for v in values.get("verdicts", [])],
        steps=[StepRecord.model_validate(s) for s in values.get("steps", [])],
        rounds=int(values.get("round", 0)),
        usage=_usage_from_state(values.get("usage", {})),
        thread_id=thread_id,
        run_id=values.get("run_id", ""),
        error=values.get("error", ""),
        interrupts=interrupts,
    )
