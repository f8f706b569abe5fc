"""Shared pieces of the benchmarks: plan shapes, scripted responses, timing and tables.

Every framework in a benchmark talks to the same `ScriptedChatModel` (same simulated latency,
same approximate token counting), so the figures differ only by what the framework does.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from agentorch._keys import ROLE_KEY, SUBTASK_KEY

__all__ = [
    "AGENTS",
    "RESULTS_DIR",
    "ROLE_KEY",
    "SUBTASK_KEY",
    "Shape",
    "chain",
    "fan",
    "layers",
    "shape",
    "output_for",
    "machine_info",
    "write_json",
    "print_table",
    "Timer",
    "peak_rss_mb",
]

RESULTS_DIR = Path(os.environ.get("AGENTORCH_BENCH_RESULTS") or Path(__file__).parent / "results")
"""Where JSON and report.md go: benchmarks/results/ (git-ignored), or $AGENTORCH_BENCH_RESULTS."""
AGENTS = ("researcher", "analyst", "writer")
"""Agent names; sub-task i goes to AGENTS[i % 3]."""

GOAL = "Compile a supplier report for the new battery line"


@dataclass(frozen=True)
class Shape:
    """A plan shape: sub-tasks as (id, agent, depends_on) and the longest dependency chain."""

    name: str
    """"chain", "fan" or "layers"."""
    label: str
    """Shape with its size, e.g. "layers 6x8"."""
    subtasks: tuple[tuple[str, str, tuple[str, ...]], ...]

    @property
    def size(self) -> int:
        return len(self.subtasks)

    @property
    def depth(self) -> int:
        """Sub-tasks on the longest dependency chain (sub-tasks are listed in topological order)."""
        level: dict[str, int] = {}
        for sid, _, deps in self.subtasks:
            level[sid] = 1 + max((level[d] for d in deps), default=0)
        return max(level.values())

    def plan(self) -> dict[str, Any]:
        """The plan as the planner would answer it (agentorch's `Plan` JSON)."""
        return {
            "subtasks": [
                {
                    "id": sid,
                    "description": f"Work item {sid}: check supplier data and report",
                    "agent": agent,
                    "depends_on": list(deps),
                }
                for sid, agent, deps in self.subtasks
            ]
        }

    def bound(self, latency: float) -> float:
        """Critical-path bound: planner + longest chain + critic (whose accept carries the
        answer), at `latency` each."""
        return (self.depth + 2) * latency


def _agent(i: int) -> str:
    return AGENTS[i % len(AGENTS)]


def chain(n: int) -> Shape:
    """s0 -> s1 -> ... -> s(n-1)."""
    return Shape(
        "chain", f"chain {n}", tuple((f"s{i}", _agent(i), (f"s{i - 1}",) if i else ()) for i in range(n))
    )


def fan(n: int) -> Shape:
    """n-1 independent sub-tasks and one that joins them all."""
    subs = [(f"s{i}", _agent(i), ()) for i in range(n - 1)]
    subs.append((f"s{n - 1}", _agent(n - 1), tuple(s[0] for s in subs)))
    return Shape("fan", f"fan {n - 1}+1", tuple(subs))


def wave(n: int) -> Shape:
    """n independent sub-tasks (one wave)."""
    return Shape("wave", f"wave {n}", tuple((f"s{i}", _agent(i), ()) for i in range(n)))


LAYER_DIMS = {12: (3, 4), 48: (6, 8), 192: (12, 16)}
"""(depth, width) of the layered plans of the parallel-DAG workload; other sizes use width 25."""


def layers(n: int) -> Shape:
    """`depth` layers of `width`; each sub-task depends on two of the layer before."""
    depth, width = LAYER_DIMS.get(n) or (max(1, n // 25), 25)
    subs = []
    for layer in range(depth):
        for j in range(width):
            deps = (
                () if layer == 0 else tuple(sorted({f"l{layer - 1}_{j}", f"l{layer - 1}_{(j + 1) % width}"}))
            )
            subs.append((f"l{layer}_{j}", _agent(layer * width + j), deps))
    return Shape("layers", f"layers {depth}x{width}", tuple(subs))


def shape(name: str, n: int) -> Shape:
    return {"chain": chain, "fan": fan, "layers": layers, "wave": wave}[name](n)


_SUBTASK_RE = re.compile(r"sub-task \(?([A-Za-z0-9_]+)\)?")


def output_for(subtask_id: str) -> str:
    """A deterministic specialist answer of about 60 tokens naming its sub-task."""
    h = hashlib.sha256(subtask_id.encode()).hexdigest()
    return (
        f"Result for {subtask_id}: supplier {h[:6]} quoted {int(h[6:10], 16)} euros per "
        f"unit for part {h[10:14].upper()}; delivery in {int(h[14], 16) % 9 + 2} weeks; "
        f"quality audit {'passed' if int(h[15], 16) % 4 else 'pending'}; contact "
        f"{h[16:24]}@example.com; notes: capacity {int(h[24:28], 16)} units per month."
    )


def subtask_in(messages: Sequence[BaseMessage]) -> str:
    """The last sub-task id a prompt names ("Your sub-task (s3)" or "sub-task s3")."""
    for m in reversed(messages):
        text = m.text if isinstance(m.content, (str, list)) else str(m.content)
        found = _SUBTASK_RE.findall(text)
        if found:
            return str(found[-1])
    return "unknown"


def specialist_response(messages: list[BaseMessage]) -> str:
    """Scripted specialist: answers for the sub-task its prompt names."""
    return output_for(subtask_in(messages))


ANSWER = "Supplier report: all work items checked; see the results."


def team_script(plan: dict[str, Any]) -> dict[str, Any]:
    """Script for an agentorch team (and the hand-written graphs, which use the same roles)."""
    script: dict[str, Any] = {
        "planner": [plan],
        # the critic's accept carries the answer (agentorch's default, a hand-written joiner's)
        "critic": [{"decision": "accept", "feedback": "", "answer": ANSWER}],
        "synthesizer": [ANSWER],  # with a separate synthesizer, or no critic
    }
    for name in AGENTS:
        script[name] = specialist_response
    script["*"] = specialist_response  # agents of other plans (the uneven-latency workload)
    return script


def cached_share(calls: Iterable[Any]) -> float:
    """Share of prompt tokens a prefix-caching provider read from its cache (the scripted
    model's `input_token_details.cache_read`, see `ScriptedChatModel.prompt_cache`)."""
    usage = [c.response.usage_metadata or {} for c in calls if c.response is not None]
    total = sum(u.get("input_tokens", 0) for u in usage)
    cached = sum((u.get("input_token_details") or {}).get("cache_read", 0) for u in usage)
    return round(cached / total, 3) if total else 0.0


def input_tokens(calls: Iterable[Any]) -> int:
    """Prompt tokens over a scripted model's calls."""
    return sum(
        (c.response.usage_metadata or {}).get("input_tokens", 0) for c in calls if c.response is not None
    )


class Timer:
    """`with Timer() as t: ...; t.seconds, t.cpu` — wall time and this process's CPU time
    (all threads), with the garbage collector settled first. On a shared machine CPU time is
    the steadier measure of work done; wall time is what a user waits."""

    def __enter__(self) -> Timer:
        gc.collect()
        self.start = time.perf_counter()
        self.start_cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu = time.process_time() - self.start_cpu


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB.

    Linux's VmHWM, which starts afresh at exec; `getrusage().ru_maxrss` does not (a child
    started from a big parent reports the parent's peak), so it is only the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    """Machine and library versions, for the record."""
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gb": _ram_gb(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "commit": _git_commit(),
        "versions": {
            d: _version(d)
            for d in (
                "agentorch",
                "langgraph",
                "langgraph-checkpoint",
                "langgraph-checkpoint-sqlite",
                "langgraph-prebuilt",
                "langgraph-supervisor",
                "langchain-core",
                "pydantic",
                "chromadb",
                "pyinstrument",
            )
        },
    }


def write_json(name: str, data: Any) -> Path:
    """Write `data` to benchmarks/results/<name>.json (git-ignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.995 else f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    out = [
        f"### {title}",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    text = table(title, columns, rows)
    print(text, flush=True)
    return text


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


Runner = Callable[..., Any]
