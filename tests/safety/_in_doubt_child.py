"""A one-agent team whose tool is killed mid-call, for the in-doubt tests (test_in_doubt.py).

    python _in_doubt_child.py run|resume|approve|deny DB LOG POLICY

`pay` appends `start <key> <pid>` to LOG and then sleeps, so the parent can SIGKILL the process
while the call is in flight; a finished call appends `done <key> <pid>`. The tool's
`on_in_doubt` is POLICY. The last line printed is `RESULT <json>`.
"""

from __future__ import annotations

import asyncio
import os
import sys

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import Agent, Team, tool, tool_call_key
from agentorch.llms import ScriptedChatModel

MODE, DB, LOG, POLICY = sys.argv[1:5]
SLOW = float(os.environ.get("PAY_SECONDS", "0"))  # set only for the process that is killed


def _log(line: str) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(f"{line} {os.getpid()}\n")


@tool(on_in_doubt=POLICY)
async def pay(invoice: str) -> str:
    """Pay an invoice."""
    _log(f"start {tool_call_key()}")
    await asyncio.sleep(SLOW)
    _log(f"done {tool_call_key()}")
    return f"paid {invoice}"


def _payer(messages: list[BaseMessage]) -> AIMessage | str:
    told = [m.text for m in messages if m.type == "tool"]
    if not told:
        return AIMessage("", tool_calls=[{"name": "pay", "args": {"invoice": "inv-7"}, "id": "p1"}])
    return "payment step over: " + told[0].splitlines()[1]


def team(saver: AsyncSqliteSaver) -> Team:
    llm = ScriptedChatModel(
        {
            "planner": [{"subtasks": [{"id": "pay-rent", "description": "Pay inv-7", "agent": "payer"}]}],
            "payer": _payer,
            "critic": [{"decision": "accept"}],
            "synthesizer": ["done"],
        }
    )
    return Team(agents=[Agent(name="payer", role="Pays invoices", tools=[pay])], llm=llm, checkpointer=saver)


async def main() -> None:
    async with AsyncSqliteSaver.from_conn_string(DB) as saver:
        t = team(saver)
        if MODE == "run":
            result = await t.arun("pay the rent", thread_id="t1")
        elif MODE == "resume":
            result = await t.aresume("t1")
        else:
            result = await t.aresume("t1", approve=MODE == "approve", by="ann")
    print("RESULT " + result.model_dump_json(), flush=True)


asyncio.run(main())
