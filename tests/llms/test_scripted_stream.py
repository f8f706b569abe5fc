"""`ScriptedChatModel` streams like a real model: text in pieces, tool calls whole, usage once."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool

from agentorch import Plan
from agentorch.llms import ScriptedChatModel

WRITER = {"metadata": {"agentorch_role": "writer", "agentorch_subtask": "w"}}
TEXT = "  Solid-state cells,\nsafer   and denser. "


@tool
def search(query: str) -> str:
    """Search the web."""
    return query


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


async def test_text_streams_in_pieces_that_join_to_the_text_with_usage_counted_once() -> None:
    streamed = ScriptedChatModel({"writer": [TEXT]})
    invoked = ScriptedChatModel({"writer": [TEXT]})
    chunks = [c async for c in streamed.astream("Write", config=WRITER)]
    whole = await invoked.ainvoke("Write", config=WRITER)

    assert len(chunks) > 5 and "".join(str(c.content) for c in chunks) == TEXT
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1
    total = _sum(chunks)
    assert total.usage_metadata == whole.usage_metadata and total.usage_metadata["output_tokens"] > 0
    assert total.response_metadata["model_name"] == "scripted"
    # the role and sub-task came from the config: the script key "writer" answered
    assert [(c.role, c.subtask_id) for c in streamed.calls] == [("writer", "w")]
    streamed.assert_complete()


def test_sync_stream_too() -> None:
    model = ScriptedChatModel({"writer": ["one two three"]})
    assert [c.content for c in model.stream("Write", config=WRITER)] == ["one ", "two ", "three", ""]


async def test_tool_calls_and_structured_output_arrive_whole_and_reassemble() -> None:
    asked = AIMessage(
        content="Searching.", tool_calls=[{"name": "search", "args": {"query": "q" * 300}, "id": "c1"}]
    )
    model = ScriptedChatModel({"writer": [asked]})
    total = _sum([c async for c in model.bind_tools([search]).astream("Go", config=WRITER)])
    assert total.content == "Searching."
    assert [(c["name"], c["args"], c["id"]) for c in total.tool_calls] == [
        ("search", {"query": "q" * 300}, "c1")
    ]

    plan = {"subtasks": [{"id": "a", "description": "Do it", "agent": "writer"}]}
    structured = ScriptedChatModel({"planner": [plan]}).with_structured_output(Plan)
    parts = [p async for p in structured.astream("Plan", config={"metadata": {"agentorch_role": "planner"}})]
    assert parts[-1] == Plan.model_validate(plan)


async def test_invoking_under_a_streaming_caller_streams_and_returns_the_same_answer() -> None:
    """What LangGraph's "messages" mode does: `ainvoke`, streamed for a callback handler."""

    class Collect(AsyncCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    model = ScriptedChatModel({"writer": [TEXT]})
    collect = Collect()
    # a plain handler sees the tokens of a streamed call: ask for one with `stream`
    answer = await model.ainvoke("Write", config={**WRITER, "callbacks": [collect]}, stream=True)
    assert answer.content == TEXT and "".join(collect.tokens) == TEXT
    invoked = await ScriptedChatModel({"writer": [TEXT]}).ainvoke("Write", config=WRITER)
    assert answer.usage_metadata == invoked.usage_metadata


def test_disable_streaming_answers_in_one_piece() -> None:
    model = ScriptedChatModel({"writer": [TEXT]}, disable_streaming=True)
    assert [c.content for c in model.stream("Write", config=WRITER)] == [TEXT]
