"""The library speaks through `logging` under `agentorch`, and never prints."""

from __future__ import annotations

import logging

import pytest

from agentorch.graphs.research import build_team, demo_model


def test_a_run_prints_nothing(capfd) -> None:
    result = build_team(demo_model()).run("Brief me on batteries")
    assert result.status == "completed"
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_debug_logs_tell_the_story_of_a_run(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="agentorch"):
        result = build_team(demo_model()).run("Brief me on batteries", thread_id="t-log")
    records = [r for r in caplog.records if r.name.startswith("agentorch")]
    text = "\n".join(r.getMessage() for r in records)
    assert f"run {result.run_id} on thread t-log: starting" in text
    assert "thread t-log: plan_created round=1" in text
    assert "thread t-log: critic round=1: revise ['analysis']" in text
    assert "model answered role=researcher subtask=tech" in text
    assert "model answered role=planner" in text and "tokens" in text
    assert all(r.levelno <= logging.INFO for r in records)  # a healthy run warns about nothing
