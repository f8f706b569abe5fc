"""A crash between two steps (every task of the last checkpoint saved, the next checkpoint not
yet written) must still be resumable — without a process, by rebuilding that checkpoint."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

from .conftest import team_of


def _script() -> dict:
    return {
        "planner": [plan(st("a", "researcher"), st("b", "writer", "a"))],
        "researcher": ["A"],
        "writer": ["B"],
        "critic": [ACCEPT],
        "synthesizer": ["final"],
    }


@pytest.mark.timeout(30)
async def test_resume_after_a_crash_between_steps_continues_the_run() -> None:
    source = InMemorySaver()
    full = await team_of(ScriptedChatModel(_script()), checkpointer=source).arun("goal", thread_id="src")
    # the checkpoint whose only task (dispatch) had saved its writes — the round's results —
    # when the process died, before the next checkpoint was written. Copy the thread's
    # history up to it (LangGraph stores some channels as deltas along the chain).
    tuples = [t async for t in source.alist({"configurable": {"thread_id": "src"}})][::-1]
    crash_at = next(i for i, t in enumerate(tuples) if any(w[1] == "results" for w in t.pending_writes or []))
    target = InMemorySaver()
    for t in tuples[: crash_at + 1]:
        parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        cfg = await target.aput(
            {
                "configurable": {
                    "thread_id": "t",
                    "checkpoint_ns": "",
                    **({"checkpoint_id": parent} if parent else {}),
                }
            },
            t.checkpoint,
            t.metadata,
            t.checkpoint["channel_versions"],
        )
        for task_id in dict.fromkeys(w[0] for w in t.pending_writes or []):
            await target.aput_writes(cfg, [(c, v) for i, c, v in t.pending_writes if i == task_id], task_id)

    llm = ScriptedChatModel(_script())
    team = team_of(llm, checkpointer=target)
    snapshot = await team.compile().aget_state({"configurable": {"thread_id": "t"}})
    assert snapshot.next == () and snapshot.tasks  # LangGraph shows no next step here
    result = await team.aresume("t")
    assert result.status == "completed" and result.answer == full.answer == "final"
    assert not llm.calls_for("planner")  # the plan was kept
    assert [c.role for c in llm.calls] == ["critic", "synthesizer"]  # the round's work was kept
    with pytest.raises(ValueError, match="already finished"):
        await team.aresume("t")
