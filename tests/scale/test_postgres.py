"""PostgreSQL checkpoints: a run killed in one process resumes in another, redoing nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

WORKER = str(Path(__file__).with_name("_pg_worker.py"))


def _worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, WORKER, *args], capture_output=True, text=True, timeout=120)


def _calls(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]


@pytest.mark.slow
def test_a_run_killed_in_one_process_resumes_in_another(postgres_url: str, tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    crashed = _worker(postgres_url, "pg-crash", "run", str(calls), "writer")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    first = _calls(calls)
    first_pid = first[0][0]
    # plan, both researchers (tool call + answer each), the analyst: all done; the writer died
    assert Counter(role for _, role in first) == {"planner": 1, "researcher": 4, "analyst": 1, "writer": 1}

    resumed = _worker(postgres_url, "pg-crash", "resume", str(calls))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["answer"].startswith("Solid-state batteries: investment brief")

    second = [role for pid, role in _calls(calls) if pid != first_pid]
    # only the unfinished work ran again: the writer's sub-task, then the critic's round
    # (revise analysis -> analyst + writer again), the accepting critic and the synthesizer
    assert "planner" not in second and "researcher" not in second
    assert Counter(second) == {"writer": 2, "critic": 2, "analyst": 1, "synthesizer": 1}
    assert result["results"]["tech"]["attempts"] == 1
    assert result["usage"]["by_role"]["researcher"]["calls"] == 4  # counted once, across both


@pytest.mark.slow
def test_two_workers_share_one_database_on_different_threads(postgres_url: str, tmp_path: Path) -> None:
    """Many workers, one PostgreSQL: concurrent runs on their own threads do not interfere."""
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, postgres_url, f"pg-par-{i}", "run", str(tmp_path / f"calls-{i}.txt")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["status"] == "completed"


@pytest.mark.slow
def test_a_postgres_url_as_checkpointer_serves_sync_and_async_code(postgres_url: str) -> None:
    import asyncio

    from agentorch import Agent, Team
    from agentorch.llms import ScriptedChatModel

    def team() -> Team:
        llm = ScriptedChatModel(
            {
                "planner": lambda m: {"subtasks": [{"id": "w", "description": "Say hi", "agent": "writer"}]},
                "writer": lambda m: "Hi!",
                "critic": lambda m: {"decision": "accept"},
                "synthesizer": lambda m: "Hi!",
            }
        )
        return Team(
            agents=[Agent(name="writer", role="Writes")],
            llm=llm,
            approve_plan=True,
            checkpointer=postgres_url,
        )

    with team() as t:
        assert t.run("Greet", thread_id="pg-url").status == "interrupted"

    async def later() -> str:
        async with team() as t:
            return (await t.aresume("pg-url", approve=True)).answer

    assert asyncio.run(later()) == "Hi!"
    with team() as t:
        assert t.result("pg-url").status == "completed"
