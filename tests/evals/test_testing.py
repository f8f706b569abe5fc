"""agentorch.testing: blocking real requests, and the pytest plugin as a user sees it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from agentorch import ModelRequestsBlocked
from agentorch.testing import OpenAIServer, block_model_requests

from .conftest import SUITES


def test_block_model_requests_sets_and_restores_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTORCH_BLOCK_MODEL_REQUESTS", "0")
    with block_model_requests():
        assert os.environ["AGENTORCH_BLOCK_MODEL_REQUESTS"] == "1"
    assert os.environ["AGENTORCH_BLOCK_MODEL_REQUESTS"] == "0"
    monkeypatch.delenv("AGENTORCH_BLOCK_MODEL_REQUESTS")
    with block_model_requests():
        pass
    assert "AGENTORCH_BLOCK_MODEL_REQUESTS" not in os.environ


@pytest.mark.parametrize("use_async", [False, True])
def test_a_chatopenai_built_by_hand_is_blocked_before_any_network(
    monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    monkeypatch.delenv("AGENTORCH_BLOCK_MODEL_REQUESTS", raising=False)
    # 10.255.255.1 does not answer: without the guard this would hang until the timeout
    model = ChatOpenAI(
        model="m",
        base_url="http://10.255.255.1/v1",
        api_key="sk-x",
        timeout=20,
        max_retries=0,
        use_responses_api=False,
    )
    start = time.perf_counter()
    with (
        block_model_requests(),
        pytest.raises(ModelRequestsBlocked, match="10.255.255.1/v1/chat/completions"),
    ):
        if use_async:
            import asyncio

            asyncio.run(model.ainvoke("hi"))
        else:
            model.invoke("hi")
    assert time.perf_counter() - start < 2


def test_loopback_servers_stay_reachable_while_blocked() -> None:
    with OpenAIServer(["local"]) as server, block_model_requests():
        model = ChatOpenAI(
            model="agentorch-test",
            base_url=server.base_url,
            api_key="sk-x",
            timeout=5,
            use_responses_api=False,
        )
        assert model.invoke("hi").content == "local"


PLUGIN_TEST = """
from agentorch import Agent, Team

def test_my_team(scripted_model):
    llm = scripted_model({
        "planner": [{"subtasks": [{"id": "w", "description": "Write", "agent": "writer"}]}],
        "writer": ["Hi!"], "critic": [{"decision": "accept"}], "synthesizer": ["Hi!"],
    })
    assert Team(agents=[Agent(name="writer", role="Writes")], llm=llm).run("Greet").answer == "Hi!"
    llm.assert_complete()

def test_requests_are_blocked():
    import os
    assert os.environ["AGENTORCH_BLOCK_MODEL_REQUESTS"] == "1"
"""

UNTOUCHED_TEST = """
import os

import openai

def test_nothing_is_changed_without_asking():
    assert "AGENTORCH_BLOCK_MODEL_REQUESTS" not in os.environ
    hook = openai.OpenAI.__dict__.get("_prepare_request") or openai.OpenAI._prepare_request
    assert not getattr(hook, "_agentorch_guard", False)  # the SDK's own, not agentorch's guard
"""

FAILING_SUITE = """
team: research
model: {factory: "agentorch.graphs.research:demo_model"}
cases:
  - {id: good, goal: Write a brief, expect: {status: completed}}
  - {id: bad, goal: Write a brief, expect: {answer_contains: hydrogen}}
"""


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTORCH_BLOCK_MODEL_REQUESTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_installing_agentorch_changes_nothing_in_other_projects_tests(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text(UNTOUCHED_TEST)
    proc = _pytest(tmp_path, ".")
    assert "1 passed" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_the_pytest_plugin_gives_fixtures_and_collects_suites(tmp_path: Path) -> None:
    (tmp_path / "test_team.py").write_text(PLUGIN_TEST)
    suites = tmp_path / "evals"
    suites.mkdir()
    (suites / "mine.yaml").write_text(FAILING_SUITE)
    stray = tmp_path / "other"
    stray.mkdir()
    (stray / "stray.yaml").write_text(FAILING_SUITE)  # not under --agentorch-suites: never collected
    shipped = SUITES / "research_planning.yaml"
    proc = _pytest(
        tmp_path,
        ".",
        "--agentorch-suites",
        str(suites),
        "--agentorch-suites",
        str(shipped),
        "--agentorch-block-requests",
    )
    out = proc.stdout + proc.stderr
    assert "1 failed, 12 passed" in out, out
    assert "mine.yaml::bad" in out and "answer lacks ['hydrogen']" in out
    assert "stray" not in out
