"""Eval runner throughput: research-team cases on the offline demo model.

- 1,000 cases with zero-latency scripted models at concurrency 1 and 8 (total time, cases/s):
  the harness's own overhead, since nothing waits.
- The same team with 50 ms per model call at concurrency 8 vs 1: the throughput ratio shows
  how well concurrent cases overlap their waiting (ideal: 8x).
- A control pair with each call's latency drawn uniformly from 40-60 ms (mean 50 ms), as real
  model latencies vary: identical fixed latencies keep concurrent cases in lockstep on the one
  event loop, so their CPU phases always collide (see BENCHMARKS.md).

`python -m benchmarks.evals_bench [--quick]` prints a table; `run(quick)` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from agentorch.evals import Case, ModelSetup, Suite, arun_suites
from agentorch.graphs.research import DEMO_GOAL, demo_model
from agentorch.llms import ScriptedChatModel

__all__ = ["run", "main"]


class _JitteredModel(ScriptedChatModel):
    """The demo model with each call's latency scaled by a uniform factor in [0.8, 1.2]."""

    def _latency_for(self, role: str) -> float:
        return super()._latency_for(role) * _RNG.uniform(0.8, 1.2)


_RNG = random.Random(7)


def _model(latency: float, jitter: bool) -> ScriptedChatModel:
    demo = demo_model(latency=latency)
    return _JitteredModel(demo.script, latency=latency, model_name=demo.model_name) if jitter else demo


def _suite(n: int, latency: float, jitter: bool = False) -> Suite:
    return Suite(
        name=f"bench-{latency}",
        team="research",
        model=ModelSetup(factory=lambda: _model(latency, jitter)),
        cases=[Case(id=f"c{i}", goal=DEMO_GOAL, expect={"status": "completed"}) for i in range(n)],
    )


def _measure(n: int, concurrency: int, latency: float, jitter: bool = False) -> dict[str, Any]:
    suite = _suite(n, latency, jitter)
    start = time.perf_counter()
    [result] = asyncio.run(arun_suites([suite], concurrency=concurrency))
    seconds = time.perf_counter() - start
    if not result.passed:
        bad = next(c for c in result.cases if not c.passed)
        raise RuntimeError(f"benchmark case failed: {bad.case} {bad.status} {bad.error}")
    return {"cases": n, "concurrency": concurrency, "latency_s": latency, "jitter": jitter,
            "seconds": round(seconds, 3), "cases_per_s": round(n / seconds, 2)}


def run(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; `quick` uses fewer cases. Returns the rows and the latency ratio."""
    n_zero = 100 if quick else 1000
    n_latency = 16 if quick else 64
    rows = [_measure(n_zero, 1, 0.0), _measure(n_zero, 8, 0.0),
            _measure(n_latency, 1, 0.05), _measure(n_latency, 8, 0.05),
            _measure(n_latency, 1, 0.05, jitter=True), _measure(n_latency, 8, 0.05, jitter=True)]
    ratio = rows[3]["cases_per_s"] / rows[2]["cases_per_s"]
    jittered = rows[5]["cases_per_s"] / rows[4]["cases_per_s"]
    return {"name": "evals", "quick": quick, "rows": rows, "latency_50ms_c8_vs_c1": round(ratio, 2),
            "latency_40_60ms_c8_vs_c1": round(jittered, 2)}


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [f"{'cases':>6} {'conc':>5} {'latency':>9} {'seconds':>9} {'cases/s':>9}"]
    for r in report["rows"]:
        latency = "40-60 ms" if r["jitter"] else f"{r['latency_s'] * 1000:.0f} ms"
        lines.append(f"{r['cases']:>6} {r['concurrency']:>5} {latency:>9} {r['seconds']:>9.2f} "
                     f"{r['cases_per_s']:>9.2f}")
    lines.append(f"50 ms latency: concurrency 8 gives {report['latency_50ms_c8_vs_c1']}x the throughput of 1")
    lines.append(f"40-60 ms latency: concurrency 8 gives {report['latency_40_60ms_c8_vs_c1']}x the throughput of 1")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(format_table(run(parser.parse_args(argv).quick)))


if __name__ == "__main__":
    main()
