"""Eval runner throughput: research-team cases on the offline demo model, as `agentorch eval`
runs them (`run_suites`, plain asyncio loops).

- Zero-latency scripted models, `workers` 1 and 2 (processes) at concurrency 4: nothing waits,
  so this is CPU per case, and what a second core buys. Includes starting the worker processes.
- 1 s per model call, concurrency 1 and 8 in one process: how well concurrent cases overlap
  their waiting (ideal: 8x).

Each row reports the CPU time per case (this process and its workers) and how busy that kept
the CPU. `python -m benchmarks.evals_bench [--quick]` prints a table; `run(quick)` returns the
figures. `--quick` uses fewer cases and 50 ms calls.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from agentorch.evals import run_suites
from agentorch.graphs.research import DEMO_GOAL

__all__ = ["run", "main"]


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


def _rate(rows: list[dict[str, Any]], **where: Any) -> float:
    return next(r["cases_per_s"] for r in rows if all(r[k] == v for k, v in where.items()))


def run(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; `quick` uses fewer cases and shorter calls."""
    n_zero, n_wait, latency = (60, 8, 0.05) if quick else (2000, 16, 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        zero, waiting = _suite_file(Path(tmp), n_zero, 0.0), _suite_file(Path(tmp), n_wait, latency)
        rows = [_measure(zero, n_zero, 4, workers, 0.0) for workers in (1, 2)]
        rows += [_measure(waiting, n_wait, conc, 1, latency) for conc in (1, 8)]
    return {
        "name": "evals",
        "quick": quick,
        "rows": rows,
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
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(format_table(run(parser.parse_args(argv).quick)))


if __name__ == "__main__":
    main()
