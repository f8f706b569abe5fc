"""The run record: everything a later reader needs, saved and loaded as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentorch import ConfigError, RunResult


def test_record_holds_plans_attempts_verdicts_and_answer(demo_result: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    demo_result.save(path)
    loaded = RunResult.load(path)
    assert loaded == demo_result
    assert loaded.status == "completed" and loaded.rounds == 2 and loaded.answer
    assert loaded.run_id and loaded.thread_id
    assert [p.subtasks[0].id for p in loaded.plans] == ["tech"]
    # every attempt: the first analysis and brief and their revisions
    assert [(h.subtask_id, h.attempts, h.round) for h in loaded.history if h.subtask_id == "analysis"] == [
        ("analysis", 1, 1),
        ("analysis", 2, 2),
    ]
    assert len(loaded.history) == 6
    for h in loaded.history:
        assert h.model == "scripted-demo"
        assert h.usage.total_tokens > 0 and h.usage.calls >= 1
        assert 0 < h.started_at <= h.finished_at
        assert h.prompt.startswith("Goal: Brief me on solid-state batteries")
        assert h.output
    tech = next(h for h in loaded.history if h.subtask_id == "tech")
    assert tech.tool_calls[0].name == "search" and tech.tool_calls[0].executed
    assert "electrolyte" in tech.tool_calls[0].output
    analysis = [h for h in loaded.history if h.subtask_id == "analysis"]
    assert 'source="subtask:tech"' in analysis[0].context
    assert "main risks" in analysis[1].prompt  # the critic's feedback reached the second attempt
    assert [v.decision for v in loaded.verdicts] == ["revise", "accept"]
    assert loaded.verdicts[0].revise == ["analysis"]


def test_truncated_record_is_a_config_error_naming_the_file(demo_result: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    demo_result.save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ConfigError, match="cut.json"):
        RunResult.load(path)


def test_non_utf8_record_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes('{"goal": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.json"):
        RunResult.load(path)


def test_json_that_is_not_a_record_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"answer": 3}', encoding="utf-8")
    with pytest.raises(ConfigError, match="other.json"):
        RunResult.load(path)
