"""A run with an approval-gated tool, driven one step per process (test_crash_recovery.py).

    python _approval_child.py DB LOG run|deny|approve[:BY:TABLE]

`run` starts the run and stops at the approval (or is killed there); the other modes resume it
in a fresh process. Model calls and tool executions append `<what> <detail> <pid>` to LOG.
Prints `RESULT <json>`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel


def log(line: str) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(f"{line} {os.getpid()}\n")


@tool(requires_approval=True)
def delete_records(table: str) -> str:
    """Delete every record of a table."""
    log(f"tool-run {table}")
    return f"deleted {table}"


def admin(messages: list[BaseMessage]) -> Any:
    log("model admin")
    if not any(m.type == "tool" for m in messages):
        return AIMessage(
            "", tool_calls=[{"name": "delete_records", "args": {"table": "stale"}, "id": "del-1"}]
        )
    return "cleanup finished"


def team(checkpointer: Any) -> Team:
    llm = ScriptedChatModel(
        {
            "planner": [{"subtasks": [{"id": "clean", "description": "Clean up", "agent": "admin"}]}],
            "admin": admin,
            "critic": [{"decision": "accept"}],
            "synthesizer": ["done"],
        }
    )
    return Team(
        agents=[Agent(name="admin", role="Maintains records", tools=[delete_records])],
        llm=llm,
        checkpointer=checkpointer,
    )


async def main(db: str, mode: str) -> None:
    async with AsyncSqliteSaver.from_conn_string(db) as cp:
        t = team(cp)
        if mode == "run":
            result = await t.arun("Clean up", thread_id="gated")
        elif mode == "deny":
            result = await t.aresume("gated", approve=False)
        else:
            _, by, table = mode.split(":")
            result = await t.aresume("gated", approve={"args": {"table": table}, "by": by})
    print("RESULT", result.model_dump_json(), flush=True)


if __name__ == "__main__":
    DB, LOG, MODE = sys.argv[1:4]
    asyncio.run(main(DB, MODE))
