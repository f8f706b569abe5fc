"""A remote A2A agent as a specialist: peers built with `a2a-sdk` alone, on loopback HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentorch import Agent, RunFailed, Team
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st
from tests.protocols.conftest import serving
from tests.scale.conftest import need_module

pytestmark = [pytest.mark.slow]
pytest.importorskip("a2a", reason='`a2a-sdk` is not installed (pip install -e ".[a2a]")')

from a2a.server.agent_execution import AgentExecutor, RequestContext  # noqa: E402
from a2a.server.events import EventQueue  # noqa: E402
from a2a.server.request_handlers import DefaultRequestHandler  # noqa: E402
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes  # noqa: E402
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater  # noqa: E402
from a2a.types import (  # noqa: E402
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    Task,
    TaskState,
    TaskStatus,
)
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.middleware.base import BaseHTTPMiddleware  # noqa: E402

from agentorch import a2a_agent  # noqa: E402


class Peer(AgentExecutor):
    """A remote agent as the a2a-sdk samples write one: streams its findings word by word, or
    (by the words in the request) asks for input, or works slowly."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.cancelled: list[str] = []
        self.headers: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message and context.task_id and context.context_id
        text = context.get_user_input()
        self.asked.append(text)
        await event_queue.enqueue_event(
            Task(
                id=context.task_id,
                context_id=context.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[context.message],
            )
        )
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.start_work()
        if "ask me" in text:
            await updater.requires_input(updater.new_agent_message([Part(text="Which market do you mean?")]))
            return
        if "slowly" in text:
            await asyncio.sleep(30)
        words = ["Findings:", "cells", "are", "small."]
        for i, word in enumerate(words):
            await updater.add_artifact(
                [Part(text=word if i == 0 else " " + word)],
                artifact_id="findings",
                name="findings",
                append=i > 0,
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.cancelled.append(context.task_id or "")
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


def peer_app(executor: Peer, url: str) -> Starlette:
    card = AgentCard(
        name="Cell Facts",
        description="Knows facts about battery cells.",
        version="1.0.0",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id="facts", name="cell facts", description="answers questions about cells", tags=["facts"]
            )
        ],
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", protocol_version="1.0", url=url + "/")
        ],
    )
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card)

    class Headers(BaseHTTPMiddleware):
        async def dispatch(self, request: Any, call_next: Any) -> Any:
            executor.headers.append(request.headers.get("authorization", ""))
            return await call_next(request)

    return Starlette(
        routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, rpc_url="/")],
        middleware=[Middleware(Headers)],
    )


@pytest.fixture(autouse=True)
def _installed() -> None:
    need_module("a2a", "a2a")


def _team(
    remote: Agent, description: str = "find facts about cells", **settings: Any
) -> tuple[Team, ScriptedChatModel]:
    llm = ScriptedChatModel(
        {
            "planner": [
                plan(st("find", remote.name, description=description), st("write", "writer", "find"))
            ],
            "writer": ["Brief: cells are small."],
            "critic": [ACCEPT],
            "synthesizer": ["Cells are small."],
        }
    )
    return Team(agents=[remote, Agent(name="writer", role="Writes")], llm=llm, name="brief", **settings), llm


async def test_a_remote_agent_works_a_subtask_and_streams_its_text() -> None:
    peer = Peer()
    with serving(lambda url: peer_app(peer, url)) as url:
        remote = await a2a_agent(url, headers={"Authorization": "Bearer s3cret"})
        assert remote.name == "Cell-Facts"
        assert (
            remote.role
            == "Knows facts about battery cells. Skills: cell facts: answers questions about cells."
        )
        team, llm = _team(remote)
        events = [ev async for ev in team.astream("Brief me on cells", thread_id="t-remote", tokens=True)]
        result = await team.aresult("t-remote")
    assert result.status == "completed"
    assert (
        result.results["find"].output == "Findings: cells are small."
        and result.results["find"].agent == "Cell-Facts"
    )
    assert "find facts about cells" in peer.asked[0]  # the sub-task's prompt reached the remote agent
    assert set(peer.headers) == {"Bearer s3cret"}  # every request carried the caller's headers
    assert "Knows facts about battery cells. Skills: cell facts" in str(llm.calls_for("planner")[0].messages)
    kinds = [
        (e["type"], e.get("subtask_id"))
        for e in events
        if e["type"] in ("subtask_started", "subtask_finished")
    ]
    assert kinds[:2] == [("subtask_started", "find"), ("subtask_finished", "find")]
    tokens = [e["text"] for e in events if e["type"] == "token" and e["subtask_id"] == "find"]
    assert tokens == ["Findings:", " cells", " are", " small."]
    assert "Findings: cells are small." in llm.calls_for("writer")[0].messages[-1].content
    assert result.usage.by_role["Cell-Facts"].calls == 1


async def test_a_remote_agent_asking_for_input_fails_the_subtask_and_its_task_is_cancelled() -> None:
    from langgraph.types import RetryPolicy

    peer = Peer()
    with serving(lambda url: peer_app(peer, url)) as url:
        team, _ = _team(await a2a_agent(url), description="ask me first", retry=RetryPolicy(max_attempts=1))
        with pytest.raises(RunFailed, match="asked for input .*Which market do you mean"):
            await team.arun("Brief me", thread_id="t-input")
        assert len(peer.cancelled) == 1


async def test_a_timeout_cancels_the_remote_task_and_a_dead_server_fails_the_run() -> None:
    from langgraph.types import RetryPolicy

    peer = Peer()
    with serving(lambda url: peer_app(peer, url)) as url:
        remote = await a2a_agent(url)
        team, _ = _team(
            remote, description="work slowly", retry=RetryPolicy(max_attempts=1), model_timeout=1.0
        )
        with pytest.raises(RunFailed, match="model_timeout"):
            await team.arun("Brief me", thread_id="t-slow")
        for _ in range(100):  # the cancel reaches the peer a moment after the call gave up
            if peer.cancelled:
                break
            await asyncio.sleep(0.05)
        assert len(peer.cancelled) == 1
    # the server is gone: the sub-task fails with what happened, and the run can be resumed
    team, _ = _team(remote, retry=RetryPolicy(max_attempts=2, initial_interval=0.01))
    with pytest.raises(RunFailed, match="call to A2A agent `Cell Facts` failed: .*connection") as failed:
        await team.arun("Brief me", thread_id="t-dead")
    assert failed.value.result.status == "failed"


async def test_a_served_team_is_a_specialist_of_another_team() -> None:
    from agentorch import a2a_app

    inner = Team(
        agents=[Agent(name="researcher", role="Finds facts")],
        llm=ScriptedChatModel(
            {
                "planner": [plan(st("facts", "researcher"))],
                "researcher": ["cells are small"],
                "critic": [ACCEPT],
                "synthesizer": ["The inner answer: cells are small."],
            }
        ),
        name="inner-research",
    )
    with serving(lambda url: a2a_app(inner, url + "/")) as url:
        remote = await a2a_agent(url, name="research")
        assert "researcher: Finds facts" in remote.role
        team, _ = _team(remote)
        result = await team.arun("Brief me", thread_id="t-nested")
    assert result.results["find"].output == "The inner answer: cells are small."
