"""Subprocess for the PostgreSQL tests: run (or resume) the research team on shared checkpoints.

    python _pg_worker.py URL THREAD_ID run|resume CALLS_FILE [KILL_ROLE]

Every model call appends its role to CALLS_FILE before it is answered. With KILL_ROLE, the
process SIGKILLs itself when that role is first called: a crash mid-run, nothing cleaned up.
Prints the `RunResult` JSON when the run ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from agentorch._keys import ROLE_KEY
from agentorch.graphs.research import DEMO_GOAL, build_team, demo_model


class CountCalls(BaseCallbackHandler):
    """Appends each model call's role to a file; optionally dies at `kill_role`."""

    def __init__(self, path: str, kill_role: str | None) -> None:
        self.path = path
        self.kill_role = kill_role

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        role = (kwargs.get("metadata") or {}).get(ROLE_KEY, "?")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {role}\n")
        if role == self.kill_role:
            time.sleep(0.5)  # a call in flight; earlier steps' checkpoints are flushed meanwhile
            os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, thread_id: str, mode: str, calls: str, kill_role: str | None) -> None:
    model = demo_model()
    model.callbacks = [CountCalls(calls, kill_role)]
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        team = build_team(model, checkpointer=saver)
        if mode == "run":
            result = await team.arun(DEMO_GOAL, thread_id=thread_id)
        else:
            result = await team.aresume(thread_id)
    print(result.model_dump_json())


if __name__ == "__main__":
    url, thread_id, mode, calls = sys.argv[1:5]
    asyncio.run(main(url, thread_id, mode, calls, sys.argv[5] if len(sys.argv) > 5 else None))
