"""Teams the CLI tests run with `agentorch run --team tests/_cli_team.py:NAME`, on scripted models.

Every model call and tool execution appends `<what> <detail> <pid>` to the file named by
`AGENTORCH_TEST_LOG`, so a test can count what ran in which process.

- `parallel`: researchers a, b, c fetch notes in parallel (tool calls of different lengths), then
  a writer reports over all three.
- `gated`: sub-tasks x and y each ask the gated tool `delete_records`, in parallel (two
  approvals wait at once), then a writer reports what happened.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel

FETCH_SECONDS = {"a": 0.1, "b": 0.5, "c": 1.2}


def log(line: str) -> None:
    path = os.environ.get("AGENTORCH_TEST_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:  # one write per line: never interleaved
            f.write(f"{line} {os.getpid()}\n")


def _human(messages: list[BaseMessage]) -> str:
    return "\n".join(m.text for m in messages if m.type == "human")


def _tool_results(messages: list[BaseMessage]) -> list[str]:
    return [m.text for m in messages if m.type == "tool"]


def _logged(what: str, respond: Any) -> Any:
    def answer(messages: list[BaseMessage]) -> Any:
        log(f"model {what}")
        return respond(messages)

    return answer


def _findings(messages: list[BaseMessage]) -> str:
    return "Report: " + "; ".join(
        sorted(set(re.findall(r"(?:Finding|Outcome) \w+: [^<\n]+", _human(messages))))
    )


def _synthesize(messages: list[BaseMessage]) -> str:
    found = re.search(r"Report: [^<\n]*", _human(messages))
    return found.group(0) if found else _findings(messages)  # no writer in the plan


# -- parallel -------------------------------------------------------------------------------


@tool
async def fetch(topic: str) -> str:
    """Fetch the notes on a topic (slow)."""
    log(f"tool-start {topic}")
    await asyncio.sleep(FETCH_SECONDS[topic])
    log(f"tool-done {topic}")
    return f"notes-{topic}"


def _researcher(sid: str) -> Any:
    def answer(messages: list[BaseMessage]) -> Any:
        log(f"model researcher:{sid}")
        done = _tool_results(messages)
        if not done:
            return AIMessage("", tool_calls=[{"name": "fetch", "args": {"topic": sid}, "id": f"f-{sid}"}])
        notes = re.search(r"notes-\w+", done[0])
        return f"Finding {sid}: {notes.group(0) if notes else 'none'}"

    return answer


parallel = Team(
    agents=[
        Agent(name="researcher", role="Finds facts", tools=[fetch]),
        Agent(name="writer", role="Writes reports"),
    ],
    llm=ScriptedChatModel(
        {
            **{f"researcher:{t}": _researcher(t) for t in FETCH_SECONDS},
            "planner": _logged(
                "planner",
                lambda m: {
                    "subtasks": [
                        *(
                            {"id": t, "description": f"Research {t}", "agent": "researcher"}
                            for t in FETCH_SECONDS
                        ),
                        {
                            "id": "e",
                            "description": "Report",
                            "agent": "writer",
                            "depends_on": list(FETCH_SECONDS),
                        },
                    ]
                },
            ),
            "writer": _logged("writer", _findings),
            "critic": _logged("critic", lambda m: {"decision": "accept"}),
            "synthesizer": _logged("synthesizer", _synthesize),
        }
    ),
    name="parallel",
)


# -- gated ----------------------------------------------------------------------------------


@tool(requires_approval=True)
def delete_records(table: str) -> str:
    """Delete every record of a table (needs a person's approval)."""
    log(f"tool-run {table}")
    return f"deleted {table}"


def _admin(sid: str) -> Any:
    def answer(messages: list[BaseMessage]) -> Any:
        log(f"model admin:{sid}")
        done = _tool_results(messages)
        if not done:
            call = {"name": "delete_records", "args": {"table": f"stale_{sid}"}, "id": f"d-{sid}"}
            return AIMessage("", tool_calls=[call])
        ran = re.search(r"deleted \w+", done[0])
        return f"Outcome {sid}: {ran.group(0) if ran else 'not deleted'}"

    return answer


gated = Team(
    agents=[
        Agent(name="admin", role="Maintains records", tools=[delete_records]),
        Agent(name="writer", role="Writes reports"),
    ],
    llm=ScriptedChatModel(
        {
            "admin:x": _admin("x"),
            "admin:y": _admin("y"),
            "planner": _logged(
                "planner",
                lambda m: {
                    "subtasks": [
                        {"id": "x", "description": "Clean table x", "agent": "admin"},
                        {"id": "y", "description": "Clean table y", "agent": "admin"},
                        {"id": "r", "description": "Report", "agent": "writer", "depends_on": ["x", "y"]},
                    ]
                },
            ),
            "writer": _logged("writer", _findings),
            "critic": _logged("critic", lambda m: {"decision": "accept"}),
            "synthesizer": _logged("synthesizer", _synthesize),
        }
    ),
    name="gated",
)
