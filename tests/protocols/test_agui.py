"""A team run as AG-UI events over SSE, read over loopback HTTP and parsed with `ag-ui-protocol`'s
own event types; the state is rebuilt from the snapshot and the JSON Patch deltas."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st
from tests.mcp.conftest import serve_http
from tests.protocols.conftest import serving
from tests.scale.conftest import free_port, need_module, stop

pytestmark = [pytest.mark.slow]
pytest.importorskip("ag_ui", reason='`ag-ui-protocol` is not installed (pip install -e ".[agui]")')

import httpx  # noqa: E402
from ag_ui.core import Event, EventType  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

from agentorch._protocols.agui import agui_app, run_state  # noqa: E402

EVENTS: TypeAdapter[Any] = TypeAdapter(Event)
PUBLISHED: list[str] = []
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _installed() -> None:
    need_module("ag_ui", "agui")
    PUBLISHED.clear()


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish the text."""
    PUBLISHED.append(text)
    return "published"


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return f"facts about {query}"


def _team() -> Team:
    return Team(
        agents=[
            Agent(name="finder", role="Finds facts", tools=[lookup]),
            Agent(name="writer", role="Writes and publishes", tools=[publish]),
        ],
        llm=ScriptedChatModel(
            {
                "planner": [plan(st("find", "finder"), st("write", "writer", "find"))],
                "finder": [call("lookup", query="cells"), "cells are small"],
                "writer": [call("publish", text="cells are small"), "published the brief"],
                "critic": [ACCEPT],
                "synthesizer": ["Brief: cells are small."],
            },
            model_name="m-1",
        ),
        name="newsroom",
    )


def _input(thread: str, **extra: Any) -> dict[str, Any]:
    return {
        "threadId": thread,
        "runId": uuid.uuid4().hex,
        "state": {},
        "messages": [{"id": "m1", "role": "user", "content": "Brief me on cells"}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **extra,
    }


def _read(url: str, body: dict[str, Any]) -> list[Any]:
    """POST a run input to the AG-UI app at `url` and parse every SSE event with AG-UI's own types."""
    return _read_at(url + "/", body)


def _read_at(endpoint: str, body: dict[str, Any]) -> list[Any]:
    events = []
    with httpx.stream("POST", endpoint, json=body, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(EVENTS.validate_python(json.loads(line[6:])))
    return events


def _state(events: list[Any], start: dict[str, Any] | None = None) -> dict[str, Any]:
    state = start
    for ev in events:
        if ev.type == EventType.STATE_SNAPSHOT:
            state = ev.snapshot
        elif ev.type == EventType.STATE_DELTA:
            state = jsonpatch.apply_patch(
                state, [op.model_dump(by_alias=True) if hasattr(op, "model_dump") else op for op in ev.delta]
            )
    assert state is not None
    return state


def _check_order(events: list[Any]) -> None:
    """What AG-UI clients require: one run, started first and finished last; text content and
    tool-call parts only inside their start and end; steps closed."""
    assert events[0].type == EventType.RUN_STARTED
    assert events[-1].type in (EventType.RUN_FINISHED, EventType.RUN_ERROR)
    open_text: set[str] = set()
    open_calls: set[str] = set()
    steps: list[str] = []
    for ev in events[1:-1]:
        assert ev.type not in (EventType.RUN_STARTED, EventType.RUN_FINISHED, EventType.RUN_ERROR)
        if ev.type == EventType.TEXT_MESSAGE_START:
            assert ev.message_id not in open_text
            open_text.add(ev.message_id)
        elif ev.type == EventType.TEXT_MESSAGE_CONTENT:
            assert ev.message_id in open_text
        elif ev.type == EventType.TEXT_MESSAGE_END:
            open_text.remove(ev.message_id)
        elif ev.type == EventType.TOOL_CALL_START:
            open_calls.add(ev.tool_call_id)
        elif ev.type == EventType.TOOL_CALL_ARGS:
            assert ev.tool_call_id in open_calls
        elif ev.type == EventType.TOOL_CALL_END:
            open_calls.remove(ev.tool_call_id)
        elif ev.type == EventType.STEP_STARTED:
            steps.append(ev.step_name)
        elif ev.type == EventType.STEP_FINISHED:
            steps.remove(ev.step_name)
    assert not open_text and not open_calls and not steps


def _texts(events: list[Any]) -> dict[str, str]:
    """The streamed text of each message, by its writer."""
    names = {ev.message_id: ev.name for ev in events if ev.type == EventType.TEXT_MESSAGE_START}
    out: dict[str, str] = {}
    for ev in events:
        if ev.type == EventType.TEXT_MESSAGE_CONTENT:
            out[names[ev.message_id]] = out.get(names[ev.message_id], "") + ev.delta
    return out


def test_a_run_streams_as_agui_events_pauses_as_an_interrupt_and_resumes() -> None:
    team = _team()
    with serving(lambda _: agui_app(team)) as url:
        first = _read(url, _input("t-agui"))
        _check_order(first)
        assert [e.type for e in first[:2]] == [EventType.RUN_STARTED, EventType.STATE_SNAPSHOT]
        assert [e.step_name for e in first if e.type == EventType.STEP_STARTED] == ["find", "write"]
        assert _texts(first) == {"finder": "cells are small"}
        (lookup_call,) = [e for e in first if e.type == EventType.TOOL_CALL_START]
        assert lookup_call.tool_call_name == "lookup"
        (result,) = [e for e in first if e.type == EventType.TOOL_CALL_RESULT]
        assert result.content == "facts about cells"
        finished = first[-1]
        assert finished.type == EventType.RUN_FINISHED and finished.outcome.type == "interrupt"
        (waiting,) = finished.outcome.interrupts
        assert waiting.reason == "tool_approval" and waiting.metadata["tool"] == "publish"
        paused = _state(first)
        assert paused["status"] == "interrupted" and paused["subtasks"]["find"]["status"] == "done"
        assert paused["subtasks"]["write"]["status"] == "running" and PUBLISHED == []
        assert paused["interrupts"][0]["id"] == waiting.id

        # an answer the tool cannot take is refused, and the run still waits
        bad = _read(
            url,
            _input(
                "t-agui",
                resume=[{"interruptId": waiting.id, "status": "resolved", "payload": {"args": {"nope": 1}}}],
            ),
        )
        assert [e.type for e in bad] == [EventType.RUN_STARTED, EventType.RUN_ERROR]
        assert bad[-1].code == "ConfigError" and team.result("t-agui").status == "interrupted"

        second = _read(
            url, _input("t-agui", resume=[{"interruptId": waiting.id, "status": "resolved", "payload": True}])
        )
        _check_order(second)
        assert PUBLISHED == ["cells are small"]
        assert _texts(second) == {"writer": "published the brief", "synthesizer": "Brief: cells are small."}
        assert [e.tool_call_name for e in second if e.type == EventType.TOOL_CALL_START] == ["publish"]
        verdicts = [e for e in second if e.type == EventType.CUSTOM and e.name == "critic_verdict"]
        assert [v.value["decision"] for v in verdicts] == ["accept"]
        done = second[-1]
        assert done.outcome.type == "success"
        assert done.result == {"status": "completed", "answer": "Brief: cells are small."}
        # the state the events built is the run's own
        final = _state(second)
        expected = run_state(team.result("t-agui"))
        for key in ("status", "answer", "plan", "verdicts", "interrupts", "usage"):
            assert final[key] == expected[key], key
        assert {k: (v["status"], v["output"]) for k, v in final["subtasks"].items()} == {
            "find": ("done", "cells are small"),
            "write": ("done", "published the brief"),
        }


def test_a_failed_run_ends_with_run_error_and_bad_input_is_refused() -> None:
    team = Team(
        agents=[Agent(name="finder", role="Finds facts")],
        llm=ScriptedChatModel({"planner": [plan(st("find", "finder"))], "finder": [ValueError("down")] * 5}),
    )
    with serving(lambda _: agui_app(team)) as url:
        events = _read(url, _input("t-fail"))
        _check_order(events)
        assert events[-1].type == EventType.RUN_ERROR and "down" in events[-1].message
        assert _state(events)["status"] == "failed"
        nothing = _read(url, _input("t-none", messages=[]))
        assert nothing[-1].type == EventType.RUN_ERROR and "no user message" in nothing[-1].message
        response = httpx.post(url + "/", json={"hello": 1})
        assert response.status_code == 422 and "RunAgentInput" in response.json()["error"]


def test_agentorch_serve_serves_the_page_and_the_agui_stream(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AGENTORCH_MODEL": "scripted"}
    proc = serve_http(
        ["-m", "agentorch", "serve", "--port", str(port)], tmp_path / "serve.log", port, env=env, cwd=ROOT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        page = httpx.get(url + "/").text
        assert "agentorch · research" in page and "connect-src 'self'" in page
        assert "<script src" not in page and "https://" not in page  # nothing loaded from elsewhere
        events = _read_at(url + "/agui", _input("t-cli"))
        _check_order(events)
        assert events[-1].type == EventType.RUN_FINISHED and events[-1].result["status"] == "completed"
        assert "Risks:" in events[-1].result["answer"]
        assert [e.step_name for e in events if e.type == EventType.STEP_STARTED][:2] == ["tech", "market"]
        assert "<table>" in httpx.get(f"{url}/usage/t-cli").text
    finally:
        stop(proc)
    assert (
        "serving team `research` as the live view at http://127.0.0.1:"
        in (tmp_path / "serve.log").read_text()
    )


def test_the_official_agui_js_client_runs_the_team(tmp_path: Path) -> None:
    """@ag-ui/client (JS) reads the stream of `agentorch serve`: its event checks pass and the
    state it builds from the snapshot and deltas is the run's. Needs node and AGUI_CLIENT_DIR."""
    import shutil
    import subprocess

    folder = os.environ.get("AGUI_CLIENT_DIR", "")
    if not shutil.which("node") or not (Path(folder) / "node_modules" / "@ag-ui" / "client").is_dir():
        pytest.skip("set AGUI_CLIENT_DIR to a folder where `npm install @ag-ui/client` ran")
    port = free_port()
    env = {**os.environ, "AGENTORCH_MODEL": "scripted"}
    proc = serve_http(
        ["-m", "agentorch", "serve", "--port", str(port)], tmp_path / "serve.log", port, env=env, cwd=ROOT
    )
    try:
        script = Path(folder) / "agui_js_client.mjs"
        shutil.copy(Path(__file__).with_name("agui_js_client.mjs"), script)
        out = subprocess.run(
            ["node", str(script), f"http://127.0.0.1:{port}/agui"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop(proc)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    types = json.loads(lines["TYPES"])
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED" and "TOOL_CALL_RESULT" in types
    state = json.loads(lines["STATE"])
    assert state["status"] == "completed" and "Risks:" in state["answer"]
    assert state["subtasks"] == ["tech", "market", "analysis", "brief"]


def test_a_plan_waiting_for_approval_is_an_interrupt_and_an_edited_plan_runs() -> None:
    team = _team()
    team.approve_plan = True
    with serving(lambda _: agui_app(team)) as url:
        first = _read(url, _input("t-plan"))
        _check_order(first)
        (waiting,) = first[-1].outcome.interrupts
        assert waiting.reason == "plan_approval" and waiting.metadata["kind"] == "plan"
        # the plan's cost quote: in the metadata, and in the message the live view shows
        assert waiting.metadata["quote"]["calls"] > 0 and "Quote: " in waiting.message
        assert _state(first)["plan"]["subtasks"][1]["id"] == "write"
        assert not [e for e in first if e.type == EventType.STEP_STARTED]  # nothing ran yet
        edited = {"subtasks": [{"id": "find", "description": "find facts about cells", "agent": "finder"}]}
        second = _read(
            url,
            _input("t-plan", resume=[{"interruptId": waiting.id, "status": "resolved", "payload": edited}]),
        )
        _check_order(second)
    assert second[-1].outcome.type == "success"
    assert [e.step_name for e in second if e.type == EventType.STEP_STARTED] == [
        "find"
    ]  # the edited plan ran
    assert [st["id"] for st in _state(second)["plan"]["subtasks"]] == ["find"]
