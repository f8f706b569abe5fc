"""OpenTelemetry metrics for team runs, beside the spans (`otel`), through the API only.

Recorded on the meter provider the application installed (`opentelemetry.metrics
.set_meter_provider`); with none (or the SDK disabled) nothing is attached to a run. The `agentorch`
CLI installs the SDK with an OTLP exporter when the `OTEL_*` variables ask for one (`otel_export`).

GenAI client metrics (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/), one
record per model call made (a call replayed from a checkpoint is not made again, nor counted):

    gen_ai.client.token.usage         histogram {token}  gen_ai.token.type=input|output
    gen_ai.client.operation.duration  histogram s        error.type when the call failed

both with gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model,
gen_ai.response.model and agentorch.role (planner, critic, synthesizer, summarizer or the agent).

Run metrics, all with gen_ai.workflow.name (the team):

    agentorch.runs              counter   {run}   agentorch.status: one per start or resume, with
                                                  the status it ended in ("interrupted" when it
                                                  paused, "cancelled" when its caller stopped it)
    agentorch.run.duration      histogram s       agentorch.status
    agentorch.subtask.duration  histogram s       gen_ai.agent.name, agentorch.status (done, failed,
                                                  skipped): one per attempt
    agentorch.tool.calls        counter   {call}  gen_ai.agent.name, gen_ai.tool.name,
                                                  agentorch.tool.outcome (ok, error, timeout, denied, ...)
    agentorch.cost              counter   USD     agentorch.role, gen_ai.request.model: each
                                                  answered call's cost under the team's prices
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from agentorch._keys import ROLE_KEY
from agentorch._observe.otel import (
    A_ROLE,
    A_STATUS,
    AGENT_NAME,
    ERROR_TYPE,
    OPERATION,
    PROVIDER,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    TOOL_NAME,
    WORKFLOW_NAME,
    _attrs,
    _message_of,
)
from agentorch._types import ModelPrice, TokenUsage, price_for

try:
    from opentelemetry import metrics
except ImportError:  # the `otel` extra is not installed: no metrics
    metrics = None  # type: ignore[assignment]

__all__ = ["RunMetrics", "run_metrics"]

TOKEN_TYPE = "gen_ai.token.type"
A_TOOL_OUTCOME = "agentorch.tool.outcome"
# the bucket boundaries the GenAI conventions advise
_TOKEN_BUCKETS = [4.0**i for i in range(14)]
_DURATION_BUCKETS = [0.01 * 2**i for i in range(14)]
_SECONDS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]

_lock = threading.Lock()
_cached: tuple[Any, RunMetrics] | None = None


def run_metrics() -> RunMetrics | None:
    """The instruments on the installed meter provider, or None when none would record.

    Checked per run (like the tracer), so a provider installed after the team was built counts;
    the instruments are made once per meter."""
    global _cached
    if metrics is None:
        return None
    provider = metrics.get_meter_provider()
    # the API's own providers (the proxy used until one is installed, the no-op one) record nothing
    if type(provider).__module__.startswith("opentelemetry.metrics"):
        return None
    from agentorch import __version__

    meter = provider.get_meter("agentorch", __version__)  # the SDK hands out the same one each time
    if isinstance(meter, metrics.NoOpMeter):  # e.g. the SDK with OTEL_SDK_DISABLED=true
        return None
    with _lock:
        if _cached is None or _cached[0] is not meter:
            _cached = (meter, RunMetrics(meter))
        return _cached[1]


class RunMetrics:
    """The agentorch instruments of one meter (see the module doc)."""

    def __init__(self, meter: Any) -> None:
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.runs = meter.create_counter(
            "agentorch.runs",
            unit="{run}",
            description="Team runs (starts and resumes) by the status they ended in.",
        )
        self.run_duration = meter.create_histogram(
            "agentorch.run.duration",
            unit="s",
            description="Duration of a team run (a start or a resume) by status.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.subtask_duration = meter.create_histogram(
            "agentorch.subtask.duration",
            unit="s",
            description="Duration of a sub-task attempt by agent and outcome.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.tool_calls = meter.create_counter(
            "agentorch.tool.calls", unit="{call}", description="Tool calls by agent, tool and outcome."
        )
        self.cost = meter.create_counter(
            "agentorch.cost", unit="USD", description="Cost of the model calls by role and model."
        )

    def handler(self, team: str, prices: Mapping[str, ModelPrice]) -> MetricsHandler:
        """A callback handler recording one run's model calls."""
        return MetricsHandler(self, team, prices)

    def subtask_finished(self, team: str, result: Any) -> None:
        """Record one sub-task attempt (a `SubTaskResult`) and its tool calls."""
        self.subtask_duration.record(
            result.duration, {WORKFLOW_NAME: team, AGENT_NAME: result.agent, A_STATUS: result.status}
        )
        for call in result.tool_calls:
            self.tool_calls.add(
                1,
                {
                    WORKFLOW_NAME: team,
                    AGENT_NAME: result.agent,
                    TOOL_NAME: call.name,
                    A_TOOL_OUTCOME: call.outcome,
                },
            )

    def run_ended(self, team: str, status: str, seconds: float) -> None:
        """Record a run (or resume) that ended in `status` after `seconds`."""
        attributes = {WORKFLOW_NAME: team, A_STATUS: status}
        self.runs.add(1, attributes)
        self.run_duration.record(seconds, attributes)


class MetricsHandler(BaseCallbackHandler):
    """Records the GenAI client metrics and the cost of one run's model calls."""

    run_inline = True

    # only model calls count here: LangChain then skips this handler for every other event
    @property
    def ignore_chain(self) -> bool:
        return True

    @property
    def ignore_agent(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    def __init__(self, instruments: RunMetrics, team: str, prices: Mapping[str, ModelPrice]) -> None:
        self.m = instruments
        self.team = team
        self.prices = prices
        self._calls: dict[UUID, tuple[float, dict[str, Any]]] = {}  # open model calls

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start("chat", run_id, metadata, invocation_params)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start("text_completion", run_id, metadata, invocation_params)

    def _start(
        self, operation: str, run_id: UUID, metadata: dict[str, Any] | None, params: dict[str, Any] | None
    ) -> None:
        meta, params = metadata or {}, params or {}
        model = meta.get("ls_model_name") or params.get("model") or params.get("model_name")
        self._calls[run_id] = (
            time.monotonic(),
            _attrs(
                {
                    OPERATION: operation,
                    PROVIDER: meta.get("ls_provider"),
                    REQUEST_MODEL: model,
                    A_ROLE: meta.get(ROLE_KEY),
                }
            ),
        )

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is None:
            return
        began, attributes = call
        message = _message_of(response)
        if message is not None:
            meta = message.response_metadata or {}
            answered = meta.get("model_name") or meta.get("model")
            if answered:
                attributes[RESPONSE_MODEL] = answered
            usage: Mapping[str, Any] = message.usage_metadata or {}
            if usage:
                for kind in ("input", "output"):
                    self.m.tokens.record(
                        int(usage.get(f"{kind}_tokens", 0)), {**attributes, TOKEN_TYPE: kind}
                    )
                model = str(answered or attributes.get(REQUEST_MODEL) or "unknown")
                price = price_for(model, self.prices)
                if price is not None:
                    spent = price.cost(
                        TokenUsage(
                            input_tokens=int(usage.get("input_tokens", 0)),
                            output_tokens=int(usage.get("output_tokens", 0)),
                        )
                    )
                    self.m.cost.add(
                        spent,
                        _attrs(
                            {WORKFLOW_NAME: self.team, A_ROLE: attributes.get(A_ROLE), REQUEST_MODEL: model}
                        ),
                    )
        self.m.operation_duration.record(time.monotonic() - began, attributes)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            began, attributes = call
            self.m.operation_duration.record(
                time.monotonic() - began, {**attributes, ERROR_TYPE: type(error).__qualname__}
            )
