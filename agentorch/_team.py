"""`Team`: describe a team of agents and compile it to a LangGraph graph (running it: `Runs`)."""

from __future__ import annotations

import functools
import json
import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import openai
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy, default_retry_on

import agentorch.prompts as prompt_files
from agentorch._agent import Agent
from agentorch._checkpoints import close_saver, saver_from_string
from agentorch._engine.context import BudgetExhausted, rejected_request, with_retry_on
from agentorch._engine.graph import GraphShape, build_graph
from agentorch._engine.runs import Runs
from agentorch._errors import (
    AgentorchError,
    ConfigError,
)
from agentorch._keys import CRITIC, PLANNER, SUMMARIZER, SYNTHESIZER, TEAM_CONFIG
from agentorch._memory import TeamMemory
from agentorch._models import (
    STRUCTURED_OUTPUT_METHODS,
    ChatModel,
    ModelSpec,
    RouteModel,
    StructuredOutputMethod,
    chat_model_problem,
    members,
    model_label,
)
from agentorch._settings import TeamSettings
from agentorch._types import (
    DEFAULT_PRICES,
    Budget,
    ModelPrice,
    normalize_prices,
    price_for,
)

log = logging.getLogger("agentorch")

__all__ = ["Team", "retryable"]


def retryable(exc: BaseException) -> bool:
    """Default retry rule for model calls: transient failures yes, our own errors and 4xx no."""
    if isinstance(exc, (AgentorchError, BudgetExhausted, openai.LengthFinishReasonError)):
        return False  # a length stop at the same settings stops again
    if rejected_request(exc):  # the server refused the request itself
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


def _hashable(retry: RetryPolicy) -> RetryPolicy:
    """`retry`, with a list of exception types in `retry_on` as a tuple: the graph and its
    tasks are built once per policy, so a policy must be hashable. Raises `ConfigError` for a
    `retry_on` that cannot be."""
    if not isinstance(retry, RetryPolicy):
        raise ConfigError(f"`retry` must be a LangGraph `RetryPolicy`, got {retry!r}.")
    if isinstance(retry.retry_on, list):
        retry = with_retry_on(retry, tuple(retry.retry_on))
    try:
        hash(retry)
    except TypeError:
        raise ConfigError(
            f"`retry.retry_on` must be hashable (an exception type, a tuple of them or a "
            f"function), got {retry.retry_on!r}."
        ) from None
    return retry


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return value


class Team(Runs):
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
        plan_retries: repair attempts when a structured answer is invalid: the planner's plan,
            the critic's verdict, or a typed agent's output (`Agent(output=...)`).
        max_tool_calls: tool calls one specialist may make on one sub-task.
        critic: review results with the critic (False: synthesize right after the work).
        synthesizer: write the answer in a separate synthesizer call after the critic accepts
            (True), or let the critic's accept carry the answer (False: one call and one model
            latency fewer per accepted run; the synthesizer still writes it when the critic
            accepted without one, when the critic is off, or at `max_rounds`). None (default):
            True when `llms` or `prompts` name a "synthesizer", else False.
        approve_plan: pause after planning until a person approves (`resume(approve=...)`).
        budget: limits on model calls, tokens and seconds per run.
        checkpointer: where runs are kept, so they survive the process and `resume` continues
            them: a SQLite file name (`"runs.sqlite"`) or a PostgreSQL URL
            (`"postgresql://user:pw@host/db"`, the `postgres` extra), opened by the team and
            closed by `team.close()` (or `with team:`, or at exit), usable from sync and async
            code alike; or any async-capable LangGraph saver you open and close yourself.
            Default: in memory.
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
        synthesizer: bool | None = None,
        approve_plan: bool = False,
        budget: Budget | None = None,
        checkpointer: BaseCheckpointSaver[Any] | str | None = None,
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
        if synthesizer is not None and not isinstance(synthesizer, bool):
            raise ConfigError(f"`synthesizer` must be True, False or None, got {synthesizer!r}.")
        self.synthesizer: bool = (
            synthesizer
            if synthesizer is not None
            else SYNTHESIZER in (llms or {}) or SYNTHESIZER in (prompts or {})
        )
        """Whether a separate synthesizer call writes the answer after the critic accepts."""
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
        self._owned_saver: BaseCheckpointSaver[Any] | None = None
        if isinstance(checkpointer, str):
            checkpointer = self._owned_saver = saver_from_string(checkpointer)
            weakref.finalize(self, close_saver, checkpointer)
        self.checkpointer = self._check_checkpointer(checkpointer)
        self.retry = (
            _hashable(retry)
            if retry
            else RetryPolicy(max_attempts=3, initial_interval=0.5, retry_on=retryable)
        )
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
        self._settings: TeamSettings | None = None
        self.prompts: dict[str, str] = dict(prompts or {})
        """Overrides of the bundled prompts by name."""

    def close(self) -> None:
        """Close the checkpointer the team opened from a string (a no-op otherwise); the
        team's checkpoints stay in the file or database for the next team to resume."""
        if self._owned_saver is not None:
            close_saver(self._owned_saver)

    def __enter__(self) -> Team:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Team:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- configuration helpers --------------------------------------------------------------

    @staticmethod
    def _check_checkpointer(cp: Any) -> BaseCheckpointSaver[Any]:
        if cp is None:
            return InMemorySaver()
        if not isinstance(cp, BaseCheckpointSaver) and hasattr(cp, "__aenter__"):
            raise ConfigError(
                f"`checkpointer` got a {type(cp).__name__}, a context manager that opens a saver "
                "(`...Saver.from_conn_string(...)` returns one): pass the file name or URL itself "
                "(`Team(checkpointer='runs.sqlite')`), which the team opens and closes, or the "
                "saver from `async with ...from_conn_string(...) as saver:`."
            )
        if not isinstance(cp, BaseCheckpointSaver):
            raise ConfigError(
                "`checkpointer` must be a SQLite file name, a PostgreSQL URL or a LangGraph "
                f"checkpoint saver, got {type(cp).__name__}."
            )
        if type(cp).__name__ == "SqliteSaver":
            raise ConfigError(
                "`SqliteSaver` has no async methods and agentorch runs async: pass the file name "
                "instead (`Team(checkpointer='runs.sqlite')`), or an `AsyncSqliteSaver` you open."
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

    def __setattr__(self, name: str, value: Any) -> None:
        # a setting changed between runs: the next run takes a new snapshot (`settings`)
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            object.__setattr__(self, "_settings", None)

    def settings(self) -> TeamSettings:
        """The team's settings as they are now, frozen: what the engine reads. A run takes the
        snapshot when it starts; assigning a team attribute (`team.budget = ...`) makes the next
        run take a new one."""
        settings = getattr(self, "_settings", None)
        if settings is None:
            settings = self._snapshot()
            object.__setattr__(self, "_settings", settings)
        return settings

    def _snapshot(self) -> TeamSettings:
        roles = (PLANNER, CRITIC, SYNTHESIZER, SUMMARIZER, *self._by_name)
        return TeamSettings(
            name=self.name,
            agents=self.agents,
            models={r: m for r in roles if (m := self._model_or_none(r)) is not None},
            budget=self.budget,
            prices=dict(self.prices),
            retry=self.retry,
            model_timeout=self.model_timeout,
            tool_timeout=self.tool_timeout,
            max_rounds=self.max_rounds,
            max_subtasks=self.max_subtasks,
            plan_retries=self.plan_retries,
            max_tool_calls=self.max_tool_calls,
            context_budget=self.context_budget,
            critic=self.critic,
            synthesizer=self.synthesizer,
            approve_plan=self.approve_plan,
            memory=self.memory,
            route_model=self.route_model,
            prompts=dict(self.prompts),
            structured_output_method=self.structured_output_method,
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
        cascade, its first model."""
        return self.settings().model_for(role)

    def models_for(self, role: str) -> tuple[ChatModel, ...]:
        """Every chat model `role` may run on: a cascade's members in order, or its one model."""
        return self.settings().models_for(role)

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
        settings = self.settings()
        graph = build_graph(GraphShape.of(settings))
        if checkpointer is False:
            compiled = graph.compile(name=self.name, **kwargs)
        else:
            cp = self._check_checkpointer(checkpointer) if checkpointer is not None else self.checkpointer
            compiled = graph.compile(checkpointer=cp, name=self.name, **kwargs)
        # invoked without `Team.run`'s context (LangGraph Server), the nodes find the team here
        return compiled.with_config(configurable={TEAM_CONFIG: settings})

    def _compiled(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        # the graph `run` uses: one compiled graph per shape, shared by every team of that
        # shape (compiling costs ~5 ms, a fifth of a short scripted run), with this team's saver
        if self._graph is None:
            shape = GraphShape.of(self.settings())
            shared = _shared_graph(shape)
            self._graph = shared.copy({"checkpointer": self.checkpointer, "name": self.name})
        return self._graph

    def draw(self) -> str:
        """The team's LangGraph graph as Mermaid text (offline)."""
        return self._compiled().get_graph().draw_mermaid()

    def _repr_html_(self) -> str:
        """The team in Jupyter: its agents (role, tools, model), settings and Mermaid graph."""
        from agentorch._render.html import team_html

        return team_html(self)


@functools.lru_cache(maxsize=32)
def _shared_graph(shape: GraphShape) -> CompiledStateGraph[Any, Any, Any, Any]:
    return build_graph(shape).compile()
