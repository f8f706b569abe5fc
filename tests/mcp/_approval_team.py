"""A team for `agentorch mcp-serve` tests whose writer publishes only with a person's approval
(a published text is appended to the file named by $PUBLISHED_FILE)."""

from __future__ import annotations

import os

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish the text."""
    with open(os.environ["PUBLISHED_FILE"], "a", encoding="utf-8") as out:
        out.write(text + "\n")
    return "published"


team = Team(
    agents=[Agent(name="writer", role="Writes and publishes", tools=[publish])],
    llm=ScriptedChatModel(
        {
            "planner": [plan(st("write", "writer"))] * 2,
            "writer": [
                call("publish", text="first brief"),
                "published",
                call("publish", text="second"),
                "not published",
            ],
            "critic": [ACCEPT] * 2,
            "synthesizer": ["Published the first brief.", "Nothing published."],
        }
    ),
    name="newsroom",
)
