"""A team served as an A2A agent, driven by `a2a-sdk`'s own client over loopback HTTP."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st
from tests.mcp.conftest import serve_http
from tests.protocols.conftest import serving
from tests.scale.conftest import free_port, need_module, stop

pytestmark = [pytest.mark.slow]

a2a = pytest.importorskip("a2a", reason='`a2a-sdk` is not installed (pip install -e ".[a2a]")')

from a2a.client import ClientConfig, create_client  # noqa: E402
from a2a.helpers.proto_helpers import get_artifact_text, get_data_parts, get_message_text  # noqa: E402
from a2a.types import (  # noqa: E402
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from a2a.utils.errors import A2AError  # noqa: E402

from agentorch import a2a_app  # noqa: E402

PUBLISHED: list[str] = []
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _installed() -> None:
    need_module("a2a", "a2a")
    PUBLISHED.clear()


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish the text."""
    PUBLISHED.append(text)
    return "published"


def _team(latency: float = 0.0, **script: Any) -> Team:
    return Team(
        agents=[
            Agent(name="finder", role="Finds facts"),
            Agent(name="writer", role="Writes and publishes", tools=[publish]),
        ],
        llm=ScriptedChatModel(script, model_name="m-1", latency=latency),
        name="newsroom",
    )


def _publishing_team() -> Team:
    return _team(
        planner=[plan(st("find", "finder"), st("write", "writer", "find"))],
        finder=["cells are small"],
        writer=[call("publish", text="cells are small"), "published the brief"],
        critic=[ACCEPT],
        synthesizer=["Brief: cells are small."],
    )


def _message(*parts: Part, task_id: str = "", context_id: str = "") -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER,
            message_id=uuid.uuid4().hex,
            parts=list(parts),
            task_id=task_id,
            context_id=context_id,
        )
    )


async def _events(client: Any, request: SendMessageRequest) -> list[Any]:
    return [ev async for ev in client.send_message(request)]


def _states(events: list[Any]) -> list[str]:
    return [TaskState.Name(ev.status_update.status.state) for ev in events if ev.HasField("status_update")]


async def _client(url: str) -> Any:
    return await create_client(url, client_config=ClientConfig(streaming=True))


async def test_a_run_streams_pauses_for_input_resumes_and_survives_a_restart() -> None:
    team = _publishing_team()
    with serving(lambda u: a2a_app(team, url=u + "/")) as url:
        client = await _client(url)
        first = await _events(client, _message(Part(text="Brief me on cells")))
        task = first[0].task
        assert TaskState.Name(task.status.state) == "TASK_STATE_SUBMITTED"
        states = _states(first)
        assert states[0] == "TASK_STATE_WORKING" and states[-1] == "TASK_STATE_INPUT_REQUIRED"
        working = [ev.status_update.status.message for ev in first if ev.HasField("status_update")][1:-1]
        kinds = [get_data_parts(m.parts)[0]["type"] for m in working]
        assert kinds[:3] == ["plan_created", "subtask_started", "subtask_finished"]
        assert get_data_parts(working[0].parts)[0]["plan"]["subtasks"][1]["agent"] == "writer"
        # the finder's text streamed as an artifact of its sub-task
        chunks = [ev.artifact_update for ev in first if ev.HasField("artifact_update")]
        assert any(
            c.artifact.artifact_id == "subtask:find" and "cells are small" in get_artifact_text(c.artifact)
            for c in chunks
        )
        paused = first[-1].status_update.status.message
        (waiting,) = get_data_parts(paused.parts)[0]["interrupts"]
        assert waiting["kind"] == "tool" and waiting["payload"]["tool"] == "publish"
        assert "approve" in get_message_text(paused) and PUBLISHED == []

        # a reply the run cannot take keeps it waiting, and says why
        again = await _events(
            client, _message(Part(text="maybe"), task_id=task.id, context_id=task.context_id)
        )
        assert _states(again) == ["TASK_STATE_INPUT_REQUIRED"]
        assert "'maybe' is not an answer" in get_message_text(again[-1].status_update.status.message)

        done = await _events(
            client,
            _message(Part(text="approve"), task_id=task.id, context_id=task.context_id),
        )
        assert _states(done)[-1] == "TASK_STATE_COMPLETED" and PUBLISHED == ["cells are small"]
        answer = [ev.artifact_update.artifact for ev in done if ev.HasField("artifact_update")][-1]
        assert (answer.artifact_id, get_artifact_text(answer)) == ("answer", "Brief: cells are small.")
        result = await team.aresult(task.id)  # the run is the team's own, on the task's thread
        assert result.status == "completed" and result.results["write"].tool_calls[0].outcome == "ok"

        # a finished task takes no more messages: A2A's own error
        with pytest.raises(A2AError, match="terminal state"):
            await _events(client, _message(Part(text="more"), task_id=task.id, context_id=task.context_id))
        await client.close()

    # a new server on the same checkpointer still knows the task
    with serving(lambda u: a2a_app(team, url=u + "/")) as url:
        client = await _client(url)
        kept = await client.get_task(GetTaskRequest(id=task.id))
        assert TaskState.Name(kept.status.state) == "TASK_STATE_COMPLETED"
        assert kept.context_id == task.context_id
        assert (
            get_artifact_text([a for a in kept.artifacts if a.artifact_id == "answer"][0])
            == "Brief: cells are small."
        )
        await client.close()


async def test_a_paused_task_is_resumed_by_a_restarted_server_with_a_json_answer() -> None:
    team = _publishing_team()
    with serving(lambda u: a2a_app(team, url=u + "/")) as url:
        client = await _client(url)
        first = await _events(client, _message(Part(text="Brief me on cells")))
        task = first[0].task
        (waiting,) = get_data_parts(first[-1].status_update.status.message.parts)[0]["interrupts"]
        await client.close()
    with serving(lambda u: a2a_app(team, url=u + "/")) as url:
        client = await _client(url)
        from a2a.helpers.proto_helpers import new_data_part

        denied = await _events(
            client,
            _message(
                new_data_part({"decisions": {waiting["id"]: False}, "by": "alice"}),
                task_id=task.id,
                context_id=task.context_id,
            ),
        )
        assert _states(denied)[-1] == "TASK_STATE_COMPLETED" and PUBLISHED == []
        (call_record,) = (await team.aresult(task.id)).results["write"].tool_calls
        assert call_record.outcome == "denied"
        await client.close()


async def test_cancel_stops_a_running_task_and_refusals_are_a2a_errors() -> None:
    team = _team(
        latency=0.5,
        planner=[plan(st("find", "finder"))],
        finder=["slow facts"],
        critic=[ACCEPT],
        synthesizer=["never"],
    )
    with serving(lambda u: a2a_app(team, url=u + "/")) as url:
        client = await _client(url)
        stream = client.send_message(_message(Part(text="Take your time")))
        task = (await anext(stream)).task
        cancelled = await client.cancel_task(CancelTaskRequest(id=task.id))
        assert TaskState.Name(cancelled.status.state) == "TASK_STATE_CANCELED"
        await _drain(stream)
        kept = await client.get_task(GetTaskRequest(id=task.id))
        assert TaskState.Name(kept.status.state) == "TASK_STATE_CANCELED"
        # the run stopped where it was: its thread holds no answer
        assert (await team.aresult(task.id)).answer == ""
        with pytest.raises(A2AError):  # not cancelable twice
            await client.cancel_task(CancelTaskRequest(id=task.id))

        with pytest.raises(A2AError, match="not supported"):
            await _events(client, _message(Part(raw=b"\x89PNG", media_type="image/png")))
        with pytest.raises(A2AError, match="takes text"):
            await _events(client, _message(Part(url="http://127.0.0.1/x.pdf")))
        await client.close()


async def _drain(stream: AsyncIterator[Any]) -> None:
    try:
        async for _ in stream:
            pass
    except (A2AError, asyncio.CancelledError):
        pass


async def test_the_agent_card_lists_the_agents_as_skills() -> None:
    with serving(lambda u: a2a_app(_publishing_team(), url="http://127.0.0.1:9/a2a")) as url:
        import httpx

        async with httpx.AsyncClient() as http:
            card = (await http.get(f"{url}/.well-known/agent-card.json")).json()
    assert card["name"] == "newsroom"
    assert [(s["id"], s["description"]) for s in card["skills"]] == [
        ("finder", "Finds facts"),
        ("writer", "Writes and publishes"),
    ]
    assert card["capabilities"]["streaming"] is True
    assert card["supportedInterfaces"][0]["url"] == "http://127.0.0.1:9/a2a"


async def test_a2a_serve_keeps_tasks_in_its_checkpoint_file_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    args = [
        "-m",
        "agentorch",
        "a2a-serve",
        "--port",
        str(port),
        "--checkpoints",
        str(tmp_path / "runs.sqlite"),
    ]
    env = {**os.environ, "AGENTORCH_MODEL": "scripted"}
    proc = serve_http(args, tmp_path / "serve.log", port, env=env, cwd=ROOT)
    try:
        client = await _client(f"http://127.0.0.1:{port}")
        events = await _events(client, _message(Part(text="Write a brief on solid-state batteries")))
        task = events[0].task
        assert _states(events)[-1] == "TASK_STATE_COMPLETED"
        answer = [ev.artifact_update.artifact for ev in events if ev.HasField("artifact_update")][-1]
        assert answer.artifact_id == "answer" and "Risks:" in get_artifact_text(answer)
        await client.close()
    finally:
        stop(proc)
    assert (
        "serving team `research` as an A2A agent at http://127.0.0.1:" in (tmp_path / "serve.log").read_text()
    )
    proc = serve_http(args, tmp_path / "serve2.log", port, env=env, cwd=ROOT)
    try:
        client = await _client(f"http://127.0.0.1:{port}")
        kept = await client.get_task(GetTaskRequest(id=task.id))
        assert (
            TaskState.Name(kept.status.state) == "TASK_STATE_COMPLETED" and kept.context_id == task.context_id
        )
        await client.close()
    finally:
        stop(proc)


def test_a2a_serve_without_a_model_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentorch.cli import main

    monkeypatch.delenv("AGENTORCH_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["a2a-serve"]) == 2
    err = capsys.readouterr().err
    assert "takes its model from the environment, and none is configured" in err and "OPENAI_API_KEY" in err
