"""Approvals answered across a sibling's failures on every checkpoint saver (issue 24,
reproduction 2): after a `RunFailed`, what `result.interrupts` lists is exactly what still
waits, and `resume(thread_id)` continues — with InMemorySaver, AsyncSqliteSaver and
AsyncPostgresSaver alike (README "People in the loop")."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agentorch import Agent, RunFailed, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st
from tests.safety.conftest import open_saver

RAN: list[str] = []


@tool(requires_approval=True)
def act(x: str) -> str:
    """Act (needs approval)."""
    RAN.append(x)
    return "did " + x


def ask(x: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "act", "args": {"x": x}, "id": x}])


def waiting(result: Any) -> list[str]:
    return sorted(i.payload["args"]["x"] for i in result.interrupts)


async def sequence(saver: Any) -> None:
    RAN.clear()
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "p"), st("b", "q"))],
            "p": [ask("pa1"), ask("pa2"), "p done"],
            "q": [ask("qb1"), RuntimeError("bad gateway"), ask("qb2"), RuntimeError("bad gateway"), "q done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    agents = [Agent(name="p", role="P", tools=[act]), Agent(name="q", role="Q", tools=[act])]
    team = Team(agents=agents, llm=llm, checkpointer=saver)
    thread = f"t-{uuid.uuid4().hex[:8]}"

    r = await team.arun("go", thread_id=thread)
    assert r.status == "interrupted" and waiting(r) == ["pa1", "qb1"]

    # deny both; q's model then fails: nothing waits, nothing ran
    with pytest.raises(RunFailed) as failed:
        await team.aresume(thread, decisions={i.id: False for i in r.interrupts})
    assert waiting(failed.value.result) == [] and waiting(await team.aresult(thread)) == []
    assert RAN == []

    # resume: both agents ask again
    r = await team.aresume(thread)
    assert r.status == "interrupted" and waiting(r) == ["pa2", "qb2"]

    # approve p's call, deny q's; q's model fails again: pa2 ran, `a` is done, nothing waits
    with pytest.raises(RunFailed) as failed:
        await team.aresume(thread, decisions={i.id: i.payload["args"]["x"] == "pa2" for i in r.interrupts})
    assert waiting(failed.value.result) == [] and waiting(await team.aresult(thread)) == []
    assert RAN == ["pa2"]
    assert failed.value.result.results["a"].output == "p done"

    # resume: the run completes; pa2 did not run again, and its record names its approver
    r = await team.aresume(thread)
    assert r.status == "completed" and r.interrupts == [] and RAN == ["pa2"]
    calls = {c.args["x"]: c for h in r.history for c in h.tool_calls}
    assert {x: (c.outcome, c.executions) for x, c in calls.items()} == {
        "pa1": ("denied", 0),
        "pa2": ("ok", 1),
        "qb1": ("denied", 0),
        "qb2": ("denied", 0),
    }
    assert calls["pa2"].approved_by == "human"


def test_answers_across_sibling_failures_are_the_same_on_every_saver(
    saver_kind: str, saver_url: str | None, tmp_path: Path
) -> None:
    async def main() -> None:
        async with open_saver(saver_kind, tmp_path, saver_url) as saver:
            await sequence(saver)

    asyncio.run(main())
