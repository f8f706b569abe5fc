"""A tool call in flight when the process is SIGKILLed is *in doubt* on resume: it may or may not
have had its effect. Each `on_in_doubt` policy is shown on a real kill (`_in_doubt_child.py`):
"rerun" runs it again with the same key, "skip" tells the agent the outcome is unknown, "ask"
pauses for a person who sees that the call may already have run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentorch import RunResult

CHILD = str(Path(__file__).with_name("_in_doubt_child.py"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _child(mode: str, workdir: Path, policy: str, *, slow: float = 0.0) -> subprocess.Popen[str]:
    env = {**os.environ, "PAY_SECONDS": str(slow)}
    args = [sys.executable, CHILD, mode, str(workdir / "run.sqlite"), str(workdir / "calls.log"), policy]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _log(workdir: Path) -> list[list[str]]:
    path = workdir / "calls.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def _killed_mid_call(workdir: Path, policy: str) -> str:
    """Start the run, SIGKILL it while `pay` runs; the call's key."""
    proc = _child("run", workdir, policy, slow=30)
    deadline = time.monotonic() + 60
    while not any(e[0] == "start" for e in _log(workdir)):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the tool never started"
        time.sleep(0.05)
    time.sleep(0.3)  # the start record is saved in the background: let it land
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return _log(workdir)[0][1]


def _finish(mode: str, workdir: Path, policy: str) -> RunResult:
    proc = _child(mode, workdir, policy)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-4000:]
    last = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    return RunResult.model_validate(json.loads(last[len("RESULT ") :]))


def test_rerun_by_default_runs_the_call_again_with_the_same_key_recorded_as_a_second_execution(
    tmp_path: Path,
) -> None:
    key = _killed_mid_call(tmp_path, "rerun")
    result = _finish("resume", tmp_path, "rerun")
    assert result.status == "completed"
    record = result.results["pay-rent"].tool_calls[0]
    assert (record.key, record.executions, record.in_doubt, record.outcome) == (key, 2, True, "ok")
    starts = [e for e in _log(tmp_path) if e[0] == "start"]
    assert [e[1] for e in starts] == [key, key] and starts[0][2] != starts[1][2]  # two processes
    assert len(starts) == sum(c.executions for h in result.history for c in h.tool_calls)


def test_skip_tells_the_agent_the_outcome_is_unknown_and_never_runs_it_again(tmp_path: Path) -> None:
    _killed_mid_call(tmp_path, "skip")
    result = _finish("resume", tmp_path, "skip")
    record = result.results["pay-rent"].tool_calls[0]
    assert (record.outcome, record.executions, record.in_doubt) == ("unknown", 1, True)
    assert "may or may not have run" in record.error
    assert "outcome is unknown" in result.results["pay-rent"].output  # what the agent was told
    assert len([e for e in _log(tmp_path) if e[0] == "start"]) == 1


@pytest.mark.parametrize("answer", ["approve", "deny"])
def test_ask_pauses_for_a_person_who_sees_the_call_may_have_run(tmp_path: Path, answer: str) -> None:
    key = _killed_mid_call(tmp_path, "ask")
    paused = _finish("resume", tmp_path, "ask")
    assert paused.status == "interrupted"
    [pending] = paused.interrupts
    assert pending.payload["in_doubt"] is True and pending.payload["key"] == key
    assert pending.payload["tool"] == "pay" and pending.payload["args"] == {"invoice": "inv-7"}
    assert len([e for e in _log(tmp_path) if e[0] == "start"]) == 1  # nothing ran while it waits
    result = _finish(answer, tmp_path, "ask")
    record = result.results["pay-rent"].tool_calls[0]
    starts = [e for e in _log(tmp_path) if e[0] == "start"]
    if answer == "approve":
        assert (record.outcome, record.executions, record.approved_by) == ("ok", 2, "ann")
        assert [e[1] for e in starts] == [key, key]
    else:
        assert (record.outcome, record.executions) == ("unknown", 1)
        assert len(starts) == 1 and "decided not to run it again" in record.error
    assert record.in_doubt and result.status == "completed"
