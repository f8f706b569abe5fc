"""A team as an A2A agent, with the official `a2a-sdk` (`pip install "agentorch[a2a]"`).

`a2a_app(team, url=...)` is an ASGI (Starlette) app serving the A2A JSON-RPC binding and the
agent card (`/.well-known/agent-card.json`: the team's agents as skills). Every message that
names no task starts a run (the message's text is the goal) on a thread named by the new task
id, in the team's checkpointer, and streams it:

- the plan, each sub-task's start and end, the critic's verdicts: `working` status updates, each
  with the event in one line of text and as a data part (the event as `agentorch` streams it);
- text as the models write it: artifact chunks, one artifact per sub-task (`subtask:{id}`, its
  final output once it finishes) and one for the answer (`answer`);
- a pause for a person: `input-required`, with the waiting approvals as a data part
  (`{"interrupts": [{"id", "kind", "payload"}]}`). A reply on the task resumes the run: a text
  part `approve` / `deny` (every waiting approval), or a data part
  `{"approve": ...}` / `{"decisions": {id: answer}, "approve_all": ..., "by": ...}` — the answers
  `team.resume` takes. A reply the run cannot take keeps the task `input-required` and says why;
- the end: `completed` (also for `max_rounds` and `budget_exhausted`, said in the status
  message), `rejected` when a person rejected the plan, `failed` with the error.

The A2A task itself is kept in the same checkpointer, on the run's thread under its own
checkpoint namespace, whenever its state changes: a restarted server answers `tasks/get` for old
tasks and resumes paused ones. What the team cannot do is refused with A2A's own errors: files
and URLs as input (`ContentTypeNotSupportedError`), an empty goal (`InvalidParamsError`), a
message to a task that is still working (`UnsupportedOperationError`); the SDK refuses push
notifications and messages to finished tasks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from agentorch._engine.events import Event, describe_event, event_to_json
from agentorch._errors import ConfigError, RunFailed

if TYPE_CHECKING:
    from a2a.server.agent_execution import RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.tasks import TaskUpdater
    from a2a.types import AgentCard, Message, Part
    from starlette.applications import Starlette

    from agentorch._team import Team

__all__ = ["a2a_app", "agent_card"]

log = logging.getLogger("agentorch")

_INSTALL = 'A2A support needs the `a2a` extra: pip install "agentorch[a2a]"'
_NAMESPACE = "a2a_task"
"""The checkpoint namespace, on the run's own thread, that holds the A2A task."""
_YES = frozenset({"approve", "approved", "yes", "y", "ok", "true"})
_NO = frozenset({"deny", "denied", "no", "n", "reject", "false"})


def _sdk() -> Any:
    try:
        import a2a.types
    except ImportError as e:
        raise ConfigError(f"{_INSTALL} ({e.name} is missing).") from None
    return a2a.types


def agent_card(team: Team, url: str, *, version: str | None = None) -> AgentCard:
    """The A2A agent card of `team` served at `url`: its agents as skills, streaming on."""
    types = _sdk()
    from agentorch import __version__

    return types.AgentCard(
        name=team.name,
        description=f"A team of {len(team.agents)} agents ({', '.join(team.agent_names)}): a planner "
        "splits the goal into sub-tasks, the agents work on them, a critic reviews the results.",
        version=version or __version__,
        capabilities=types.AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            types.AgentSkill(id=a.name, name=a.name, description=a.role or a.name, tags=["agentorch"])
            for a in team.agents
        ],
        supported_interfaces=[
            types.AgentInterface(protocol_binding="JSONRPC", protocol_version="1.0", url=url)
        ],
    )


def a2a_app(team: Team, url: str = "http://127.0.0.1:8000/") -> Starlette:
    """An ASGI app serving `team` as an A2A agent at `url` (JSON-RPC at its path, the card at
    `/.well-known/agent-card.json`). Run it with any ASGI server, e.g.
    `uvicorn.run(a2a_app(team, url), port=8000)`, or `agentorch a2a-serve --team ...`."""
    _sdk()
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from starlette.applications import Starlette

    card = agent_card(team, url)
    handler = DefaultRequestHandler(
        agent_executor=_executor(team),
        task_store=_checkpointed_store(team),
        agent_card=card,
        validate_input_modes=True,
    )
    path = "/" + url.split("://", 1)[-1].partition("/")[2]
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, rpc_url=path)])


def _executor(team: Team) -> Any:
    from a2a.server.agent_execution import AgentExecutor

    class TeamExecutor(_TeamExecutor, AgentExecutor):
        pass

    return TeamExecutor(team)


class _TeamExecutor:
    """Runs and resumes the team for A2A requests (made an `a2a` `AgentExecutor` by `_executor`)."""

    def __init__(self, team: Team) -> None:
        self.team = team

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        from a2a.helpers.proto_helpers import new_task_from_user_message
        from a2a.server.tasks import TaskUpdater
        from a2a.types import TaskState
        from a2a.utils.errors import (
            ContentTypeNotSupportedError,
            InvalidParamsError,
            UnsupportedOperationError,
        )

        message = context.message
        if message is None or not context.task_id or not context.context_id:
            raise InvalidParamsError(message="A message is required.")
        if any(p.HasField("raw") or p.HasField("url") for p in message.parts):
            raise ContentTypeNotSupportedError(
                message=f"Team `{self.team.name}` takes text (the goal) and JSON (approval answers), not files."
            )
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        task = context.current_task
        if task is None:
            goal = context.get_user_input().strip()
            if not goal:
                raise InvalidParamsError(message="The message has no text: send the goal as a text part.")
            await event_queue.enqueue_event(new_task_from_user_message(message))
            await updater.start_work()
            events = self.team.astream(goal, thread_id=context.task_id, tokens=True)
        elif task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            by = context.call_context.user.user_name if context.call_context.user.is_authenticated else None
            try:
                answers = _answers(message, by)
                events = self.team.aresume_stream(context.task_id, tokens=True, **answers)
                first = await anext(aiter(events), None)
            except ConfigError as e:
                await updater.requires_input(_message(updater, f"{e} Reply again.", None))
                return
            except RunFailed as e:  # failed before its first event
                await updater.failed(_message(updater, str(e), {"status": "failed"}))
                return
            await updater.start_work()
            events = _chain(first, events)
        else:
            raise UnsupportedOperationError(
                message=f"Task {context.task_id} is {TaskState.Name(task.status.state)}: it takes a "
                "message only while it waits for input."
            )
        await _relay(events, updater)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        from a2a.server.tasks import TaskUpdater

        # the SDK has cancelled `execute` already: the run stopped at its last checkpoint
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


async def _chain(first: Event | None, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    if first is not None:
        yield first
        async for ev in rest:
            yield ev


async def _relay(events: AsyncIterator[Event], updater: TaskUpdater) -> None:
    """Stream a run's events as A2A status and artifact updates, and end the task as it ended."""
    from a2a.types import Part, TaskState

    streamed: set[str] = set()  # artifacts that got a chunk already
    try:
        async for ev in events:
            if ev["type"] == "token":
                artifact = "answer" if ev["subtask_id"] is None else f"subtask:{ev['subtask_id']}"
                await updater.add_artifact(
                    [Part(text=ev["text"])],
                    artifact_id=artifact,
                    name=artifact,
                    append=artifact in streamed,
                )
                streamed.add(artifact)
            elif ev["type"] == "interrupted":
                waiting = [p.model_dump(mode="json") for p in ev["interrupts"]]
                text = describe_event(ev) + ". Reply `approve` or `deny`, or with JSON answers."
                await updater.requires_input(_message(updater, text, {"interrupts": waiting}))
                return
            elif ev["type"] == "final":
                await updater.add_artifact(
                    [Part(text=ev["answer"])], artifact_id="answer", name="answer", last_chunk=True
                )
                text = f"status: {ev['status']}"
                state = {"rejected": TaskState.TASK_STATE_REJECTED}.get(
                    ev["status"], TaskState.TASK_STATE_COMPLETED
                )
                await updater.update_status(state, _message(updater, text, {"status": ev["status"]}))
                return
            else:
                if ev["type"] == "subtask_finished":
                    artifact = f"subtask:{ev['subtask_id']}"
                    output = ev["result"].output
                    await updater.add_artifact(
                        [Part(text=output)], artifact_id=artifact, name=artifact, last_chunk=True
                    )
                    streamed.discard(artifact)
                await updater.update_status(
                    TaskState.TASK_STATE_WORKING, _message(updater, describe_event(ev), event_to_json(ev))
                )
    except RunFailed as e:
        await updater.failed(_message(updater, str(e), {"status": "failed", "thread_id": e.result.thread_id}))
        return
    except ConfigError as e:  # e.g. a price missing under a money budget: nothing ran
        await updater.failed(_message(updater, str(e), {"status": "failed"}))
        return
    await updater.failed(_message(updater, "The run ended without an answer.", None))


def _message(updater: TaskUpdater, text: str, data: Mapping[str, Any] | None) -> Message:
    from a2a.helpers.proto_helpers import new_data_part
    from a2a.types import Part

    parts: list[Part] = [Part(text=text)]
    if data is not None:
        parts.append(new_data_part(_jsonable(data)))
    return updater.new_agent_message(parts)


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON (what a protobuf `Value` holds)."""
    return json.loads(json.dumps(value, default=str))


def _answers(message: Message, by: str | None) -> dict[str, Any]:
    """The `aresume` arguments of a reply to a paused run, or ConfigError saying what to send."""
    from a2a.helpers.proto_helpers import get_data_parts, get_text_parts

    data = [d for d in get_data_parts(message.parts) if isinstance(d, dict)]
    if data:
        reply = {k: v for d in data for k, v in d.items()}
        unknown = sorted(set(reply) - {"approve", "decisions", "approve_all", "by"})
        if unknown:
            raise ConfigError(
                f"The reply has {', '.join(f'`{k}`' for k in unknown)}: answer with `approve`, "
                "`decisions` ({interrupt id: answer}), `approve_all` and `by`."
            )
        return {"by": by, **reply}
    text = " ".join(get_text_parts(message.parts)).strip().lower().rstrip(".!")
    if text in _YES or text in _NO:
        return {"approve_all": text in _YES, "by": by}
    raise ConfigError(
        f"The run waits for approval, and the reply {text!r} is not an answer: reply `approve` or "
        '`deny`, or a data part such as {"decisions": {"<interrupt id>": true}}.'
    )


# -- the A2A tasks, kept in the team's checkpointer ------------------------------------------------


def _checkpointed_store(team: Team) -> Any:
    """A task store that keeps every task in memory and, whenever its state changes, in the
    team's checkpointer (on the run's thread, namespace `a2a_task`), so a restarted server
    finds it."""
    from a2a.server.tasks import InMemoryTaskStore
    from a2a.types import Task
    from google.protobuf import json_format
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import empty_checkpoint

    saver = team.checkpointer

    class CheckpointedTaskStore(InMemoryTaskStore):
        def __init__(self) -> None:
            super().__init__()
            self._kept: dict[str, tuple[int, Any]] = {}  # task id -> (state kept, its version)

        async def save(self, task: Task, context: Any = None) -> None:
            await super().save(task, context)
            kept = self._kept.get(task.id)
            if kept is not None and kept[0] == task.status.state:
                return  # an artifact chunk or a progress update: the next state change keeps it
            version = saver.get_next_version(kept[1] if kept else None, None)
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"task": json_format.MessageToJson(task)}
            checkpoint["channel_versions"] = {"task": version}
            config: RunnableConfig = {"configurable": {"thread_id": task.id, "checkpoint_ns": _NAMESPACE}}
            await saver.aput(
                config, checkpoint, {"source": "update", "step": -1, "parents": {}}, {"task": version}
            )
            self._kept[task.id] = (task.status.state, version)

        async def get(self, task_id: str, context: Any = None) -> Task | None:
            task = await super().get(task_id, context)
            if task is not None:
                return task
            saved = await saver.aget_tuple(
                {"configurable": {"thread_id": task_id, "checkpoint_ns": _NAMESPACE}}
            )
            if saved is None or "task" not in saved.checkpoint["channel_values"]:
                return None
            task = json_format.Parse(saved.checkpoint["channel_values"]["task"], Task())
            self._kept[task.id] = (task.status.state, saved.checkpoint["channel_versions"]["task"])
            await super().save(task, context)
            return task

    return CheckpointedTaskStore()
