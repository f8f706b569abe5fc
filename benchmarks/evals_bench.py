"""Eval runner throughput: research-team cases on the offline demo model.

- 1,000 cases with zero-latency scripted models at concurrency 1 and 8 (total time, cases/s):
  the harness's own overhead, since nothing waits.
- The same team with 50 ms per model call at concurrency 8 vs 1: the throughput ratio shows
  how well concurrent cases overlap their waiting (ideal: 8x). Each row also reports the
  process CPU time per case and how busy that kept the CPU (CPU time / wall time): the loop
  runs on one core, so the closer that gets to 100%, the more cases queue for it.

Each pair runs on the loop `run_suite` and `agentorch eval` use (`CaseLoop`: one case at a
time until it waits) and, as the baseline in the same run, on a plain asyncio loop, where
cases with equal latencies fall into lockstep (see `evals/_loop.py` and BENCHMARKS.md).

`python -m benchmarks.evals_bench [--quick]` prints a table; `run(quick)` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from agentorch.evals import Case, ModelSetup, Suite, arun_suites
from agentorch.evals._loop import CaseLoop
from agentorch.graphs.research import DEMO_GOAL, demo_model

__all__ = ["run", "main"]

LOOPS = {"case": CaseLoop, "plain": asyncio.new_event_loop}
"""The loop under test: `run_suite`'s `CaseLoop`, or the baseline plain asyncio loop."""


def _suite(n: int, latency: float) -> Suite:
    return Suite(
        name=f"bench-{latency}",
        team="research",
        model=ModelSetup(factory=lambda: demo_model(latency=latency)),
        cases=[Case(id=f"c{i}", goal=DEMO_GOAL, expect={"status": "completed"}) for i in range(n)],
    )


def _measure(n: int, concurrency: int, latency: float, loop: str = "case") -> dict[str, Any]:
    suite = _suite(n, latency)
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        start, cpu = time.perf_counter(), time.process_time()
        [result] = runner.run(arun_suites([suite], concurrency=concurrency))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if not result.passed:
        bad = next(c for c in result.cases if not c.passed)
        raise RuntimeError(f"benchmark case failed: {bad.case} {bad.status} {bad.error}")
    return {"cases": n, "concurrency": concurrency, "latency_s": latency, "loop": loop,
            "seconds": round(seconds, 3), "cases_per_s": round(n / seconds, 2),
            "cpu_ms_per_case": round(cpu / n * 1000, 1), "cpu_busy": round(cpu / seconds, 2)}


def _ratio(rows: list[dict[str, Any]], loop: str) -> float:
    rate = {r["concurrency"]: r["cases_per_s"] for r in rows if r["loop"] == loop and r["latency_s"]}
    return round(rate[8] / rate[1], 2)


def run(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; `quick` uses fewer cases. Returns the rows and the latency ratios."""
    n_zero = 100 if quick else 1000
    n_latency = 16 if quick else 64
    rows = [_measure(n_zero, conc, 0.0, loop) for loop in LOOPS for conc in (1, 8)]
    rows += [_measure(n_latency, conc, 0.05, loop) for loop in LOOPS for conc in (1, 8)]
    return {"name": "evals", "quick": quick, "rows": rows,
            "latency_50ms_c8_vs_c1": _ratio(rows, "case"),
            "latency_50ms_c8_vs_c1_plain_loop": _ratio(rows, "plain")}


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [f"{'cases':>6} {'conc':>5} {'latency':>8} {'loop':>6} {'seconds':>9} {'cases/s':>9} "
             f"{'cpu ms/case':>12} {'cpu busy':>9}"]
    for r in report["rows"]:
        lines.append(f"{r['cases']:>6} {r['concurrency']:>5} {r['latency_s'] * 1000:>5.0f} ms "
                     f"{r['loop']:>6} {r['seconds']:>9.2f} {r['cases_per_s']:>9.2f} "
                     f"{r['cpu_ms_per_case']:>12.1f} {r['cpu_busy']:>8.0%}")
    lines.append(f"50 ms latency: concurrency 8 gives {report['latency_50ms_c8_vs_c1']}x the "
                 f"throughput of 1 (CaseLoop; plain asyncio loop: "
                 f"{report['latency_50ms_c8_vs_c1_plain_loop']}x)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(format_table(run(parser.parse_args(argv).quick)))


if __name__ == "__main__":
    main()
