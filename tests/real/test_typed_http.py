"""A typed agent with tools on the real `ChatOpenAI`, over HTTP: the schema as response format."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agentorch import Agent, Team, tool
from agentorch.llms import from_env
from agentorch.testing._openai_server import OpenAIServer, ToolCall, ToolCalls

from .conftest import CRITIC, FAST_RETRY, PLANNER, SYNTHESIZER, env_for, specialist_key


class Quote(BaseModel):
    supplier: str
    price: float = Field(gt=0)


@tool
def search(query: str) -> str:
    """Search supplier catalogues."""
    return "Acme: 3.50 EUR per widget; Bolt: 4.10 EUR."


def test_a_typed_agent_with_tools_answers_through_the_response_format_and_is_repaired() -> None:
    script = {
        PLANNER: [
            {
                "subtasks": [
                    {"id": "quote", "description": "Find the cheapest widget", "agent": "pricer"},
                    {"id": "note", "description": "Recommend", "agent": "writer", "depends_on": ["quote"]},
                ]
            }
        ],
        specialist_key("pricer"): [
            ToolCalls([ToolCall("search", {"query": "widget prices"})]),
            "Acme is cheapest at 3.50 EUR.",
            {"supplier": "Acme", "price": -3.5},  # breaks `gt=0`: sent back
            {"supplier": "Acme", "price": 3.5},
        ],
        specialist_key("writer"): ["Buy from Acme."],
        CRITIC: [{"decision": "accept"}],
        SYNTHESIZER: ["Acme, 3.50 EUR."],
    }
    with OpenAIServer(script) as server:
        team = Team(
            agents=[
                Agent(name="pricer", role="Finds prices", tools=[search], output=Quote),
                Agent(name="writer", role="Writes"),
            ],
            llm=from_env(env=env_for(server)),
            retry=FAST_RETRY,
        )
        result = team.run("Find and recommend a widget supplier")
        server.assert_complete()
    assert result.status == "completed", result.error
    assert result.results["quote"].data == {"supplier": "Acme", "price": 3.5}
    key = specialist_key("pricer")
    pricer = [r.body for r in server.requests if r.script_key == key]
    assert [bool(b.get("tools")) for b in pricer] == [True, True, False, False]
    final = pricer[-1]
    assert final["response_format"]["type"] == "json_schema"
    assert final["response_format"]["json_schema"]["name"] == "Quote"
    assert "greater than 0" in final["messages"][-1]["content"]
    writer = next(r.body for r in server.requests if r.script_key == specialist_key("writer"))
    assert '"price": 3.5' in writer["messages"][-1]["content"]
