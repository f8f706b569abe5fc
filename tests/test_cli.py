"""The `agentorch` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentorch import RunResult
from agentorch.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_plain_shows_plan_progress_verdicts_and_answer(capsys, tmp_path: Path) -> None:
    record = tmp_path / "run.json"
    assert main(["demo", "--plain", "--latency", "0", "--save", str(record)]) == 0
    out = capsys.readouterr().out
    assert "plan_created round=1: tech[researcher]; market[researcher]" in out
    assert "started tech [researcher]" in out and "finished brief [writer] done" in out
    assert "critic round=1: revise ['analysis']" in out
    assert "final status=completed" in out and "Risks:" in out
    result = RunResult.load(record)
    assert result.status == "completed" and result.rounds == 2
    assert result.results["analysis"].attempts == 2


def test_demo_json_streams_one_event_per_line(capsys) -> None:
    assert main(["demo", "--json", "--latency", "0"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "plan_created" and kinds[-1] == "final"
    assert {"subtask_started", "subtask_finished", "critic_verdict"} <= set(kinds)
    assert events[0]["plan"]["subtasks"][0]["id"] == "tech"


def test_demo_writes_the_text_as_the_models_write_it(capsys, tmp_path: Path) -> None:
    record = tmp_path / "run.json"
    assert main(["demo", "--plain", "--latency", "0", "--save", str(record)]) == 0
    out = capsys.readouterr().out
    result = RunResult.load(record)
    # the brief's final attempt, then the answer, each printed as it was written, then the end
    assert f"brief[writer]: {result.results['brief'].output}\nfinished brief [writer] done" in out
    assert out.count(result.answer) == 2  # written by the writer, then by the synthesizer
    assert f"synthesizer: {result.answer}\nfinal status=completed\n" in out
    # the planner's and critic's structured answers are not text
    assert "planner:" not in out and "critic:" not in out


def test_demo_json_streams_token_events_too(capsys) -> None:
    assert main(["demo", "--json", "--latency", "0"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    answer = "".join(e["text"] for e in events if e["type"] == "token" and e["role"] == "synthesizer")
    assert answer == events[-1]["answer"] and events[-1]["type"] == "final"


def test_run_without_a_model_exits_2_and_says_what_to_set(capsys, monkeypatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTORCH_MODEL"):
        monkeypatch.delenv(var, raising=False)
    assert main(["run", "Summarize the news"]) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "OPENAI_BASE_URL" in err and "AGENTORCH_MODEL" in err


def test_run_loads_a_team_file(capsys, monkeypatch) -> None:
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    assert (
        main(["run", "Brief me on batteries", "--team", str(ROOT / "graphs" / "research.py"), "--plain"]) == 0
    )
    assert "final status=completed" in capsys.readouterr().out


def test_run_with_a_bad_team_spec_is_a_usage_error(capsys, monkeypatch) -> None:
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    assert main(["run", "x", "--team", "no/such/file.py"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", [[], ["demo"], ["run"], ["resume"], ["runs"], ["eval"], ["report"], ["mcp-serve"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentorch", *command, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert out.returncode == 0 and "usage: agentorch" in out.stdout
