"""Tracing: the metadata every run carries (LangSmith), a guard against LangSmith tracing without
a key, and the OpenTelemetry handler attached when a tracer provider is installed (`_otel`).

Tracing is LangChain's own: with `LANGSMITH_TRACING=true` and `LANGSMITH_API_KEY` set, every team
run becomes one trace — the LangGraph graph at the root, its nodes below, and each model call
named by role ("planner", "agent:researcher", "critic", "synthesizer", "summarizer"). agentorch
adds metadata to it: `run_id` and `agentorch_team` on the root (inherited by every child run),
and `round` and `subtask_id` on each model call (`thread_id` comes from LangGraph).

agentorch never turns tracing on by itself. When the environment asks for it but gives no key
(and points at the hosted endpoint), every upload would fail — with warnings on each batch and a
long wait at process exit — so tracing is switched off for the process with one warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config, merge_configs

from agentorch._keys import RUN_ID_KEY, TEAM_KEY
from agentorch._observe.metrics import run_metrics
from agentorch._observe.otel import otel_handler
from agentorch._types import ModelPrice

log = logging.getLogger("agentorch")

__all__ = ["tracing_requested", "ensure_tracing_usable", "trace_config"]

_TRACING_VARS = ("LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING")
_KEY_VARS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
_ENDPOINT_VARS = ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")
_HOSTED = "api.smith.langchain.com"
_checked = False


def tracing_requested() -> bool:
    """Whether the environment asks for LangSmith tracing (`LANGSMITH_TRACING=true` or the
    older `LANGCHAIN_TRACING_V2=true`)."""
    return any(os.environ.get(v, "").strip().lower() == "true" for v in _TRACING_VARS)


def _has_key() -> bool:
    if any(os.environ.get(v, "").strip() for v in _KEY_VARS):
        return True
    endpoint = next((os.environ[v] for v in _ENDPOINT_VARS if os.environ.get(v)), "")
    return bool(endpoint) and _HOSTED not in endpoint  # a self-hosted endpoint may need none


def ensure_tracing_usable() -> None:
    """Switch LangSmith tracing off (once, with one warning) when it is requested without a key."""
    global _checked
    if _checked:
        return
    _checked = True
    if not tracing_requested() or _has_key():
        return
    try:
        from langsmith.run_helpers import get_tracing_context
        from langsmith.run_trees import configure
    except ImportError:  # pragma: no cover - langsmith is a dependency
        return
    if get_tracing_context().get("client") is not None:
        return  # the application configured its own client in code
    configure(enabled=False)
    log.warning(
        "LANGSMITH_TRACING is set but no LANGSMITH_API_KEY: LangSmith tracing is disabled for "
        "this process (set the key to trace runs, or unset LANGSMITH_TRACING)."
    )


def trace_config(
    thread_id: str, run_id: str, team_name: str, prices: Mapping[str, ModelPrice] | None = None
) -> RunnableConfig:
    """The run config of a team run: its thread, trace metadata every child run inherits, and
    the OpenTelemetry handlers when a tracer or meter provider is installed (none otherwise: no
    cost); `prices` price the calls for the `agentorch.cost` metric."""
    metadata: dict[str, Any] = {TEAM_KEY: team_name}
    if run_id:
        metadata[RUN_ID_KEY] = run_id
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}, "metadata": metadata}
    handlers: list[Any] = [h for h in (otel_handler(),) if h is not None]
    instruments = run_metrics()
    if instruments is not None:
        handlers.append(instruments.handler(team_name, prices or {}))
    if handlers:
        # added to the callbacks of a runnable the team runs inside (if any), not replacing
        # them: such a run stays nested in the caller's LangSmith trace
        inherited = ensure_config().get("callbacks")
        config["callbacks"] = merge_configs(
            {"callbacks": inherited} if inherited else None, {"callbacks": handlers}
        )["callbacks"]
    return config
