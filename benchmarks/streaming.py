"""Workload — token streaming overhead: `team.astream(goal)` against `team.astream(goal,
tokens=True)` on the same runs.

With `tokens=False` (the default) the run streams LangGraph's "updates" and "custom" modes only,
as before token streaming existed, and the models are invoked. With `tokens=True` LangGraph adds
its "messages" mode: every model call streams (the scripted model sends text word by word, ~60
words per specialist answer here) and each piece becomes a `token` event. Zero-latency scripted
models: the worst case, where orchestration is all there is. Off and on runs alternate (drifting
load on a shared machine hits both alike); each cell is the minimum of several runs.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from agentorch.graphs.research import build_team, demo_model
from benchmarks._common import GOAL, Timer, machine_info, ratio, shape, write_json
from benchmarks._common import table as table_text
from benchmarks._frameworks import make_team


async def _stream(team: Any, tokens: bool) -> dict[str, Any]:
    team.draw()  # compile before the clock starts
    events = 0
    with Timer() as t:
        async for _ in team.astream(GOAL, tokens=tokens):
            events += 1
    return {"seconds": t.seconds, "cpu": t.cpu, "events": events}


def _cases(size: int) -> dict[str, Any]:
    return {
        f"wave {size}": lambda: make_team(shape("wave", size), 0.0)[0],
        f"chain {size}": lambda: make_team(shape("chain", size), 0.0)[0],
        "research demo": lambda: build_team(demo_model(), memory=None),
    }


async def _measure(size: int, reps: int) -> list[dict[str, Any]]:
    rows = []
    for name, build in _cases(size).items():
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for rep in range(reps + 1):
            for tokens in (False, True):
                result = await _stream(build(), tokens)
                if rep:  # the first of each is a warm-up
                    runs[tokens].append(result)
        off, on = runs[False], runs[True]
        row = {
            "run": name,
            "off_wall_ms": round(min(r["seconds"] for r in off) * 1000, 2),
            "on_wall_ms": round(min(r["seconds"] for r in on) * 1000, 2),
            "off_cpu_ms": round(min(r["cpu"] for r in off) * 1000, 2),
            "on_cpu_ms": round(min(r["cpu"] for r in on) * 1000, 2),
            "off_events": off[0]["events"],
            "on_events": on[0]["events"],
        }
        row["cpu_on_vs_off"] = ratio(row["on_cpu_ms"], row["off_cpu_ms"])
        row["wall_on_vs_off"] = ratio(row["on_wall_ms"], row["off_wall_ms"])
        row["us_per_token"] = round(
            (row["on_cpu_ms"] - row["off_cpu_ms"]) * 1000 / max(1, row["on_events"] - row["off_events"]), 1
        )
        print(f"  {row}", flush=True)
        rows.append(row)
    return rows


def run(quick: bool) -> dict[str, Any]:
    """Measure; the rows and the table."""
    size, reps = (20, 3) if quick else (100, 7)
    print("token streaming off / on, alternating:", flush=True)
    rows = asyncio.run(_measure(size, reps))
    table = table_text(
        f"Token streaming overhead: zero-latency runs, min of {reps}, tokens=False and tokens=True",
        [
            "run",
            "events off / on",
            "off wall ms",
            "on wall ms",
            "off CPU ms",
            "on CPU ms",
            "CPU on/off",
            "µs per token",
        ],
        [
            [
                r["run"],
                f"{r['off_events']} / {r['on_events']}",
                r["off_wall_ms"],
                r["on_wall_ms"],
                r["off_cpu_ms"],
                r["on_cpu_ms"],
                r["cpu_on_vs_off"],
                r["us_per_token"],
            ]
            for r in rows
        ],
    )
    print(table, flush=True)
    return {"subtasks": size, "reps": reps, "rows": rows, "tables": [table], "quick": quick}


if __name__ == "__main__":
    data = run("--quick" in sys.argv)
    data["machine"] = machine_info()
    write_json("streaming", data)
