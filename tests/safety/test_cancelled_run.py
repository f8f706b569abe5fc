"""A run its caller cancels (a timeout around `arun`, a closed request) while a sub-task waits for another: the
cancellation leaves no error behind, and `resume` finishes the run with the cut-off call in
doubt and re-run under its key."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agentorch import Agent, Team, tool, tool_call_key
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st


def test_a_cancelled_run_logs_no_error_and_resumes(caplog: pytest.LogCaptureFixture) -> None:
    starts: list[str | None] = []

    @tool
    async def crawl(url: str) -> str:
        """Crawl a site (slow)."""
        starts.append(tool_call_key())
        await asyncio.sleep(0.3)
        return "crawled " + url

    turn = AIMessage("", tool_calls=[{"name": "crawl", "args": {"url": "x"}, "id": "c1"}])
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "researcher"), st("b", "writer", "a"))],  # b waits for a
            "researcher": [turn, "A"],
            "writer": ["B"],
            "critic": [ACCEPT],
            "synthesizer": ["done"],
        }
    )
    team = Team(
        agents=[Agent(name="researcher", role="R", tools=[crawl]), Agent(name="writer", role="W")], llm=llm
    )
    thread = f"t-{uuid.uuid4().hex[:8]}"
    errors: list[dict[str, Any]] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        run = asyncio.create_task(team.arun("go", thread_id=thread))
        while not starts:  # cancelled once crawl runs (and `b` waits for `a`)
            await asyncio.sleep(0.01)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await asyncio.sleep(0.05)
        return await team.aresume(thread)

    with caplog.at_level(logging.ERROR):
        result = asyncio.run(main())
    # nothing went wrong inside the engine when the caller cancelled
    assert [c.get("message") for c in errors] == [], [repr(c.get("exception")) for c in errors]
    assert result.status == "completed" and result.results["b"].output == "B"
    (record,) = [c for h in result.history for c in h.tool_calls]
    assert record.in_doubt and record.executions == 2 and starts == [record.key, record.key]
