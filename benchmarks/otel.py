"""Workload — OpenTelemetry tracing overhead: a run with no tracer provider against the same run
traced by the SDK.

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

from opentelemetry import trace

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


async def _measure(size: int, reps: int, switch: _Switch) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {"off": {}, "on": {}}
    for name, case in _cases(size).items():
        runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for rep in range(reps + 1):
            for mode in ("off", "on"):
                switch.on = mode == "on"
                result = await case()
                if rep:  # the first of each is a warm-up
                    runs[mode].append(result)
        for mode in ("off", "on"):
            out[mode][name] = {
                "wall_ms": round(min(r["seconds"] for r in runs[mode]) * 1000, 2),
                "cpu_ms": round(min(r["cpu"] for r in runs[mode]) * 1000, 2),
            }
        print(f"  {name}: off {out['off'][name]}, on {out['on'][name]}", flush=True)
    switch.on = False
    return out


def _check_us() -> float:
    """Microseconds per `trace_config` call with no provider: all that tracing adds when off."""
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
    print("tracing off / on (SDK, batch processor, in-memory exporter), alternating:", flush=True)
    measured = asyncio.run(_measure(size, reps, switch))
    off, on = measured["off"], measured["on"]
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
                "check_share_of_run": round(check_us / (off[name]["cpu_ms"] * 1000), 7),
            }
        )
    table = table_text(
        f"OpenTelemetry overhead: zero-latency runs, min of {reps}, tracing off (no provider) and on (SDK)",
        ["run", "off wall ms", "on wall ms", "off CPU ms", "on CPU ms", "CPU on/off", "wall on/off"],
        [
            [
                r["run"],
                r["off_wall_ms"],
                r["on_wall_ms"],
                r["off_cpu_ms"],
                r["on_cpu_ms"],
                r["cpu_on_vs_off"],
                r["wall_on_vs_off"],
            ]
            for r in rows
        ],
    )
    smallest = min(r["off_cpu_ms"] for r in rows)
    note = (
        f"Tracing off: the per-run check costs {check_us} µs, {check_us / (smallest * 10):.4f}% of "
        f"the smallest run above ({smallest} ms CPU); nothing else runs. "
        f"{spans} spans exported by the traced runs (warm-ups included)."
    )
    return {
        "subtasks": size,
        "reps": reps,
        "rows": rows,
        "check_us": check_us,
        "spans": spans,
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
