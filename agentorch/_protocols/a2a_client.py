"""A remote A2A agent as a specialist (`pip install "agentorch[a2a]"`).

`await a2a_agent(url)` reads the agent card at `url` and returns an `Agent` named after it, whose
role (what the planner reads) is the card's description and skills, and whose model is an
`A2AChatModel`: each model call of a sub-task sends the sub-task's prompt (the last user message)
as one A2A message and answers with the remote task's result. Being a chat model, the call is
budgeted, timed out (`Team(model_timeout=...)`), retried (`Team(retry=...)`), traced and counted
as any other: one call, no tokens (a remote agent reports none).

The text the remote agent streams (its artifact chunks) reaches `team.stream(..., tokens=True)` as
the sub-task's `Token` events. The answer is the text of its artifact named `answer` if it has
one (an agentorch team served by `a2a_app` does), else of all its artifacts, else of its last
status message. A task that fails, is rejected, is cancelled, or asks for input or auth raises
`RemoteAgentError` with the agent's own message (a sub-task failure like a model error: retried,
then the run fails and can be resumed). When the call stops before the task ends (the run was
cancelled, a timeout), the remote task is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from agentorch._agent import Agent
from agentorch._errors import AgentorchError, ConfigError
from agentorch._sync import run_sync

__all__ = ["A2AChatModel", "RemoteAgentError", "a2a_agent", "a2a_agent_sync"]

log = logging.getLogger("agentorch")

_ENDED = ("TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED")
_STOPPED = ("TASK_STATE_INPUT_REQUIRED", "TASK_STATE_AUTH_REQUIRED")


class RemoteAgentError(AgentorchError):
    """A remote A2A agent did not complete its task (failed, rejected, cancelled, or it asked
    for input agentorch cannot give), or could not be reached."""


class A2AChatModel(BaseChatModel):
    """A remote A2A agent as a chat model: the last user message in, the task's answer out."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    card: Any = Field(description="The remote agent's `AgentCard`.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers of every request (auth).")
    timeout: float = Field(default=300.0, description="Seconds for each HTTP read.")

    @property
    def _llm_type(self) -> str:
        return "a2a"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.card.name}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return run_sync(self._agenerate(messages, stop, None, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message_id = f"lc_run--{run_manager.run_id}" if run_manager else uuid.uuid4().hex

        async def streamed(text: str) -> None:
            if run_manager is not None and text:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, id=message_id))
                await run_manager.on_llm_new_token(text, chunk=chunk)

        answer = await self.ask(_prompt(messages), streamed)
        message = AIMessage(
            content=answer,
            id=message_id,
            response_metadata={"model_name": self.card.name, "model_provider": "a2a"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def ask(self, text: str, streamed: Any = None) -> str:
        """Send `text` as one message; the task's answer (see the module doc). `streamed(text)`
        is awaited with every artifact chunk as it arrives."""
        import httpx
        from a2a.client import ClientConfig, create_client
        from a2a.client.errors import A2AClientError
        from a2a.helpers.proto_helpers import get_artifact_text, get_message_text
        from a2a.types import CancelTaskRequest, Message, Part, Role, SendMessageRequest, TaskState

        http = httpx.AsyncClient(headers=self.headers, timeout=self.timeout)
        client = await create_client(self.card, client_config=ClientConfig(httpx_client=http, streaming=True))
        request = SendMessageRequest(
            message=Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[Part(text=text)])
        )
        task_id, state, said = "", "", ""
        artifacts: dict[str, tuple[str, str]] = {}  # id -> (name, text so far)
        try:
            async for event in client.send_message(request):
                if event.HasField("message"):  # a direct answer, no task
                    return get_message_text(event.message)
                if event.HasField("task"):
                    task_id, state = event.task.id, TaskState.Name(event.task.status.state)
                    for a in event.task.artifacts:
                        artifacts[a.artifact_id] = (a.name, get_artifact_text(a, delimiter=""))
                elif event.HasField("artifact_update"):
                    update = event.artifact_update
                    chunk = get_artifact_text(update.artifact, delimiter="")
                    name, before = artifacts.get(update.artifact.artifact_id, (update.artifact.name, ""))
                    artifacts[update.artifact.artifact_id] = (
                        name,
                        before + chunk if update.append else chunk,
                    )
                    if streamed is not None and (update.append or not before):
                        await streamed(chunk)
                elif event.HasField("status_update"):
                    status = event.status_update.status
                    state = TaskState.Name(status.state)
                    if status.HasField("message"):
                        said = get_message_text(status.message)
                if state in _ENDED or state in _STOPPED:
                    break
        except (A2AClientError, httpx.HTTPError, OSError) as e:
            raise RemoteAgentError(f"The call to A2A agent `{self.card.name}` failed: {e}") from e
        finally:
            if task_id and state not in _ENDED:  # stopped early: a timeout, a cancelled run, input asked
                await _cancel(client, CancelTaskRequest(id=task_id), self.card.name)
            await client.close()
            await http.aclose()
        if state != "TASK_STATE_COMPLETED":
            what = {
                "TASK_STATE_INPUT_REQUIRED": "asked for input (agentorch cannot relay it yet)",
                "TASK_STATE_AUTH_REQUIRED": "asked for authentication",
            }.get(state, f"ended {state.removeprefix('TASK_STATE_').lower() or 'without a state'}")
            raise RemoteAgentError(f"The A2A agent `{self.card.name}` {what}: {said or '(no message)'}")
        named = [t for n, t in artifacts.values() if n == "answer"]
        if named:
            return named[-1]
        return "\n".join(t for _, t in artifacts.values()) or said


async def _cancel(client: Any, request: Any, name: str) -> None:
    try:  # shielded: the call may be stopping because its own task was cancelled
        await asyncio.shield(asyncio.wait_for(client.cancel_task(request), 10))
    except Exception as e:  # the task may have ended meanwhile: nothing to undo
        log.info("cancelling the task of A2A agent %s: %s", name, e)


def _prompt(messages: list[BaseMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return m.text
    raise ConfigError("An A2A agent needs a user message to send.")


async def a2a_agent(
    url: str,
    *,
    name: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> Agent:
    """An `Agent` whose work is done by the A2A agent at `url` (see the module doc).

    Args:
        url: the agent's base URL (its card is at `/.well-known/agent-card.json`).
        name: the agent's name in the team (default: the card's name, made a valid name).
        headers: HTTP headers for every request, e.g. `{"Authorization": "Bearer ..."}`.
        timeout: seconds for each HTTP read (the whole call is bounded by `model_timeout`).
    """
    import httpx

    try:
        from a2a.client import A2ACardResolver
    except ImportError as e:
        raise ConfigError(
            f'A2A support needs the `a2a` extra: pip install "agentorch[a2a]" ({e.name} is missing).'
        ) from None
    try:
        async with httpx.AsyncClient(headers=dict(headers or {}), timeout=timeout) as http:
            card = await A2ACardResolver(http, url).get_agent_card()
    except Exception as e:
        raise ConfigError(f"No A2A agent card at {url!r}: {e}") from e
    skills = "; ".join(f"{s.name}: {s.description}" for s in card.skills)
    role = " ".join(p for p in (card.description.strip(), f"Skills: {skills}." if skills else "") if p)
    agent_name = name or re.sub(r"[^A-Za-z0-9_-]+", "-", card.name).strip("-_")[:64] or "remote"
    if not agent_name[0].isalpha():
        agent_name = f"a2a-{agent_name}"[:64]
    return Agent(
        name=agent_name,
        role=role or f"The remote A2A agent {card.name}",
        llm=A2AChatModel(card=card, headers=dict(headers or {}), timeout=timeout),
    )


def a2a_agent_sync(url: str, **kwargs: Any) -> Agent:
    """Sync `a2a_agent`."""
    return run_sync(a2a_agent(url, **kwargs))
