"""Public value types: plans, verdicts, budgets, usage and run results.

All are frozen pydantic models, so they validate on the way in, serialize to JSON on the way
out, and can be stored in checkpoints as plain dicts (`model_dump(mode="json")`).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode

from agentorch._errors import ConfigError

__all__ = [
    "SubTask",
    "Plan",
    "Verdict",
    "Budget",
    "TokenUsage",
    "Usage",
    "ToolCallRecord",
    "SubTaskResult",
    "StepRecord",
    "PendingInterrupt",
    "RunResult",
    "RunStatus",
    "SubTaskStatus",
    "ModelPrice",
    "Cost",
    "Quote",
    "DEFAULT_PRICES",
    "DEFAULT_PRICES_DATE",
]

RunStatus = Literal["completed", "max_rounds", "budget_exhausted", "failed", "interrupted", "rejected"]
"""How a run ended. "rejected" means a person declined the plan at the approval step."""

SubTaskStatus = Literal["done", "failed", "skipped"]
"""done: the agent answered; failed: it raised or was stopped; skipped: a budget ran out first."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema,
        mode: JsonSchemaMode = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Pydantic's JSON schema, generated once per class and arguments (a copy each call).

        LangChain asks for the schema of `Plan` and `Verdict` on every structured-output call
        (to describe the request in traces); generating it took ~1 ms each time.
        """
        key = (cls, by_alias, ref_template, schema_generator, mode, tuple(sorted(kwargs.items())))
        schema = _SCHEMAS.get(key)
        if schema is None:
            schema = _SCHEMAS[key] = super().model_json_schema(
                by_alias, ref_template, schema_generator, mode, **kwargs
            )
        return copy.deepcopy(schema)


_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}

_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
"""Sub-task ids a team's plan schema allows (`Plan.schema_for`): short slugs, e.g. `research-1`."""


class SubTask(_Value):
    """One unit of work in a plan, assigned to one agent."""

    id: str = Field(description="Short unique id, e.g. 'research-1'. Referenced by depends_on.")
    description: str = Field(description="What the agent must do, self-contained.")
    agent: str = Field(description="Name of the agent that does it; must be one of the team's.")
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of sub-tasks whose outputs this one needs."
    )
    expected_output: str = Field(default="", description="What a good result looks like.")
    effort: Literal["normal", "high"] = Field(
        default="normal",
        description="'high' for hard work that should start at the agent's strongest model; "
        "'normal' otherwise.",
    )


class Plan(_Value):
    """A goal broken into sub-tasks that form a DAG through `depends_on`."""

    subtasks: list[SubTask] = Field(description="The sub-tasks, in any order.")
    rationale: str = Field(default="", description="Why the work is split this way.")

    def subtask(self, subtask_id: str) -> SubTask:
        """Return the sub-task with this id; `KeyError` if there is none."""
        for st in self.subtasks:
            if st.id == subtask_id:
                return st
        raise KeyError(subtask_id)

    def _repr_html_(self) -> str:
        """The plan as an SVG DAG and a table, for Jupyter."""
        from agentorch._render.html import plan_html

        return plan_html(self)

    @classmethod
    def schema_for(cls, agents: Sequence[str], max_subtasks: int | None = None) -> type[Plan]:
        """The plan model for one team: `agent` one of `agents`, ids (and `depends_on`) short
        slugs, one to `max_subtasks` sub-tasks. Its JSON schema is what the planner's request
        carries, so servers that constrain decoding to a schema (OpenAI's strict `json_schema`,
        llama.cpp grammars, vLLM guided decoding) cannot name an agent the team lacks. What a
        schema cannot say (a `depends_on` id must be in the plan, no cycles) is checked after
        the answer (`plan_problems`). Built once per team shape."""
        return _team_plan(tuple(agents), max_subtasks)


class Verdict(_Value):
    """The critic's decision on a round of results."""

    decision: Literal["accept", "revise", "replan"] = Field(
        description="accept the results, revise named sub-tasks, or replan from scratch."
    )
    feedback: str = Field(default="", description="What is wrong and how to fix it.")
    revise: list[str] = Field(
        default_factory=list, description="With decision 'revise': ids of sub-tasks to redo."
    )
    answer: str = Field(
        default="",
        description="With decision 'accept', when asked for it: the final answer to the goal, "
        "composed from the results. Empty otherwise.",
    )

    @classmethod
    def schema_for(cls, subtask_ids: Sequence[str]) -> type[Verdict]:
        """The verdict model on a plan with these sub-task ids: `revise` may name only them
        (see `Plan.schema_for`)."""
        return _plan_verdict(tuple(subtask_ids))


@functools.lru_cache(maxsize=64)
def _team_plan(agents: tuple[str, ...], max_subtasks: int | None) -> type[Plan]:
    # the constraints go in the JSON schema only: answers are validated as any `Plan` is, so
    # a server that ignores the schema gets `plan_problems`' sentences back, not pydantic's
    slug = {"type": "string", "pattern": _ID_PATTERN}
    subtask = create_model(
        "SubTask",
        __base__=SubTask,
        __doc__=SubTask.__doc__,
        id=(str, _narrowed(SubTask, "id", pattern=_ID_PATTERN)),
        agent=(str, _narrowed(SubTask, "agent", enum=list(agents))),
        depends_on=(list[str], _narrowed(SubTask, "depends_on", items=slug)),
    )
    size = {"minItems": 1} | ({"maxItems": max_subtasks} if max_subtasks is not None else {})
    return create_model(
        "Plan",
        __base__=Plan,
        __doc__=Plan.__doc__,
        subtasks=(list[subtask], _narrowed(Plan, "subtasks", **size)),
    )


@functools.lru_cache(maxsize=256)
def _plan_verdict(ids: tuple[str, ...]) -> type[Verdict]:
    return create_model(
        "Verdict",
        __base__=Verdict,
        __doc__=Verdict.__doc__,
        revise=(list[str], _narrowed(Verdict, "revise", items={"type": "string", "enum": list(ids)})),
    )


def _narrowed(model: type[BaseModel], name: str, **schema: Any) -> Any:
    """`model`'s field `name` with `schema` added to its JSON schema (not to its validation)."""
    field = copy.copy(model.model_fields[name])
    field.json_schema_extra = schema
    return field


class Budget(_Value):
    """Limits checked before every model call; exhausting one ends the run cleanly.

    `None` means unlimited. `max_seconds` counts wall time from the start of `run`/`resume`.
    `max_cost` counts money under the team's `prices` (per 1M tokens, e.g. USD); every model the
    team uses then needs a price, and a plan quoted above what is left is refused up front
    (`check_quote`).
    """

    max_llm_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)
    max_cost: float | None = Field(default=None, gt=0)
    check_quote: bool = Field(
        default=True,
        description="With `max_cost`: refuse a plan whose cost quote (`Quote`) exceeds what is "
        "left of it, asking the planner once for a cheaper plan, then ending the run with status "
        "budget_exhausted if that one does not fit either. False: start the work and stop when "
        "the money runs out.",
    )

    def __init__(self, **limits: Any) -> None:
        try:
            super().__init__(**limits)
        except ValidationError as e:
            wrong = "; ".join(
                f"`{'.'.join(map(str, err['loc'])) or 'Budget'}` got {err.get('input')!r}"
                for err in e.errors()
            )
            raise ConfigError(
                f"Invalid `Budget`: {wrong}. A budget accepts `max_llm_calls` and `max_tokens` "
                "(whole numbers >= 1), `max_seconds` and `max_cost` (numbers > 0); leave one out "
                "(or None) for no limit."
            ) from None


class TokenUsage(_Value):
    """Token counts and model calls for one role, agent or model."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    cost: float = Field(
        default=0.0, description="What the calls cost under the team's `prices` (0 if unpriced)."
    )
    cached_input_tokens: int = Field(
        default=0,
        description="Of `input_tokens`, those the provider read from its prompt cache "
        "(`usage_metadata['input_token_details']['cache_read']`), priced at the cached rate.",
    )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            calls=self.calls + other.calls,
            cost=self.cost + other.cost,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
        )


class Usage(_Value):
    """Usage of a run: per role (planner, critic, synthesizer, summarizer, agent names), per
    model, and in total."""

    by_role: dict[str, TokenUsage] = Field(default_factory=dict)
    by_model: dict[str, TokenUsage] = Field(default_factory=dict)

    @property
    def total(self) -> TokenUsage:
        """Sum over all roles."""
        out = TokenUsage()
        for u in self.by_role.values():
            out = out + u
        return out

    def cost(
        self, prices: Mapping[str, ModelPrice | tuple[float, float] | Mapping[str, float]] | None = None
    ) -> Cost:
        """What the run cost: as recorded during the run under the team's prices (no argument;
        per role, agent and model), or re-priced under `prices` (model name -> price per 1M
        input/output tokens; per model only, since tokens are not kept per role and model).

        A price applies to the model of that name, or to a model whose name starts with it
        (the longest such key wins), so `"gpt-4o-mini"` also prices `"gpt-4o-mini-2024-07-18"`.
        Models with usage but no price are listed in `Cost.unpriced` and cost nothing (without
        `prices`: the models whose recorded cost is 0 — unpriced, or priced at 0). Re-priced,
        the cost per role is known only when the run used one model.

        >>> u = Usage(by_model={"m": TokenUsage(input_tokens=2_000_000, output_tokens=1_000_000)})
        >>> u.cost({"m": ModelPrice(input=0.5, output=2.0)}).total
        3.0
        """
        if prices is None:
            return Cost(
                total=sum(u.cost for u in self.by_role.values()),
                by_model={m: u.cost for m, u in self.by_model.items()},
                by_role={r: u.cost for r, u in self.by_role.items()},
                unpriced=sorted(m for m, u in self.by_model.items() if not u.cost and _used(u)),
            )
        table = normalize_prices(prices)
        by_model: dict[str, float] = {}
        unpriced: list[str] = []
        for model, u in self.by_model.items():
            price = price_for(model, table)
            if price is None:
                if _used(u):
                    unpriced.append(model)
                continue
            by_model[model] = price.cost(u)
        by_role: dict[str, float] = {}
        if len(self.by_model) == 1 and by_model:  # one model: every role's tokens are its tokens
            price = price_for(next(iter(by_model)), table)
            by_role = {r: price.cost(u) for r, u in self.by_role.items()} if price else {}
        return Cost(
            total=sum(by_model.values()), by_model=by_model, by_role=by_role, unpriced=sorted(unpriced)
        )


def _used(u: TokenUsage) -> bool:
    return bool(u.total_tokens or u.input_tokens or u.output_tokens)


class ModelPrice(_Value):
    """A model's price per 1M input and output tokens (in your currency, e.g. USD), and per 1M
    input tokens read from the provider's prompt cache."""

    input: float = Field(ge=0, description="Price per 1M input (prompt) tokens.")
    output: float = Field(ge=0, description="Price per 1M output (completion) tokens.")
    cached_input: float | None = Field(
        default=None,
        ge=0,
        description="Price per 1M input tokens served from the prompt cache; None: `input`.",
    )

    def cost(self, usage: TokenUsage) -> float:
        """The price of `usage`: cached input tokens at `cached_input`, the rest at `input`."""
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        rate = self.input if self.cached_input is None else self.cached_input
        fresh = usage.input_tokens - cached
        return (fresh * self.input + cached * rate + usage.output_tokens * self.output) / 1_000_000


class Cost(_Value):
    """What a run cost under a price table (see `Usage.cost`)."""

    total: float = Field(default=0.0, description="Sum over the priced models.")
    by_model: dict[str, float] = Field(default_factory=dict, description="Cost per priced model.")
    by_role: dict[str, float] = Field(
        default_factory=dict,
        description="Cost per role and agent (recorded during the run; re-priced, only when the "
        "run used one model).",
    )
    unpriced: list[str] = Field(
        default_factory=list, description="Models that used tokens but have no price in the table."
    )


class Quote(_Value):
    """What a run is expected to cost, computed once its plan exists and before any sub-task
    runs: the planner's actual usage plus one round of the plan (each sub-task once, the
    critic's review, the synthesizer if it will be called). Revisions and replans are not in
    it. Figures come from the team's prices and from what earlier runs of the team measured
    (output tokens per call per role, calls per sub-task, seconds per call per model), or from
    defaults when there is no history (`measured` False)."""

    calls: int = Field(description="Expected model calls of the whole run.")
    input_tokens: int = Field(description="Expected prompt tokens of the whole run.")
    output_tokens: int = Field(description="Expected completion tokens of the whole run.")
    cost: float = Field(description="Expected money under the team's prices (unpriced models: 0).")
    seconds: float = Field(
        description="Expected critical-path time of the rest of the run: the longest chain of "
        "dependent sub-tasks, then the critic (and the synthesizer), at per-model latencies."
    )
    unpriced: list[str] = Field(default_factory=list, description="Models with no price.")
    measured: bool = Field(
        default=False, description="Whether earlier runs of the team informed the figures."
    )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def describe(self) -> str:
        """The quote in one line, e.g. "51 calls, 36,209 tokens, 0.0103, 5.1 s of critical path"."""
        basis = "from earlier runs" if self.measured else "from defaults"
        unpriced = f"; no price for {', '.join(self.unpriced)}" if self.unpriced else ""
        return (
            f"{self.calls} calls, {self.total_tokens:,} tokens, {self.cost:.4f}, "
            f"{self.seconds:.1f} s of critical path ({basis}{unpriced})"
        )


def normalize_prices(
    prices: Mapping[str, ModelPrice | tuple[float, float] | Mapping[str, float]] | None,
) -> dict[str, ModelPrice]:
    """A price table as `{model: ModelPrice}`; accepts `(input, output)` pairs and dicts.

    Raises `ConfigError` naming the model whose price is malformed.
    """
    from agentorch._errors import ConfigError

    if prices is None:
        return {}
    if not isinstance(prices, Mapping):
        raise ConfigError(
            f"`prices` must map model names to prices per 1M tokens, got {type(prices).__name__}."
        )
    out: dict[str, ModelPrice] = {}
    for model, raw in prices.items():
        try:
            if isinstance(raw, ModelPrice):
                out[str(model)] = raw
            elif isinstance(raw, (tuple, list)) and len(raw) in (2, 3):
                out[str(model)] = ModelPrice(
                    **dict(zip(("input", "output", "cached_input"), raw, strict=False))
                )
            else:
                out[str(model)] = ModelPrice.model_validate(raw)
        except ValueError:
            raise ConfigError(
                f"The price of `{model}` must be `(input, output)` or `(input, output, "
                f"cached_input)` per 1M tokens, or {{'input': ..., 'output': ...}} with numbers "
                f">= 0, got {raw!r}."
            ) from None
    return out


DEFAULT_PRICES_DATE = "2025-08"
"""When `DEFAULT_PRICES` were OpenAI's list prices. Check yours; override with `Team(prices=...)`."""

DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    name: ModelPrice(input=i, output=o, cached_input=c)
    for name, (i, o, c) in {
        "gpt-4o": (2.50, 10.00, 1.25),
        "gpt-4o-mini": (0.15, 0.60, 0.075),
        "gpt-4.1": (2.00, 8.00, 0.50),
        "gpt-4.1-mini": (0.40, 1.60, 0.10),
        "gpt-4.1-nano": (0.10, 0.40, 0.025),
        "gpt-5": (1.25, 10.00, 0.125),
        "gpt-5-mini": (0.25, 2.00, 0.025),
        "gpt-5-nano": (0.05, 0.40, 0.005),
        "o3": (2.00, 8.00, 0.50),
        "o3-mini": (1.10, 4.40, 0.55),
        "o4-mini": (1.10, 4.40, 0.275),
    }.items()
}
"""OpenAI list prices per 1M input, output and cached input tokens in USD as of
`DEFAULT_PRICES_DATE`; the team starts from this table and `Team(prices=...)` overrides or
extends it."""


def price_for(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The price of `model`: an exact key, else the longest key that is a prefix of it."""
    if model in prices:
        return prices[model]
    keys = [k for k in prices if k and model.startswith(k)]
    return prices[max(keys, key=len)] if keys else None


ToolOutcome = Literal["ok", "error", "timeout", "denied", "invalid", "refused", "unknown"]
"""How a tool call ended: the tool returned (`ok`), raised (`error`) or ran out of time
(`timeout`); a person said no (`denied`); its arguments did not fit the tool (`invalid`); it was
not the agent's tool or repeated an earlier call (`refused`); or it may have run before a crash
and was not run again (`unknown`)."""


class ToolCallRecord(_Value):
    """One tool call an agent asked for, and what happened to it: its effects record."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict, description="The arguments that ran (or would have).")
    executed: bool = Field(
        description="Whether the tool's function was started (False when refused, denied or invalid)."
    )
    output: str = ""
    error: str = ""
    approved_by: str = Field(default="", description="Who approved a gated tool ('' if not gated).")
    key: str = Field(
        default="",
        description="The call's stable effect key, thread/sub-task/round/attempt/index-digest "
        "(what `tool_call_key()` returns inside the tool).",
    )
    outcome: ToolOutcome = "ok"
    executions: int = Field(
        default=0,
        description="How many times the tool's function was started, or may have started, for "
        "this call: 0 when it did not run, 1 normally, more when an execution was in doubt after "
        "a crash (its start was recorded, its outcome lost) and the call ran again.",
    )
    in_doubt: bool = Field(
        default=False, description="An execution of this call started and its outcome was lost in a crash."
    )
    started_at: float | None = None
    finished_at: float | None = None


class SubTaskResult(_Value):
    """The latest attempt at one sub-task."""

    subtask_id: str
    agent: str
    output: str = Field(default="", description="The agent's answer; for a typed agent, `data` as JSON text.")
    data: dict[str, Any] | None = Field(
        default=None,
        description="A typed agent's answer (`Agent(output=Model)`) as a JSON-ready dict, "
        "validated against the model; None for text agents and when no valid answer came.",
    )
    status: SubTaskStatus = "done"
    attempts: int = 1
    round: int = 1
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    model: str = Field(
        default="",
        description="The model of this attempt (a cascade's member): as the provider named it in "
        "its answer, or as configured when it did not answer ('' when no model was left).",
    )
    sent_back: bool = Field(default=False, description="The critic sent this attempt back for revision.")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    context: str = Field(default="", description="The data the agent was given (dependencies, memory).")
    prompt: str = Field(default="", description="The agent's full first message: task, feedback, data.")

    @property
    def duration(self) -> float:
        """Seconds from start to finish."""
        return max(0.0, self.finished_at - self.started_at)


class StepRecord(_Value):
    """One call of the planner, the critic or the synthesizer (repair attempts included)."""

    role: Literal["planner", "critic", "synthesizer"]
    round: int
    started_at: float
    finished_at: float
    usage: TokenUsage = Field(default_factory=TokenUsage)
    model: str = ""

    @property
    def duration(self) -> float:
        """Seconds from start to finish."""
        return max(0.0, self.finished_at - self.started_at)


class PendingInterrupt(_Value):
    """Something waiting for a person: a plan to approve or a gated tool call."""

    id: str
    kind: Literal["plan", "tool"]
    payload: dict[str, Any] = Field(default_factory=dict)


class RunResult(_Value):
    """What a team run produced. Returned by `Team.run` and carried by `RunFailed`."""

    goal: str
    answer: str = ""
    status: RunStatus = "completed"
    plan: Plan | None = None
    plans: list[Plan] = Field(default_factory=list, description="The plan of every round.")
    results: dict[str, SubTaskResult] = Field(default_factory=dict)
    history: list[SubTaskResult] = Field(
        default_factory=list, description="Every attempt, including superseded ones."
    )
    verdicts: list[Verdict] = Field(default_factory=list)
    steps: list[StepRecord] = Field(
        default_factory=list, description="The planner's, critic's and synthesizer's calls, in order."
    )
    rounds: int = 0
    usage: Usage = Field(default_factory=Usage)
    thread_id: str = ""
    run_id: str = Field(default="", description="Id of the run (tagged on every trace of it).")
    quote: Quote | None = Field(
        default=None, description="The cost quote of the plan that ran, made before its work started."
    )
    error: str = ""
    interrupts: list[PendingInterrupt] = Field(default_factory=list)

    def to_html(
        self,
        *,
        prices: Mapping[str, ModelPrice | tuple[float, float] | Mapping[str, float]] | None = None,
        title: str | None = None,
    ) -> str:
        """The run as one self-contained HTML page (no network): plan DAG, timeline, critic
        rounds, usage and cost, and every attempt's prompt, output and tool calls on click.

        `agentorch report run.json -o report.html` writes the same page from a saved record.
        """
        from agentorch._render.html import report_html

        return report_html(self, prices=prices, title=title)

    def _repr_html_(self) -> str:
        """The run inline in Jupyter: status, answer, DAG, timeline and details (no script)."""
        from agentorch._render.html import result_fragment

        return result_fragment(self)

    def save(self, path: str | Path) -> None:
        """Write the run record as JSON."""
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        """Read a run record written by `save`; a clear `ConfigError` if it is not one."""
        from agentorch._errors import ConfigError

        p = Path(path)
        try:
            data = json.loads(p.read_bytes().decode("utf-8"))
            return cls.model_validate(data)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
            raise ConfigError(f"`{p}` is not a valid agentorch run record: {e}") from None
