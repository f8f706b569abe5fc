"""LangSmith tracing, offline: the SDK uploads to a local stand-in of the API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.fake_langsmith import FakeLangSmith

pytestmark = pytest.mark.slow

RUN = """
from agentorch.graphs.research import build_team, demo_model
team = build_team(demo_model(), memory=None)
result = team.run("Brief me on batteries", thread_id="thread-7")
print(result.run_id)
"""


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LANGSMITH_", "LANGCHAIN_")) and "PROXY" not in k.upper()
    }
    env.update(overrides)
    return env


def _children(runs: dict[str, dict[str, Any]], parent: str) -> list[dict[str, Any]]:
    return [r for r in runs.values() if r.get("parent_run_id") == parent]


def test_a_team_run_is_one_trace_with_child_runs_named_by_role() -> None:
    with FakeLangSmith() as sink:
        env = _env(
            LANGSMITH_TRACING="true",
            LANGSMITH_API_KEY="test-key",
            LANGSMITH_ENDPOINT=sink.url,
            LANGSMITH_PROJECT="agentorch-tests",
        )
        out = subprocess.run(
            [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        run_id = out.stdout.strip()
        runs = sink.runs
    roots = [r for r in runs.values() if not r.get("parent_run_id")]
    assert len(roots) == 1, [r.get("name") for r in roots]
    root = roots[0]
    assert root["name"] == "research"
    assert {r["trace_id"] for r in runs.values()} == {root["id"]}
    names = [r["name"] for r in runs.values()]
    for role in ("planner", "agent:researcher", "agent:analyst", "agent:writer", "critic", "synthesizer"):
        assert role in names, role
    for r in runs.values():  # every run of the trace carries the run's ids
        meta = r["extra"]["metadata"]
        assert meta["run_id"] == run_id and meta["thread_id"] == "thread-7", r["name"]
    calls = [r for r in runs.values() if "agentorch_role" in r["extra"]["metadata"]]
    assert {r["extra"]["metadata"]["round"] for r in calls} == {1, 2}
    researcher_calls = [r for r in runs.values() if r["name"] == "agent:researcher"]
    assert {r["extra"]["metadata"]["subtask_id"] for r in researcher_calls} == {"tech", "market"}
    analyst_rounds = sorted(
        r["extra"]["metadata"]["round"] for r in runs.values() if r["name"] == "agent:analyst"
    )
    assert analyst_rounds == [1, 2]  # the critic's revision is visible in the trace
    # a role's run hangs under its `model_call` task (saved when answered), under its graph
    # node, under the one root
    planner = next(r for r in runs.values() if r["name"] == "planner")
    task_run = runs[str(planner["parent_run_id"])]
    plan_node = runs[str(task_run["parent_run_id"])]
    assert task_run["name"] == "model_call"
    assert plan_node["name"] == "plan" and plan_node["parent_run_id"] == root["id"]
    assert any(c["name"] == "search" for c in runs.values())  # tool calls are traced too


def test_tracing_without_a_key_makes_no_attempt_and_warns_once() -> None:
    with FakeLangSmith() as proxy:  # every HTTPS request of the child goes through it
        env = _env(LANGSMITH_TRACING="true", HTTPS_PROXY=proxy.url, https_proxy=proxy.url)
        started = time.monotonic()
        # the library logs and never prints (a NullHandler): an application that configures
        # logging sees the warning, once
        child = "import logging; logging.basicConfig()\n" + RUN
        out = subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=120
        )
        elapsed = time.monotonic() - started
        assert out.returncode == 0, out.stderr
        assert proxy.paths() == []
    warnings = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "LANGSMITH_API_KEY" in warnings[0], out.stderr
    assert elapsed < 15  # no wait for failed uploads at exit


def test_without_tracing_nothing_is_sent_and_nothing_is_said() -> None:
    with FakeLangSmith() as proxy:
        env = _env(HTTPS_PROXY=proxy.url, https_proxy=proxy.url, LANGSMITH_API_KEY="k")
        out = subprocess.run(
            [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0 and out.stderr == ""
        assert proxy.paths() == []
