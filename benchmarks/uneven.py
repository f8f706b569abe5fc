"""Workload — uneven latencies: wall time against the latency-weighted critical-path bound.

Real models answer in uneven times. Every sub-task here has an agent of its own with its own
latency (planner, critic and synthesizer: 50 ms), on these plans:

- "slow beside chain": one 1 s sub-task beside a chain of four 0.25 s ones;
- "out of phase": two chains of four whose 1 s and 0.25 s steps alternate out of phase;
- "4 chains of 4": four chains of four, step j of chain i at latency L[(i + j) % 4],
  L = 0.1, 0.6, 0.3, 0.45 s;
- random DAGs of 12 and 48 sub-tasks (each depends on up to two earlier ones), per-call latency
  drawn from a lognormal with median 1 s and sigma 0.6, 5 seeds each.

The bound is planner + the longest latency-weighted dependency path + critic (whose accept
carries the answer: agentorch's default, the hand-written graph's joiner).
Contenders: agentorch; the hand-written `Send` graph (LangGraph supersteps: a dependent waits for
its whole wave, as agentorch's own dispatch did before eager dispatch); the two sequential
baselines (named plans and the 12-sub-task DAGs, 2 seeds: they take minutes); and, when
`AGENTORCH_WAVES_SRC` names a checkout of agentorch before eager dispatch (commit cbc16b9),
that version itself ("agentorch-waves", run in a child process).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import Shape, machine_info, print_table, ratio, write_json
from benchmarks._frameworks import run_agentorch, run_plan_execute, run_send_graph, run_supervisor

TARGET = 1.10
OVERHEAD_ROLES = {"planner": 0.05, "critic": 0.05, "synthesizer": 0.05, "supervisor": 0.05, "replanner": 0.05}
SEEDS = 5


class Plan(Shape):
    """A shape whose sub-tasks each have an agent (`a_<id>`) with a latency of its own."""

    latencies: dict[str, float]

    def bound(self, latency: float = 0.0) -> float:
        finish: dict[str, float] = {}
        for sid, agent, deps in self.subtasks:
            finish[sid] = self.latencies[agent] + max((finish[d] for d in deps), default=0.0)
        return max(finish.values()) + 2 * 0.05  # planner, critic (its accept answers)


def _plan(name: str, label: str, subs: list[tuple[str, tuple[str, ...], float]]) -> Plan:
    p = Plan(name, label, tuple((sid, f"a_{sid}", deps) for sid, deps, _ in subs))
    object.__setattr__(p, "latencies", {f"a_{sid}": lat for sid, _, lat in subs})
    return p


def named_plans() -> list[Plan]:
    slow = [("slow", (), 1.0)] + [(f"c{i}", (f"c{i - 1}",) if i else (), 0.25) for i in range(4)]
    phase = []
    for chain, lats in (("x", (1.0, 0.25, 1.0, 0.25)), ("y", (0.25, 1.0, 0.25, 1.0))):
        phase += [(f"{chain}{j}", (f"{chain}{j - 1}",) if j else (), lat) for j, lat in enumerate(lats)]
    levels = (0.1, 0.6, 0.3, 0.45)
    four = [
        (f"k{i}_{j}", (f"k{i}_{j - 1}",) if j else (), levels[(i + j) % 4])
        for i in range(4)
        for j in range(4)
    ]
    return [
        _plan("slow", "slow beside chain", slow),
        _plan("phase", "out of phase", phase),
        _plan("four", "4 chains of 4", four),
    ]


def random_plan(n: int, seed: int) -> Plan:
    rng = random.Random(seed)
    subs = []
    for i in range(n):
        deps = tuple(sorted({f"r{rng.randrange(i)}" for _ in range(rng.randint(0, 2))})) if i else ()
        subs.append((f"r{i}", deps, rng.lognormvariate(math.log(1.0), 0.6)))
    return _plan("random", f"random {n} (seed {seed})", subs)


def _latency(p: Plan) -> dict[str, float]:
    return {**OVERHEAD_ROLES, **p.latencies}


def _waves_child(p: Plan) -> dict[str, Any]:
    """agentorch before eager dispatch, from `AGENTORCH_WAVES_SRC`, in a child process."""
    src = os.environ["AGENTORCH_WAVES_SRC"]
    spec = json.dumps({"subtasks": p.subtasks, "latency": _latency(p), "name": p.name, "label": p.label})
    code = (
        "import sys, json, asyncio; sys.path.insert(0, sys.argv[1]);"
        "import agentorch; assert agentorch.__file__.startswith(sys.argv[1]), agentorch.__file__;"
        "sys.path.insert(0, sys.argv[2]);"  # this checkout's benchmarks, the old agentorch"
        "from benchmarks._common import Shape; from benchmarks._frameworks import run_agentorch;"
        "d = json.loads(sys.argv[3]);"
        "s = Shape(d['name'], d['label'], tuple((a, b, tuple(c)) for a, b, c in d['subtasks']));"
        "out = asyncio.run(run_agentorch(s, d['latency']));"
        "print(json.dumps({'seconds': out['seconds'], 'cpu': out['cpu'], 'calls': out['calls']}))"
    )
    repo = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", code, src, repo, spec], capture_output=True, text=True, cwd=src
    )
    if done.returncode:
        raise RuntimeError(f"agentorch-waves from {src} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def _run(fw: str, p: Plan) -> dict[str, Any]:
    if fw == "agentorch-waves":
        return _waves_child(p)
    runner = {
        "agentorch": run_agentorch,
        "send-graph": run_send_graph,
        "plan-execute": run_plan_execute,
        "supervisor": run_supervisor,
    }[fw]
    return await runner(p, _latency(p))


def _row(fw: str, p: Plan, out: dict[str, Any]) -> dict[str, Any]:
    bound = p.bound()
    row = {
        "plan": p.label,
        "kind": p.name,
        "subtasks": p.size,
        "framework": fw,
        "wall_s": round(out["seconds"], 3),
        "bound_s": round(bound, 3),
        "x_bound": ratio(out["seconds"], bound),
        "cpu_s": round(out["cpu"], 3),
        "model_calls": out["calls"],
    }
    print(f"  {p.label:24} {fw:15} {out['seconds']:7.2f} s  {row['x_bound']:5.2f}x bound", flush=True)
    return row


def run(quick: bool) -> dict[str, Any]:
    parallel = ["agentorch", "send-graph"] + (
        ["agentorch-waves"] if os.environ.get("AGENTORCH_WAVES_SRC") else []
    )
    sequential = [] if quick else ["plan-execute", "supervisor"]
    seeds = 2 if quick else SEEDS
    cells: list[tuple[Plan, list[str]]] = [(p, parallel + sequential) for p in named_plans()]
    for n in (12,) if quick else (12, 48):
        for seed in range(seeds):
            cells.append((random_plan(n, seed), parallel + (sequential if n == 12 and seed < 2 else [])))
    rows = [_row(fw, p, asyncio.run(_run(fw, p))) for p, fws in cells for fw in fws]
    checks = []
    for kind in ("slow", "phase", "four"):
        (r,) = [r for r in rows if r["kind"] == kind and r["framework"] == "agentorch"]
        checks.append({"check": f"{r['plan']}: wall <= {TARGET}x bound", "value": r["x_bound"]})
    medians: dict[str, dict[int, float]] = {}
    for fw in parallel + sequential:
        for n in (12, 48):
            got = [
                r["x_bound"]
                for r in rows
                if r["kind"] == "random" and r["subtasks"] == n and r["framework"] == fw
            ]
            if got:
                medians.setdefault(fw, {})[n] = round(statistics.median(got), 3)
    for n, value in medians["agentorch"].items():
        checks.append({"check": f"random {n}: median wall <= {TARGET}x bound", "value": value})
    for c in checks:
        c["met"] = c["value"] <= TARGET
    tables = [
        print_table(
            "Uneven latencies: wall / latency-weighted critical-path bound",
            ["plan", "framework", "wall s", "bound s", "x bound", "cpu s", "model calls"],
            [
                [
                    r["plan"],
                    r["framework"],
                    r["wall_s"],
                    r["bound_s"],
                    r["x_bound"],
                    r["cpu_s"],
                    r["model_calls"],
                ]
                for r in rows
            ],
        ),
        print_table(
            "Uneven latencies: median x bound over the random DAGs",
            ["framework", *(f"random {n}" for n in (12, 48))],
            [[fw, *(m.get(n, "") for n in (12, 48))] for fw, m in medians.items()],
        ),
        print_table(
            "Uneven latencies: targets",
            ["check", "agentorch", "met"],
            [[c["check"], c["value"], "yes" if c["met"] else "NO"] for c in checks],
        ),
    ]
    return {"rows": rows, "medians": medians, "checks": checks, "tables": tables, "quick": quick}


if __name__ == "__main__":
    data = run("--quick" in sys.argv)
    data["machine"] = machine_info()
    write_json("uneven", data)
