"""Side by side with another commit: `python -m benchmarks.commits OTHER_TREE [--reps N]`.

Runs the orchestration-overhead cells (200 sub-tasks, zero latency: a wave and a chain, in memory
and with SQLite) and the critical-path cell (a chain of 48 at 100 ms per call) in this checkout
and in OTHER_TREE (a worktree of another commit with its own `.venv`), alternating one repetition
of each so both see the same machine load, and prints the minimum CPU ms per sub-task and wall ÷
critical-path bound for each, with their ratio (this / other).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CELLS = [
    ("wave", 200, "memory", 0.0),
    ("chain", 200, "memory", 0.0),
    ("wave", 200, "sqlite", 0.0),
    ("chain", 200, "sqlite", 0.0),
    ("chain", 48, "memory", 0.1),
]


async def _cell(shape_name: str, size: int, saver: str, latency: float) -> dict[str, float]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from benchmarks._common import shape
    from benchmarks._frameworks import run_agentorch

    s = shape(shape_name, size)
    if saver == "memory":
        out = await run_agentorch(s, latency, checkpointer=InMemorySaver())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            async with AsyncSqliteSaver.from_conn_string(os.path.join(tmp, "c.sqlite")) as cp:
                out = await run_agentorch(s, latency, checkpointer=cp)
    # critical path of a chain: one planner, one critic, one synthesizer and `size` calls
    bound = (size + 3) * latency
    return {"cpu_ms": out["cpu"] * 1000 / size, "wall_over_bound": out["seconds"] / bound if bound else 0.0}


def _one_rep(tree: Path) -> list[dict[str, float]]:
    """One repetition of every cell in `tree`'s own interpreter."""
    code = (
        "import asyncio, json; from benchmarks.commits import CELLS, _cell; "
        "print(json.dumps([asyncio.run(_cell(*c)) for c in CELLS]))"
    )
    python = tree / ".venv" / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [str(python), "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("other", type=Path)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    here = Path(__file__).resolve().parent.parent
    other = args.other.resolve()
    if not (other / "benchmarks" / "commits.py").exists():  # the other commit predates this file
        (other / "benchmarks" / "commits.py").write_text(Path(__file__).read_text())
    best: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.reps):
        for name, tree in (("this", here), ("other", other)):
            rep = _one_rep(tree)
            best[name] = (
                rep
                if name not in best
                else [{k: min(a[k], b[k]) for k in a} for a, b in zip(best[name], rep, strict=True)]
            )
    print("| cell | CPU ms/sub-task this | other | ratio | wall/bound this | other |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cell, a, b in zip(CELLS, best["this"], best["other"], strict=True):
        label = f"{cell[2]} {cell[0]} {cell[1]}" + (f" @{int(cell[3] * 1000)} ms" if cell[3] else "")
        wall = (f"{a['wall_over_bound']:.3f}", f"{b['wall_over_bound']:.3f}") if cell[3] else ("–", "–")
        print(
            f"| {label} | {a['cpu_ms']:.3f} | {b['cpu_ms']:.3f} | {a['cpu_ms'] / b['cpu_ms']:.2f} | {wall[0]} | {wall[1]} |"
        )
    print(f"\n{args.reps} alternating repetitions; minimum of each. Python {sys.version.split()[0]}.")


if __name__ == "__main__":
    main()
