"""A team run in its own process, for the crash-recovery tests (tests/safety/test_crash_recovery.py).

    python _crash_child.py run|resume DB MEMORY LOG THREAD_ID

Runs (or resumes) a research-style team on an `AsyncSqliteSaver` file checkpointer and a
persistent `ChromaMemory`, printing one line per event (flushed) so the parent can SIGKILL it
at a chosen point. Every model call and every tool execution appends one line to LOG
(`model <role> <subtask> <pid>`, `tool-start <topic> <pid>`, `tool-done <topic> <pid>`,
`remembered - <pid>`), so
the parent can count what ran in which process. The last line is `RESULT <json>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel
from agentorch.memory import ChromaMemory, HashEmbeddings

# four parallel researchers whose tool calls take different times; an editor that needs only
# the fastest one (it starts, eagerly, while the slow ones still run); then one writer
TOPICS = {"a": 0.15, "b": 0.7, "c": 1.3, "d": 1.9}
WRITER_LATENCY = 0.8
EDITOR_LATENCY = 0.3


def log(line: str) -> None:
    # O_APPEND + one write per line: lines from both processes never interleave
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(f"{line} {os.getpid()}\n")


@tool
async def fetch(topic: str) -> str:
    """Fetch the notes on a topic (slow)."""
    log(f"tool-start {topic}")
    await asyncio.sleep(TOPICS[topic])
    log(f"tool-done {topic}")
    return f"notes on {topic}: {hashlib.sha1(topic.encode()).hexdigest()[:8]}"


def _human(messages: list[BaseMessage]) -> str:
    return "\n".join(m.text for m in messages if m.type == "human")


def _researcher(sid: str):
    def answer(messages: list[BaseMessage]) -> Any:
        log(f"model researcher {sid}")
        tool_results = [m.text for m in messages if m.type == "tool"]
        if not tool_results:
            return AIMessage("", tool_calls=[{"name": "fetch", "args": {"topic": sid}, "id": f"f-{sid}"}])
        return f"Finding {sid.upper()}: " + tool_results[0].split("\n")[1]

    return answer


def _logged(role: str, respond):
    def answer(messages: list[BaseMessage]) -> Any:
        log(f"model {role} -")
        return respond(messages)

    return answer


def _digest_of(messages: list[BaseMessage]) -> str:
    return hashlib.sha1(_human(messages).encode()).hexdigest()[:12]


PLAN = {
    "subtasks": [
        *({"id": t, "description": f"Research {t}", "agent": "researcher"} for t in TOPICS),
        {"id": "f", "description": "Edit the first finding", "agent": "editor", "depends_on": ["a"]},
        {"id": "e", "description": "Write the report", "agent": "writer", "depends_on": [*TOPICS, "f"]},
    ]
}


class SlowToFinishMemory(ChromaMemory):
    """Stores the run, then lingers, so a test can kill the process after the records are
    written but before the `remember` step is checkpointed."""

    async def aremember_run(self, **run: Any) -> None:
        await super().aremember_run(**run)
        log("remembered -")
        await asyncio.sleep(1.0)


def build_team(checkpointer: Any, memory: ChromaMemory) -> Team:
    script: dict[str, Any] = {f"researcher:{t}": _researcher(t) for t in TOPICS}
    script.update(
        {
            "planner": _logged("planner", lambda m: PLAN),
            "writer": _logged("writer", lambda m: "Report over " + _digest_of(m)),
            "editor": _logged("editor", lambda m: "Edited " + _digest_of(m)),
            "critic": _logged("critic", lambda m: {"decision": "accept", "feedback": "fine"}),
            "synthesizer": _logged("synthesizer", lambda m: "ANSWER " + _digest_of(m)),
            "summarizer": _logged("summarizer", lambda m: "summary"),
        }
    )
    llm = ScriptedChatModel(script, latency={"writer": WRITER_LATENCY, "editor": EDITOR_LATENCY, "*": 0.0})
    agents = [
        Agent(name="researcher", role="Finds facts", tools=[fetch]),
        Agent(name="editor", role="Edits findings"),
        Agent(name="writer", role="Writes reports"),
    ]
    return Team(
        agents=agents, llm=llm, checkpointer=checkpointer, memory=memory, model_timeout=30, tool_timeout=30
    )


async def main(mode: str, db: str, mem: str, thread_id: str) -> None:
    memory = SlowToFinishMemory(mem, namespace="crash", embedding=HashEmbeddings(dim=64))
    async with AsyncSqliteSaver.from_conn_string(db) as cp:
        team = build_team(cp, memory)
        if mode == "run":
            events = team.astream("Report on four topics", thread_id=thread_id)
        else:
            events = team.aresume_stream(thread_id)
        async for ev in events:
            print("EVENT", ev["type"], ev.get("subtask_id", "-"), flush=True)
        result = await team.aresult(thread_id)
    print("RESULT", result.model_dump_json(), flush=True)


if __name__ == "__main__":
    mode, db, mem, LOG, thread = sys.argv[1:6]
    asyncio.run(main(mode, db, mem, thread))
