"""Eval runner throughput: research-team cases on the offline demo model, as `agentorch eval`
runs them (`run_suites`, plain asyncio loops).

- Zero-latency scripted models, `workers` 1 and 2 (processes) at concurrency 4: nothing waits,
  so this is CPU per case, and what a second core buys. Includes starting the worker processes.
- 1 s per model call, concurrency 1 and 8 in one process: how well concurrent cases overlap
  their waiting (ideal: 8x).

Each row reports the CPU time per case (this process and its workers) and how busy that kept
the CPU.

- CPU per case against a hand-written LangGraph `Send` graph making the same model calls
  (`benchmarks/_research_send.py`, checked call for call against an agentorch case first):
  zero latency, concurrency 4, one process, in interleaved blocks so that drifting load on a
  shared machine hits both alike. Issue 17's target: agentorch's CPU per eval case <= 1.5x.

`python -m benchmarks.evals_bench [--quick]` prints a table; `run(quick)` returns the figures.
`--quick` uses fewer cases and 50 ms calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from agentorch.evals import run_suites
from agentorch.graphs.research import DEMO_GOAL, build_team, demo_model
from benchmarks import _research_send
from benchmarks._common import Timer, input_tokens

__all__ = ["run", "main"]

TARGET_VS_SEND = 1.5
"""Issue 17: agentorch's CPU per eval case <= 1.5x the hand-written Send graph's."""


def _suite_file(folder: Path, n: int, latency: float) -> Path:
    path = folder / f"bench-{n}-{latency}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": f"bench-{latency}",
                "team": "research",
                "model": {"factory": "agentorch.graphs.research:demo_model", "latency": latency},
                "cases": [
                    {"id": f"c{i}", "goal": DEMO_GOAL, "expect": {"status": "completed"}} for i in range(n)
                ],
            }
        )
    )
    return path


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _measure(file: Path, n: int, concurrency: int, workers: int, latency: float) -> dict[str, Any]:
    start, cpu = time.perf_counter(), _cpu()
    [result] = run_suites([file], concurrency=concurrency, workers=workers)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if not result.passed or len(result.cases) != n:
        bad = next((c for c in result.cases if not c.passed), None)
        raise RuntimeError(f"benchmark case failed: {bad}")
    return {
        "cases": n,
        "concurrency": concurrency,
        "workers": workers,
        "latency_s": latency,
        "seconds": round(seconds, 3),
        "cases_per_s": round(n / seconds, 2),
        "cpu_ms_per_case": round(cpu / n * 1000, 1),
        "cpu_busy": round(cpu / seconds, 2),
    }


async def _hand_written(graph: Any, n: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            answer = await _research_send.run_case(graph, demo_model())
        if not answer.startswith("Solid-state batteries: investment brief"):
            raise RuntimeError(f"the hand-written case answered {answer[:80]!r}")

    await asyncio.gather(*(one() for _ in range(n)))


def _versus_send_graph(folder: Path, per_block: int, blocks: int) -> dict[str, Any]:
    """CPU per case: agentorch eval cases (`run_suites`, one process) against the hand-written
    Send graph, same calls, zero latency, concurrency 4, `blocks` interleaved blocks each."""
    ours, theirs = demo_model(), demo_model()
    build_team(ours).run(DEMO_GOAL)
    graph = _research_send.build_graph()
    asyncio.run(_research_send.run_case(graph, theirs))
    _research_send.same_calls(ours.calls, theirs.calls)  # like with like, or no figure at all
    file = _suite_file(folder, per_block, 0.0)
    cpu = {"agentorch": 0.0, "send-graph": 0.0}
    for _ in range(blocks):
        with Timer() as t:
            [result] = run_suites([file], concurrency=4, workers=1)
        if not result.passed:
            raise RuntimeError(f"benchmark case failed: {next(c for c in result.cases if not c.passed)}")
        cpu["agentorch"] += t.cpu
        with Timer() as t:
            asyncio.run(_hand_written(graph, per_block, 4))
        cpu["send-graph"] += t.cpu
    n = per_block * blocks
    ms = {k: round(v / n * 1000, 2) for k, v in cpu.items()}
    return {
        "cases": n,
        "blocks": blocks,
        "model_calls_per_case": len(ours.calls),
        "input_tokens_per_case": {
            "agentorch": input_tokens(ours.calls),
            "send-graph": input_tokens(theirs.calls),
        },
        "cpu_ms_per_case": ms,
        "cpu_vs_send_graph": round(ms["agentorch"] / ms["send-graph"], 2),
        "target": TARGET_VS_SEND,
    }


def _rate(rows: list[dict[str, Any]], **where: Any) -> float:
    return next(r["cases_per_s"] for r in rows if all(r[k] == v for k, v in where.items()))


def run(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; `quick` uses fewer cases and shorter calls."""
    n_zero, n_wait, latency = (60, 8, 0.05) if quick else (2000, 16, 1.0)
    per_block, blocks = (20, 2) if quick else (250, 4)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        zero, waiting = _suite_file(Path(tmp), n_zero, 0.0), _suite_file(Path(tmp), n_wait, latency)
        rows = [_measure(zero, n_zero, 4, workers, 0.0) for workers in (1, 2)]
        rows += [_measure(waiting, n_wait, conc, 1, latency) for conc in (1, 8)]
        versus = _versus_send_graph(Path(tmp), per_block, blocks)
    return {
        "name": "evals",
        "quick": quick,
        "load_average": {
            "start": [round(x, 2) for x in load_before],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "rows": rows,
        "versus_send_graph": versus,
        "zero_latency_workers2_vs_1": round(
            _rate(rows, workers=2) / _rate(rows, workers=1, latency_s=0.0), 2
        ),
        "latency_c8_vs_c1": round(_rate(rows, concurrency=8) / _rate(rows, concurrency=1), 2),
        "latency_s": latency,
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"{'cases':>6} {'conc':>5} {'workers':>8} {'latency':>8} {'seconds':>9} {'cases/s':>9} "
        f"{'cpu ms/case':>12} {'cpu busy':>9}"
    ]
    for r in report["rows"]:
        lines.append(
            f"{r['cases']:>6} {r['concurrency']:>5} {r['workers']:>8} "
            f"{r['latency_s'] * 1000:>5.0f} ms {r['seconds']:>9.2f} {r['cases_per_s']:>9.2f} "
            f"{r['cpu_ms_per_case']:>12.1f} {r['cpu_busy']:>8.0%}"
        )
    lines.append(
        f"zero latency: 2 workers give {report['zero_latency_workers2_vs_1']}x the throughput "
        f"of 1; {report['latency_s'] * 1000:.0f} ms per call: concurrency 8 gives "
        f"{report['latency_c8_vs_c1']}x the throughput of 1"
    )
    v = report["versus_send_graph"]
    tokens, ms = v["input_tokens_per_case"], v["cpu_ms_per_case"]
    lines += [
        "",
        f"CPU per case, same {v['model_calls_per_case']} model calls, zero latency, concurrency 4, "
        f"{v['cases']} cases each in {v['blocks']} interleaved blocks:",
        f"{'contender':>22} {'cpu ms/case':>12} {'input tokens/case':>18}",
        f"{'agentorch eval case':>22} {ms['agentorch']:>12.2f} {tokens['agentorch']:>18}",
        f"{'hand-written Send':>22} {ms['send-graph']:>12.2f} {tokens['send-graph']:>18}",
        f"agentorch / hand-written: {v['cpu_vs_send_graph']}x (target <= {v['target']}x); load average "
        f"{report['load_average']['start'][0]} at the start, {report['load_average']['end'][0]} at the end",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(format_table(run(parser.parse_args(argv).quick)))


if __name__ == "__main__":
    main()
