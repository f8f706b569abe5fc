"""Workload 4 — scale: peak RSS and checkpoint bytes as the work grows to 1,000 sub-tasks.

Each size runs in a fresh subprocess (so peak RSS is that run's own), with zero-latency scripted
models, on a chain and on a layered DAG. Checkpoint bytes are everything the saver holds for the
thread at the end: with `InMemorySaver` the serialized checkpoints, channel blobs and pending
writes; with `AsyncSqliteSaver` the bytes of the `checkpoints` and `writes` rows. The figure that
must stay flat is bytes per sub-task: flat means linear growth, rising means quadratic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks._common import machine_info, peak_rss_mb, print_table, shape, write_json

SIZES_FULL = (250, 500, 1000)
SIZES_QUICK = (50, 100)
SHAPES = ("chain", "layers")


def memory_saver_bytes(saver: Any) -> int:
    """Bytes an `InMemorySaver` holds (serialized checkpoints, metadata, blobs and writes)."""
    total = 0
    for namespaces in saver.storage.values():
        for checkpoints in namespaces.values():
            for checkpoint, meta, _parent in checkpoints.values():
                total += len(checkpoint[1]) + len(meta[1])
    for blob in saver.blobs.values():
        total += len(blob[1])
    for writes in saver.writes.values():
        for _task, _channel, value, _path in writes.values():
            total += len(value[1])
    return total


async def sqlite_bytes(path: str) -> int:
    import aiosqlite

    async with aiosqlite.connect(path) as db:
        total = 0
        for query in (
            "SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints",
            "SELECT coalesce(sum(length(value)), 0) FROM writes",
        ):
            async with db.execute(query) as cursor:
                row = await cursor.fetchone()
                total += int(row[0]) if row else 0
        return total


async def _measure(shape_name: str, size: int, saver: str) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from benchmarks._frameworks import run_agentorch

    s = shape(shape_name, size)
    team_warmup = shape(shape_name, 4)  # import and warm every code path before the baseline
    await run_agentorch(team_warmup, 0.0)
    base_rss = peak_rss_mb()
    if saver == "memory":
        cp = InMemorySaver()
        out = await run_agentorch(s, 0.0, checkpointer=cp)
        stored = memory_saver_bytes(cp)
        checkpoints = sum(len(c) for ns in cp.storage.values() for c in ns.values())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cp.sqlite")
            async with AsyncSqliteSaver.from_conn_string(path) as cp:
                out = await run_agentorch(s, 0.0, checkpointer=cp)
            stored = await sqlite_bytes(path)
            checkpoints = -1
    result = out["result"]
    state_bytes = len(json.dumps(result.model_dump(mode="json")))
    return {
        "shape": s.label,
        "subtasks": size,
        "saver": saver,
        "seconds": round(out["seconds"], 2),
        "checkpoint_bytes": stored,
        "bytes_per_subtask": round(stored / size),
        "checkpoints": checkpoints,
        "final_state_bytes": state_bytes,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(base_rss, 1),
        "rss_growth_mb": round(peak_rss_mb() - base_rss, 1),
    }


def _child(shape_name: str, size: int, saver: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON line."""
    code = (
        "import asyncio, json, sys; from benchmarks.scale import _measure; "
        f"print('RESULT ' + json.dumps(asyncio.run(_measure({shape_name!r}, {size}, {saver!r}))))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=1800,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"scale child failed ({shape_name} {size} {saver}):\n{proc.stderr[-3000:]}")


def run(quick: bool) -> dict[str, Any]:
    sizes = SIZES_QUICK if quick else SIZES_FULL
    shapes = ("chain",) if quick else SHAPES
    rows = []
    for saver in ("memory", "sqlite"):
        for shape_name in shapes:
            for size in sizes:
                rows.append(_child(shape_name, size, saver))
    for r in rows:  # growth relative to the smallest size of the same shape and saver
        first = next(
            x
            for x in rows
            if x["saver"] == r["saver"]
            and x["shape"].split()[0] == r["shape"].split()[0]
            and x["subtasks"] == sizes[0]
        )
        r["bytes_per_subtask_vs_smallest"] = round(r["bytes_per_subtask"] / first["bytes_per_subtask"], 2)
    table = print_table(
        "Scale: checkpoint bytes and peak RSS (zero latency, agentorch, one process per row)",
        [
            "saver",
            "shape",
            "sub-tasks",
            "run s",
            "checkpoint MB",
            "bytes / sub-task",
            "x smallest",
            "final state KB",
            "peak RSS MB",
            "RSS growth MB",
            "RSS KB / sub-task",
        ],
        [
            [
                r["saver"],
                r["shape"],
                r["subtasks"],
                r["seconds"],
                round(r["checkpoint_bytes"] / 1e6, 2),
                r["bytes_per_subtask"],
                r["bytes_per_subtask_vs_smallest"],
                round(r["final_state_bytes"] / 1e3, 1),
                r["peak_rss_mb"],
                r["rss_growth_mb"],
                round(r["rss_growth_mb"] * 1024 / r["subtasks"], 1),
            ]
            for r in rows
        ],
    )
    return {"rows": rows, "tables": [table], "quick": quick}


if __name__ == "__main__":
    data = run("--quick" in sys.argv)
    data["machine"] = machine_info()
    write_json("scale", data)
