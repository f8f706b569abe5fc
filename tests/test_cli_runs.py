"""`agentorch run --checkpoints`, `resume` and `runs` as a user drives them: runs kept in a
SQLite file, paused for approval and answered with flags, listed, resumed after a SIGKILL, and
approvals asked in a real terminal (a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agentorch import RunResult
from agentorch.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WAITING, main

TEAM = str(Path(__file__).with_name("_cli_team.py"))
REPORT = "Report: Finding a: notes-a; Finding b: notes-b; Finding c: notes-c"


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The call log the team file writes (`model <who> <pid>`, `tool-run <table> <pid>`, ...)."""
    path = tmp_path / "calls.log"
    monkeypatch.setenv("AGENTORCH_TEST_LOG", str(path))
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    return path


def _lines(path: Path) -> list[list[str]]:
    return [ln.split() for ln in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _runs(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["runs", "--checkpoints", str(db), "--json"]) == EXIT_OK
    return {r["thread_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def _waiting_ids(stderr: str) -> dict[str, str]:
    """table -> the short approval id the pause message shows for its tool call."""
    return dict(
        (t, i)
        for i, t in re.findall(r"^\s+(\w{8})\s+tool delete_records\(\{\"table\": \"(\w+)\"\}\)", stderr, re.M)
    )


# -- in process: pause, flags, listing --------------------------------------------------------


def test_a_paused_run_says_how_to_resume_and_flags_decide_each_approval(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, record = tmp_path / "runs.sqlite", tmp_path / "run.json"
    run = ["run", "Clean up", "--team", f"{TEAM}:gated", "--checkpoints", str(db), "--thread-id", "g1"]
    assert main([*run, "--plain", "--no-input"]) == EXIT_WAITING
    err = capsys.readouterr().err
    assert "thread g1 · checkpoints" in err
    assert f"agentorch resume g1 --checkpoints {db} --approve" in err
    ids = _waiting_ids(err)
    assert set(ids) == {"stale_x", "stale_y"}

    listed = _runs(db, capsys)["g1"]
    assert (listed["goal"], listed["status"], listed["waiting"], listed["rounds"]) == (
        "Clean up",
        "interrupted",
        2,
        1,
    )
    assert (listed["team"], listed["started_by"]) == ("gated", f"run {TEAM}:gated")

    # wrong answers are refused and the run keeps waiting
    resume = ["resume", "g1", "--checkpoints", str(db), "--plain", "--no-input"]
    assert main([*resume, "--approve", "zzzzzzzz"]) == EXIT_USAGE
    assert "`zzzzzzzz` matches no waiting approval" in capsys.readouterr().err
    assert main([*resume, "--approve", ids["stale_x"]]) == EXIT_USAGE
    assert f"No answer for {ids['stale_y']}" in capsys.readouterr().err
    assert main([*resume, "--edit", ids["stale_x"], "[1, 2]", "--deny"]) == EXIT_USAGE
    assert "must be a JSON object" in capsys.readouterr().err
    assert main([*resume, "--edit", ids["stale_x"], '{"table": 5}', "--deny"]) == EXIT_USAGE
    assert "do not fit `delete_records`: table: Input should be a valid string" in capsys.readouterr().err
    assert not [ln for ln in _lines(log) if ln[0] == "tool-run"]
    assert _runs(db, capsys)["g1"]["status"] == "interrupted"
    # a thread started again is refused: it holds a run
    assert main([*run, "--plain"]) == EXIT_USAGE
    assert "agentorch resume g1" in capsys.readouterr().err

    code = main(
        [
            *resume,
            "--edit",
            ids["stale_x"],
            '{"table": "edited"}',
            "--deny",
            "--by",
            "bob",
            "--save",
            str(record),
        ]
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "final status=completed" in out and "plan_created" not in out  # only what is new
    assert [ln[:2] for ln in _lines(log) if ln[0] == "tool-run"] == [["tool-run", "edited"]]
    result = RunResult.load(record)
    x, y = result.results["x"].tool_calls[0], result.results["y"].tool_calls[0]
    assert (x.executed, x.args, x.approved_by) == (True, {"table": "edited"}, "bob")
    assert y.executed is False
    assert result.answer == "Report: Outcome x: deleted edited; Outcome y: not deleted"
    assert _runs(db, capsys)["g1"]["status"] == "completed"
    assert main(resume) == EXIT_USAGE
    assert "has already finished (status completed)" in capsys.readouterr().err


def test_without_a_checkpoint_file_a_pause_says_nothing_was_kept(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "Clean up", "--team", f"{TEAM}:gated", "--plain", "--no-input"]) == EXIT_WAITING
    err = capsys.readouterr().err
    assert "checkpoints are in memory and end with this process" in err and "agentorch resume" not in err


def test_plan_approval_from_flags_with_an_edited_plan_file(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.sqlite"
    run = ["run", "Report", "--team", f"{TEAM}:parallel", "--checkpoints", str(db), "--thread", "p"]
    assert main([*run, "--approve-plan", "--plain", "--no-input"]) == EXIT_WAITING
    plan_id = re.search(r"^\s+(\w{8})\s+plan: a, b, c, e$", capsys.readouterr().err, re.M).group(1)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"subtasks": [{"id": "a", "description": "Research a", "agent": "ghost"}]}))
    resume = ["resume", "p", "--checkpoints", str(db), "--plain"]
    assert main([*resume, "--edit", plan_id, f"@{plan}"]) == EXIT_USAGE
    assert "unknown agent" in capsys.readouterr().err.lower()
    plan.write_text(
        json.dumps({"subtasks": [{"id": "a", "description": "Research a", "agent": "researcher"}]})
    )
    assert main([*resume, "--edit", plan_id, f"@{plan}"]) == EXIT_OK
    assert "synthesizer: Report: Finding a: notes-a\nfinal status=completed\n" in capsys.readouterr().out
    assert {ln[1] for ln in _lines(log) if ln[0] == "model"} == {
        "planner",
        "researcher:a",
        "critic",
        "synthesizer",
    }


def test_a_denied_plan_ends_the_run_rejected(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.sqlite"
    run = ["run", "Report", "--team", f"{TEAM}:parallel", "--checkpoints", str(db), "--thread", "p"]
    assert main([*run, "--approve-plan", "--plain", "--no-input"]) == EXIT_WAITING
    assert main(["resume", "p", "--checkpoints", str(db), "--plain", "--deny"]) == EXIT_FAILED
    assert "final status=rejected" in capsys.readouterr().out
    assert _runs(db, capsys)["p"]["status"] == "rejected"
    assert [ln[1] for ln in _lines(log)] == ["planner"]


def test_resume_and_runs_say_what_is_wrong(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.sqlite"
    assert main(["runs", "--checkpoints", str(missing)]) == EXIT_USAGE
    assert "No checkpoint file" in capsys.readouterr().err and not missing.exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database " * 100)
    assert main(["runs", "--checkpoints", str(junk)]) == EXIT_USAGE
    assert "is not a usable SQLite checkpoint file" in capsys.readouterr().err
    db = tmp_path / "runs.sqlite"
    assert (
        main(["run", "Report", "--team", f"{TEAM}:parallel", "--checkpoints", str(db), "--plain"]) == EXIT_OK
    )
    assert main(["resume", "nope", "--checkpoints", str(db)]) == EXIT_USAGE
    assert f"`agentorch runs --checkpoints {db}` lists them" in capsys.readouterr().err


def test_runs_lists_threads_started_from_python_and_resume_needs_their_team(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agentorch.cli import load_team

    db = tmp_path / "runs.sqlite"

    async def start() -> str:
        async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
            team = load_team(f"{TEAM}:gated")
            team.checkpointer = saver
            return (await team.arun("Clean from Python", thread_id="py")).status

    assert asyncio.run(start()) == "interrupted"
    listed = _runs(db, capsys)["py"]
    assert (listed["goal"], listed["status"], listed["team"]) == ("Clean from Python", "interrupted", "gated")
    assert listed["started_by"] == ""
    assert main(["resume", "py", "--checkpoints", str(db), "--approve"]) == EXIT_USAGE
    assert "pass `--team path/to/team.py[:attr]`" in capsys.readouterr().err
    assert (
        main(["resume", "py", "--checkpoints", str(db), "--team", f"{TEAM}:gated", "--approve", "--plain"])
        == 0
    )
    assert sorted(ln[1] for ln in _lines(log) if ln[0] == "tool-run") == ["stale_x", "stale_y"]


# -- processes: a crash, and a person at a terminal ---------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentorch", *args]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_run_killed_mid_flight_resumes_without_redoing_finished_subtasks(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.sqlite"
    first = subprocess.Popen(
        _cli(
            "run", "Report on three topics", "--team", f"{TEAM}:parallel", "--checkpoints", str(db), "--plain"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    thread = re.match(r"thread (\w+) · checkpoints", first.stderr.readline()).group(1)  # type: ignore[union-attr]
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(first.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 60
    while sum(ln.startswith(("finished a ", "finished b ")) for ln in list(seen)) < 2:
        assert first.poll() is None and time.monotonic() < deadline, "a and b never finished"
        time.sleep(0.005)
    time.sleep(0.2)  # their checkpoint writes land (saved in the background)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    assert not any(ln.startswith("finished c ") for ln in seen)  # killed mid-run
    pid1 = _lines(log)[0][-1]

    assert _runs(db, capsys)[thread]["status"] == "unfinished"
    second = subprocess.run(
        _cli("resume", thread, "--checkpoints", str(db), "--plain"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    assert f"synthesizer: {REPORT}\nfinal status=completed\n" in second.stdout
    assert "finished a " not in second.stdout and "finished b " not in second.stdout
    after = [ln for ln in _lines(log) if ln[-1] != pid1]
    # finished sub-tasks ran nothing again: no model call, no tool call for a or b
    assert not [ln for ln in after if ln[1] in ("researcher:a", "researcher:b", "a", "b")], after
    assert Counter(ln[1] for ln in _lines(log) if ln[0] == "tool-done") == Counter("abc")
    assert [ln[1] for ln in after if ln[0] == "model" and not ln[1].startswith("researcher")] == [
        "writer",
        "critic",
        "synthesizer",
    ]
    listed = _runs(db, capsys)[thread]
    assert (listed["status"], listed["rounds"], listed["goal"]) == ("completed", 1, "Report on three topics")


def _terminal(*args: str, env: dict[str, str] | None = None):  # -> pexpect.spawn
    pexpect = pytest.importorskip("pexpect")
    full = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", **(env or {})}
    for var in ("EDITOR", "VISUAL"):
        if env is None or var not in env:
            full.pop(var, None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "agentorch", *args],
        env=full,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_terminal_asks_about_each_waiting_tool_call_one_by_one(tmp_path: Path, log: Path) -> None:
    term = _terminal("run", "Clean up", "--team", f"{TEAM}:gated", "--by", "alice", "--plain")
    tables = []
    for n in (1, 2):
        term.expect(rf"Approve a tool call \({n} of 2\)\? \[\w+\] `delete_records` for sub-task `(\w)`")
        tables.append(term.match.group(1))
        term.expect(r"\[q\]uit \(decide later\)\? ")
        if n == 1:
            term.sendline("maybe")
            term.expect("Please answer with a, d, e or q")
            term.sendline("a")
        else:  # edit, without $EDITOR: typed on one line; bad JSON is asked again
            term.sendline("e")
            term.expect("Type the arguments as JSON on one line")
            term.expect("> ")
            term.sendline("{table: oops}")
            term.expect("That is not valid JSON")
            term.expect(r"\? ")
            term.sendline("e")
            term.expect("> ")
            term.sendline('{"table": 5}')  # valid JSON, but not what the tool takes: asked again
            term.expect("do not fit `delete_records`: table: Input should be a valid string")
            term.expect(r"\? ")
            term.sendline("e")
            term.expect("> ")
            term.sendline('{"table": "edited"}')
    term.expect("final status=completed")
    term.expect(pexpect_eof())
    term.close()
    assert term.exitstatus == 0
    assert sorted(tables) == ["x", "y"]
    # the first call ran as asked, the second with the edited arguments (in parallel: any order)
    assert sorted(ln[1] for ln in _lines(log) if ln[0] == "tool-run") == sorted(
        [f"stale_{tables[0]}", "edited"]
    )


def pexpect_eof():  # the EOF pattern, imported lazily like pexpect itself
    import pexpect

    return pexpect.EOF


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_plan_is_edited_in_the_editor_at_a_terminal(tmp_path: Path, log: Path) -> None:
    db = tmp_path / "runs.sqlite"
    editor = tmp_path / "editor.py"  # keeps the first sub-task of the plan it is given
    editor.write_text(
        "import json, sys\n"
        "plan = json.load(open(sys.argv[1]))\n"
        "plan['subtasks'] = plan['subtasks'][:1]\n"
        "json.dump(plan, open(sys.argv[1], 'w'))\n"
    )
    run = (
        "run",
        "Report",
        "--team",
        f"{TEAM}:parallel",
        "--approve-plan",
        "--checkpoints",
        str(db),
        "--plain",
    )
    term = _terminal(*run, env={"EDITOR": f"{sys.executable} {editor}"})
    term.expect(r"Approve the plan\?")
    term.expect(r"quote: \d+ calls, [\d,]+ tokens")  # what the plan is expected to cost
    term.expect(r"\? ")
    term.sendline("e")
    term.expect("synthesizer: Report: Finding a: notes-a")  # written live, then the end
    term.expect("final status=completed")
    term.expect(pexpect_eof())
    term.close()
    assert term.exitstatus == 0
    assert {ln[1] for ln in _lines(log) if ln[0] == "model"} == {
        "planner",
        "researcher:a",
        "critic",
        "synthesizer",
    }


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_run_and_says_how_to_resume_it(tmp_path: Path, log: Path) -> None:
    db = tmp_path / "runs.sqlite"
    term = _terminal(
        "run", "Report", "--team", f"{TEAM}:parallel", "--checkpoints", str(db), "--thread", "c", "--plain"
    )
    term.expect("finished a ")
    time.sleep(0.2)  # a's checkpoint write lands (saved in the background)
    term.sendintr()
    term.expect(f"Stopped \\(continue with: agentorch resume c --checkpoints {db}\\)")
    term.expect(pexpect_eof())
    term.close()
    assert term.exitstatus == 130
    pid1 = _lines(log)[0][-1]
    done = subprocess.run(
        _cli("resume", "c", "--checkpoints", str(db), "--plain"), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"synthesizer: {REPORT}\nfinal status=completed\n" in done.stdout
    assert not [ln for ln in _lines(log) if ln[-1] != pid1 and ln[1] in ("researcher:a", "a")]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quitting_at_the_prompt_leaves_the_run_waiting_for_resume(tmp_path: Path, log: Path) -> None:
    db = tmp_path / "runs.sqlite"
    term = _terminal(
        "run", "Clean up", "--team", f"{TEAM}:gated", "--checkpoints", str(db), "--thread", "q", "--plain"
    )
    term.expect(r"\(1 of 2\)")
    term.expect(r"\? ")
    term.sendline("q")
    term.expect(f"agentorch resume q --checkpoints {db} --approve")
    term.expect(pexpect_eof())
    term.close()
    assert term.exitstatus == EXIT_WAITING
    assert not [ln for ln in _lines(log) if ln[0] == "tool-run"]
    # later, from a script (no terminal): approve all
    done = subprocess.run(
        _cli("resume", "q", "--checkpoints", str(db), "--approve", "--plain"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(ln[1] for ln in _lines(log) if ln[0] == "tool-run") == ["stale_x", "stale_y"]
    # without a terminal and without flags, resume only says what waits: nothing to answer now
    again = subprocess.run(
        _cli("resume", "q", "--checkpoints", str(db)),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == EXIT_USAGE and "has already finished" in again.stderr


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_readme_command_line_example_runs_as_written(tmp_path: Path) -> None:
    section = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    lines = re.findall(r"```bash\n(.*?)```", section, re.S)[0].strip().splitlines()
    outcomes = []
    for line in lines:
        words = line.split()
        assert words[0] == "agentorch"
        done = subprocess.run(
            _cli(*words[1:]),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        outcomes.append((done.returncode, done.stdout, done.stderr))
    assert [code for code, _, _ in outcomes] == [EXIT_WAITING, EXIT_OK, EXIT_OK], outcomes
    assert "agentorch resume brief-1 --checkpoints runs.sqlite --approve" in outcomes[0][2]
    assert re.search(r"brief-1 +interrupted \(1\)", outcomes[1][1])
    assert "final status=completed" in outcomes[2][1] and "Risks:" in outcomes[2][1]
