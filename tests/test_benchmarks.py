"""`python -m benchmarks --quick` runs end to end and writes its tables and JSON.

The figures are not asserted (they depend on the machine); only that every workload ran and
produced its output. Takes about a minute, hence `slow`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("langgraph_supervisor", reason="needs the `bench` extra")
pytest.importorskip("pyinstrument", reason="needs the `bench` extra")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_benchmarks_write_tables_and_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "AGENTORCH_BENCH_RESULTS": str(tmp_path),
    }  # never clobber a full run's results
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for title in (
        "Parallel DAG, 12 sub-tasks",
        "Orchestration overhead",
        "Token cost",
        "Scale: checkpoint bytes",
    ):
        assert title in proc.stdout
    everything = json.loads((tmp_path / "all.json").read_text())
    assert everything["quick"] is True
    assert {"dag", "uneven", "overhead", "tokens", "scale", "cascade", "otel", "memory", "evals"} <= set(
        everything["workloads"]
    )
    for name in ("dag", "overhead", "tokens", "scale"):
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert data["rows"] and data["tables"]
    dag = everything["workloads"]["dag"]
    assert {r["framework"] for r in dag["rows"]} == {"agentorch", "send-graph", "plan-execute", "supervisor"}
    assert all(r["wall_s"] > 0 and r["model_calls"] > 0 for r in dag["rows"])
    assert "## dag" in (tmp_path / "report.md").read_text()
    evals = everything["workloads"]["evals"]["result"]
    assert {(r["workers"], r["concurrency"], r["latency_s"]) for r in evals["rows"]} == {
        (1, 4, 0.0),
        (2, 4, 0.0),
        (1, 1, 0.05),
        (1, 8, 0.05),
    }
    assert evals["latency_c8_vs_c1"] > 1 and evals["zero_latency_workers2_vs_1"] > 0
    assert "concurrency 8 gives" in proc.stdout
    versus = evals["versus_send_graph"]  # checked call for call before it is timed
    assert versus["model_calls_per_case"] == 12 and versus["cases"] == 40
    assert versus["cpu_vs_send_graph"] > 0 and "agentorch / hand-written:" in proc.stdout
    cascade = {(r["hard_share"], r["setup"]): r for r in everything["workloads"]["cascade"]["rows"]}
    assert {setup for _, setup in cascade} == {"strong", "cheap", "cascade"}
    # what does not depend on the machine: who answered, success, rounds and cost ratios
    assert cascade[(0.3, "strong")]["success"] == cascade[(0.3, "cascade")]["success"] == 1.0
    assert cascade[(0.3, "cheap")]["success"] < 1.0 and cascade[(0.3, "cheap")]["status"] == "max_rounds"
    assert cascade[(0.3, "cascade")]["calls_strong"] == round(0.3 * 48)
    assert cascade[(0.1, "cascade")]["cost_vs_strong"] < cascade[(0.7, "cascade")]["cost_vs_strong"] < 1.0
    assert "Cascades: sweep of the hard share" in proc.stdout
    uneven = everything["workloads"]["uneven"]
    plans = {(r["plan"], r["framework"]) for r in uneven["rows"]}
    for name in ("slow beside chain", "out of phase", "4 chains of 4", "random 12 (seed 0)"):
        assert {(name, "agentorch"), (name, "send-graph")} <= plans
    # every contender made the same model calls on every plan
    for name in {p for p, _ in plans}:
        assert len({r["model_calls"] for r in uneven["rows"] if r["plan"] == name}) == 1
    otel = everything["workloads"]["otel"]
    assert {r["run"] for r in otel["rows"]} == {"wave 20", "chain 20", "research demo"}
    assert otel["spans"] > 0 and otel["check_us"] > 0 and otel["metric_points"] > 0


@pytest.mark.timeout(300)
def test_the_cascade_workload_runs_alone_in_quick_mode(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "AGENTORCH_BENCH_RESULTS": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "cascade", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads((tmp_path / "cascade.json").read_text())
    assert data["quick"] is True and data["latency_scale"] == 0.1
    rows = {(r["hard_share"], r["setup"]): r for r in data["rows"]}
    assert sorted({share for share, _ in rows}) == [0.1, 0.3, 0.7]
    assert rows[(0.3, "cascade")]["calls_strong"] == round(0.3 * 48)
    assert [c["check"] for c in data["checks"]][1] == "cascade cost <= 0.4x strong-everywhere at 30%"


def test_unknown_workload_is_refused() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "nope"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown workload" in proc.stderr
