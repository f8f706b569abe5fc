"""A team run killed with SIGKILL mid-flight resumes in a new process without losing or redoing work.

The child (`_crash_child.py`) runs four parallel researchers (each: model call -> slow tool ->
model call), an editor that depends only on the fastest researcher (so it starts and finishes
while the slow ones still run), and a writer that depends on all five, on an `AsyncSqliteSaver` file and a
persistent `ChromaMemory`. Every model call and tool execution appends a line to a shared log,
so we can count what ran in which process. A pending tool approval, too, outlives the process
that asked for it and is decided in another.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentorch import RunResult

CHILD = str(Path(__file__).with_name("_crash_child.py"))
RESEARCH = ("a", "b", "c", "d")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class Child:
    """A child process whose stdout lines are collected on a thread."""

    def __init__(self, mode: str, workdir: Path) -> None:
        self.stderr = workdir / f"{mode}.stderr"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                CHILD,
                mode,
                str(workdir / "run.sqlite"),
                str(workdir / "memory"),
                str(workdir / "calls.log"),
                "crash-thread",
            ],
            stdout=subprocess.PIPE,
            stderr=self.stderr.open("w"),
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def finished_subtasks(self) -> list[str]:
        return [ln.split()[2] for ln in list(self.lines) if ln.startswith("EVENT subtask_finished")]

    def wait(self) -> RunResult:
        self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        assert self.proc.returncode == 0, self.stderr.read_text()[-4000:]
        last = [ln for ln in self.lines if ln.startswith("RESULT ")][-1]
        return RunResult.model_validate(json.loads(last[len("RESULT ") :]))


def _log(workdir: Path) -> list[tuple[str, ...]]:
    path = workdir / "calls.log"
    if not path.exists():
        return []
    return [tuple(ln.split()) for ln in path.read_text(encoding="utf-8").splitlines()]


def _uninterrupted(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RunResult, list[tuple[str, ...]], list[str]]:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    result = Child("run", workdir).wait()
    return result, _log(workdir), _memory_texts(workdir)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, list[tuple[str, ...]], list[str]]:
    return _uninterrupted(tmp_path_factory)


def _memory_texts(workdir: Path) -> list[str]:
    from agentorch.memory import ChromaMemory, HashEmbeddings

    memory = ChromaMemory(workdir / "memory", namespace="crash", embedding=HashEmbeddings(dim=64))
    return sorted(f"{r.kind}|{r.text}" for r in memory.records())


# Kill points: a predicate over (finished sub-tasks seen on stdout, call log) -> kill now, and
# a grace period before the kill. LangGraph saves a task's writes in the background (in every
# durability mode), so a `subtask_finished` event can precede the checkpoint write by a few
# milliseconds; with a grace period we know what was saved and can demand that none of it ran
# again. With none, a sub-task that had just finished may repeat its in-flight work, and we
# demand only that nothing is lost or duplicated.
KILL_POINTS: dict[str, tuple[Any, float]] = {
    # tool `b` (0.7 s) is running, its model call saved; a grace long enough for a loaded machine
    # to save what was answered, short enough that `b` is still running at the kill
    "tool-b-running": (lambda done, log: ("tool-start", "b") in {r[:2] for r in log}, 0.25),
    "after-1-of-4": (lambda done, log: len(set(done) & set(RESEARCH)) >= 1, 0.2),
    "after-2-of-4": (lambda done, log: len(set(done) & set(RESEARCH)) >= 2, 0.2),
    "after-3-of-4": (lambda done, log: len(set(done) & set(RESEARCH)) >= 3, 0.2),
    # eager dispatch: the fast branch `a` and its dependent `f` finished, slow `d` still running
    "fast-branch-done-slow-running": (lambda done, log: {"a", "f"} <= set(done) and "d" not in done, 0.2),
    # the whole first wave finished; the dependent writer is working
    "writer-running": (lambda done, log: set(RESEARCH) | {"f"} <= set(done), 0.2),
    # the run's records are in memory, the `remember` step is not yet checkpointed
    "remembering": (lambda done, log: ("remembered", "-") in {r[:2] for r in log}, 0.1),
    # no grace: killed the instant the event is seen, while its write may be in flight
    "instant-after-2-of-4": (lambda done, log: len(set(done) & set(RESEARCH)) >= 2, 0.0),
}


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_sigkill_mid_wave_then_resume_loses_and_repeats_nothing(
    kill_point: str, tmp_path: Path, baseline: tuple[RunResult, list[tuple[str, ...]], list[str]]
) -> None:
    expected, expected_log, expected_memory = baseline
    should_kill, grace = KILL_POINTS[kill_point]

    first = Child("run", tmp_path)
    deadline = time.monotonic() + 60
    while not should_kill(first.finished_subtasks(), _log(tmp_path)):
        assert first.proc.poll() is None, "the run ended before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.005)
    time.sleep(grace)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert first.proc.returncode == -signal.SIGKILL
    done_before_kill = set(first.finished_subtasks())
    log_before = _log(tmp_path)
    if kill_point != "remembering":
        assert "e" not in done_before_kill  # the kill really happened mid-run
    pid1 = log_before[0][-1]

    second = Child("resume", tmp_path)
    result = second.wait()
    log_after = _log(tmp_path)
    p2 = [r for r in log_after if r[-1] != pid1]
    assert p2 and all(r[-1] == str(second.proc.pid) for r in p2)

    # the final answer and every sub-task's output equal the uninterrupted run's
    assert result.status == "completed", result.error
    assert result.answer == expected.answer
    assert {k: r.output for k, r in result.results.items()} == {
        k: r.output for k, r in expected.results.items()
    }
    # nothing lost or duplicated: one attempt per sub-task, six history entries
    assert sorted(h.subtask_id for h in result.history) == ["a", "b", "c", "d", "e", "f"]
    assert all(r.attempts == 1 and r.status == "done" for r in result.results.values())
    assert [r.executed for k in RESEARCH for r in result.results[k].tool_calls] == [True] * 4

    # memory: exactly the uninterrupted run's records, none duplicated
    assert _memory_texts(tmp_path) == expected_memory
    assert len(set(expected_memory)) == len(expected_memory)
    # work in flight at the kill is redone at most once: total calls = baseline + in-flight
    total = Counter(r[:3] for r in log_after if r[0] == "model")
    base = Counter(r[:3] for r in expected_log if r[0] == "model")
    assert not (base - total), "a model call of the uninterrupted run is missing"
    assert sum((total - base).values()) <= len(RESEARCH) + 1, total - base
    # the planner was not asked again; the run was stored in memory once, or again after a
    # crash inside that step — upserting the same records
    assert total[("model", "planner", "-")] == 1
    remembered = [r for r in log_after if r[0] == "remembered"]
    assert len(remembered) == (2 if kill_point == "remembering" else 1)
    if not grace:
        return

    # finished (saved) sub-tasks were not executed again: no model call, no tool call in process 2
    redone = (
        {r[2] for r in p2 if r[0] == "model" and r[1] == "researcher"}
        | {r[1] for r in p2 if r[0].startswith("tool")}
        | {"f" for r in p2 if r[:2] == ("model", "editor")}
    )
    assert not (redone & done_before_kill), f"re-executed after the crash: {redone & done_before_kill}"
    # no tool finished twice
    done_tools = Counter(r[1] for r in log_after if r[0] == "tool-done")
    assert done_tools == Counter(RESEARCH)
    # a tool that was running at the kill runs again (at-least-once); any other runs once
    p1 = {r[:2] for r in log_before}
    starts = Counter(r[1] for r in log_after if r[0] == "tool-start")
    assert starts == Counter(
        {t: 2 if ("tool-start", t) in p1 and ("tool-done", t) not in p1 else 1 for t in RESEARCH}
    )
    # every model call whose answer was saved is replayed, not repeated (a call in flight at the
    # kill, like the writer's 0.8 s one, logs only when it answers); tools in flight restart
    assert total == base


APPROVAL_CHILD = str(Path(__file__).with_name("_approval_child.py"))


def _step(workdir: Path, mode: str) -> RunResult:
    proc = subprocess.run(
        [sys.executable, APPROVAL_CHILD, str(workdir / "gated.sqlite"), str(workdir / "gated.log"), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return RunResult.model_validate_json(line[len("RESULT ") :])


@pytest.mark.parametrize("decision", ["approve:alice:stale_2024", "deny"])
def test_a_pending_approval_survives_the_process_and_is_decided_in_another(
    decision: str, tmp_path: Path
) -> None:
    paused = _step(tmp_path, "run")
    assert paused.status == "interrupted"
    assert paused.interrupts[0].payload["args"] == {"table": "stale"}
    assert [ln.split()[0] for ln in (tmp_path / "gated.log").read_text().splitlines()] == [
        "model"
    ]  # asked once, nothing deleted while waiting

    result = _step(tmp_path, decision)
    lines = [ln.split() for ln in (tmp_path / "gated.log").read_text().splitlines()]
    assert result.status == "completed" and result.results["clean"].output == "cleanup finished"
    record = result.results["clean"].tool_calls[0]
    # the admin's first answer was replayed from the checkpoint, not asked again
    assert [ln[:2] for ln in lines if ln[0] == "model"] == [["model", "admin"]] * 2
    assert len({ln[-1] for ln in lines if ln[0] == "model"}) == 2  # one per process
    if decision == "deny":
        assert not [ln for ln in lines if ln[0] == "tool-run"]
        assert not record.executed and "denied" in record.error
    else:
        assert [ln[:2] for ln in lines if ln[0] == "tool-run"] == [["tool-run", "stale_2024"]]
        assert record.executed and record.approved_by == "alice"
        assert record.args == {"table": "stale_2024"}
