"""Workload — OpenTelemetry overhead: a run with no tracer or meter provider against the same run
traced by the SDK, and against the same run with the SDK's metrics (no tracing).

With no provider installed (the OpenTelemetry API's default), agentorch attaches no handler:
the only code left on the run's path is the per-run check (`trace_config`), timed here on its
own. With the SDK installed (a `BatchSpanProcessor` into an in-memory exporter, so the figures
hold span building and export, not a network), every run, round, sub-task, model and tool call
is a span. Zero-latency scripted models: the worst case, where orchestration is all there is.

Off and on runs alternate (drifting load on a shared machine hits both alike): the installed
provider hands out the SDK's tracers for "on" runs and no-op tracers for "off" runs, for which
agentorch attaches no handler, exactly as with no provider. Each cell is the minimum of several
runs, CPU time (all threads, so the exporter's thread counts) next to wall time. The workload
runs in a process of its own, so the provider it installs never traces the other workloads.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace

from agentorch._observe.tracing import trace_config
from agentorch.graphs.research import build_team, demo_model
from benchmarks._common import GOAL, Timer, machine_info, ratio, shape, write_json
from benchmarks._common import table as table_text
from benchmarks._frameworks import run_agentorch


async def _demo() -> dict[str, Any]:
    """The research demo: tool calls, two parallel researchers, a critic revision, 2 rounds."""
    team = build_team(demo_model(), memory=None)
    team.draw()
    with Timer() as t:
        result = await team.arun(GOAL)
    assert result.status == "completed", result.error
    return {"seconds": t.seconds, "cpu": t.cpu}


def _cases(size: int) -> dict[str, Any]:
    return {
        f"wave {size}": lambda: run_agentorch(shape("wave", size), 0.0),
        f"chain {size}": lambda: run_agentorch(shape("chain", size), 0.0),
        "research demo": _demo,
    }


class _Switch(trace.TracerProvider):
    """The SDK's tracers while `on`, no-op tracers otherwise (as the SDK with OTEL_SDK_DISABLED)."""

    def __init__(self, sdk: trace.TracerProvider) -> None:
        self.sdk, self.on = sdk, False

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self.sdk.get_tracer(*args, **kwargs) if self.on else trace.NoOpTracer()


class _MeterSwitch(metrics.MeterProvider):
    """The SDK's meters while `on`, no-op meters otherwise (as the SDK with OTEL_SDK_DISABLED)."""

    def __init__(self, sdk: metrics.MeterProvider) -> None:
        self.sdk, self.on = sdk, False

    def get_meter(self, *args: Any, **kwargs: Any) -> metrics.Meter:
        return self.sdk.get_meter(*args, **kwargs) if self.on else metrics.NoOpMeter("off")


_MODES = ("off", "on", "metrics")  # nothing, spans (SDK tracing), metrics (SDK metrics)


async def _measure(
    size: int, reps: int, switch: _Switch, meters: _MeterSwitch
) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {mode: {} for mode in _MODES}
    for name, case in _cases(size).items():
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in _MODES}
        for rep in range(reps + 1):
            for mode in _MODES:
                switch.on, meters.on = mode == "on", mode == "metrics"
                result = await case()
                if rep:  # the first of each is a warm-up
                    runs[mode].append(result)
        for mode in _MODES:
            out[mode][name] = {
                "wall_ms": round(min(r["seconds"] for r in runs[mode]) * 1000, 2),
                "cpu_ms": round(min(r["cpu"] for r in runs[mode]) * 1000, 2),
            }
        print(f"  {name}: " + ", ".join(f"{m} {out[m][name]}" for m in _MODES), flush=True)
    switch.on = meters.on = False
    return out


def _check_us() -> float:
    """Microseconds per `trace_config` call with no provider: all that tracing and metrics add
    when off (besides one `run_metrics()` check per run, which the call includes)."""
    number = 20_000
    best = min(timeit.repeat(lambda: trace_config("t", "r", "team"), number=number, repeat=5))
    return round(best / number * 1e6, 3)


def run(quick: bool) -> dict[str, Any]:
    """Measure in a child process (see the module doc); its results."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "otel.json"
        command = [sys.executable, "-m", "benchmarks.otel", "--out", str(out)] + (
            ["--quick"] if quick else []
        )
        subprocess.run(command, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        data: dict[str, Any] = json.loads(out.read_text())
    for text in data["tables"]:
        print(text, flush=True)
    return data


def _run_here(quick: bool) -> dict[str, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    size, reps = (20, 3) if quick else (100, 7)
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        raise RuntimeError("a tracer provider is installed already: run this workload in its own process")
    check_us = _check_us()  # with no provider at all
    assert "callbacks" not in trace_config("t", "r", "team")

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    switch = _Switch(provider)
    trace.set_tracer_provider(switch)
    reader = InMemoryMetricReader()
    meters = _MeterSwitch(MeterProvider(metric_readers=[reader]))
    metrics.set_meter_provider(meters)
    print(
        "off / tracing (SDK, batch processor, in-memory exporter) / metrics (SDK), alternating:", flush=True
    )
    measured = asyncio.run(_measure(size, reps, switch, meters))
    off, on, metered = measured["off"], measured["on"], measured["metrics"]
    points = sum(
        len(m.data.data_points)
        for rm in reader.get_metrics_data().resource_metrics  # type: ignore[union-attr]
        for sm in rm.scope_metrics
        for m in sm.metrics
    )
    provider.force_flush()
    spans = len(exporter.get_finished_spans())
    provider.shutdown()

    rows = []
    for name in off:
        rows.append(
            {
                "run": name,
                "off_wall_ms": off[name]["wall_ms"],
                "on_wall_ms": on[name]["wall_ms"],
                "off_cpu_ms": off[name]["cpu_ms"],
                "on_cpu_ms": on[name]["cpu_ms"],
                "cpu_on_vs_off": ratio(on[name]["cpu_ms"], off[name]["cpu_ms"]),
                "wall_on_vs_off": ratio(on[name]["wall_ms"], off[name]["wall_ms"]),
                "metrics_wall_ms": metered[name]["wall_ms"],
                "metrics_cpu_ms": metered[name]["cpu_ms"],
                "cpu_metrics_vs_off": ratio(metered[name]["cpu_ms"], off[name]["cpu_ms"]),
                "check_share_of_run": round(check_us / (off[name]["cpu_ms"] * 1000), 7),
            }
        )
    table = table_text(
        f"OpenTelemetry overhead: zero-latency runs, min of {reps}, off (no provider), tracing on (SDK), "
        "metrics on (SDK, no tracing)",
        [
            "run",
            "off wall ms",
            "on wall ms",
            "off CPU ms",
            "on CPU ms",
            "CPU on/off",
            "wall on/off",
            "metrics CPU ms",
            "CPU metrics/off",
        ],
        [
            [
                r["run"],
                r["off_wall_ms"],
                r["on_wall_ms"],
                r["off_cpu_ms"],
                r["on_cpu_ms"],
                r["cpu_on_vs_off"],
                r["wall_on_vs_off"],
                r["metrics_cpu_ms"],
                r["cpu_metrics_vs_off"],
            ]
            for r in rows
        ],
    )
    smallest = min(r["off_cpu_ms"] for r in rows)
    note = (
        f"Tracing off: the per-run check costs {check_us} µs, {check_us / (smallest * 10):.4f}% of "
        f"the smallest run above ({smallest} ms CPU); nothing else runs. "
        f"{spans} spans exported by the traced runs (warm-ups included); {points} metric data "
        "points (cumulative) from the metered runs."
    )
    return {
        "subtasks": size,
        "reps": reps,
        "rows": rows,
        "check_us": check_us,
        "spans": spans,
        "metric_points": points,
        "tables": [table, note + "\n"],
        "quick": quick,
    }


if __name__ == "__main__":
    if "--out" in sys.argv:  # the child process of `run`
        result = _run_here("--quick" in sys.argv)
        Path(sys.argv[sys.argv.index("--out") + 1]).write_text(json.dumps(result))
    else:
        data = run("--quick" in sys.argv)
        data["machine"] = machine_info()
        write_json("otel", data)
