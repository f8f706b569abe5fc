"""The real ChatOpenAI (langchain-openai + openai SDK) against the local OpenAIServer over HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Literal

import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field, ValidationError

from agentorch._errors import ConfigError
from agentorch.testing._openai_server import (
    LLAMA_CPP_QUIRKS,
    Fault,
    OpenAIServer,
    Reply,
    Script,
    ToolCall,
    ToolCalls,
)

MakeChat = Callable[..., ChatOpenAI]


class Plan(BaseModel):
    """A plan (stands in for agentorch's Plan)."""

    goal: str = Field(description="What the team must achieve")
    steps: list[str] = Field(default_factory=list, description="Ordered sub-tasks")


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"results for {query}"


@tool
def fetch(url: str) -> str:
    """Fetch a page."""
    return url


# -- plain replies ----------------------------------------------------------------------


def test_plain_reply_reports_usage_and_records_the_request(make_chat: MakeChat) -> None:
    with OpenAIServer(["Hello from the server"]) as server:
        reply = make_chat(server).invoke([SystemMessage("You are terse."), HumanMessage("Hi!")])

        assert reply.content == "Hello from the server"
        prompt_chars = len("You are terse.") + len("Hi!")
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["input_tokens"] == math.ceil(prompt_chars / 4)
        assert reply.usage_metadata["output_tokens"] == math.ceil(len("Hello from the server") / 4)
        assert reply.response_metadata["finish_reason"] == "stop"
        [body] = server.chat_requests
        assert body["model"] == "test-model"
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        server.assert_complete()


async def test_async_client_and_concurrent_requests_are_served_in_parallel(
    make_chat: MakeChat,
) -> None:
    lock, in_flight, most = threading.Lock(), [0], [0]

    def answer(request: dict[str, Any]) -> str:  # counts the requests being served at once
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        return request["messages"][-1]["content"].upper()

    with OpenAIServer(answer) as server:
        model = make_chat(server)
        replies = await asyncio.gather(*(model.ainvoke(f"task {n}") for n in range(6)))

    assert sorted(r.content for r in replies) == [f"TASK {n}" for n in range(6)]
    assert most[0] > 1, "the server answered one request at a time"


# -- tool calls -------------------------------------------------------------------------


def test_tool_calls_round_trip_through_bind_tools(make_chat: MakeChat) -> None:
    script: list[Reply] = [
        ToolCalls([ToolCall("search", {"query": "langgraph"}), {"name": "fetch", "args": {"url": "u"}}]),
        "LangGraph is a library.",
    ]
    with OpenAIServer(script) as server:
        model = make_chat(server).bind_tools([search, fetch])
        first = model.invoke("What is LangGraph?")

        assert [(c["name"], c["args"]) for c in first.tool_calls] == [
            ("search", {"query": "langgraph"}),
            ("fetch", {"url": "u"}),
        ]
        ids = [c["id"] for c in first.tool_calls]
        assert all(ids) and len(set(ids)) == 2
        assert first.response_metadata["finish_reason"] == "tool_calls"

        results = [ToolMessage(f"result {i}", tool_call_id=i) for i in ids]
        second = model.invoke([HumanMessage("What is LangGraph?"), first, *results])
        assert second.content == "LangGraph is a library."

        request_one, request_two = server.chat_requests
        assert [t["function"]["name"] for t in request_one["tools"]] == ["search", "fetch"]
        assert [m.get("tool_call_id") for m in request_two["messages"][2:]] == ids
        server.assert_complete()


def test_tool_call_with_invalid_json_arguments_becomes_an_invalid_tool_call(
    make_chat: MakeChat,
) -> None:
    with OpenAIServer([ToolCalls([ToolCall("search", '{"query": ')])]) as server:
        reply = make_chat(server).bind_tools([search]).invoke("go")
    assert reply.tool_calls == []
    assert reply.invalid_tool_calls[0]["name"] == "search"


# -- structured output ------------------------------------------------------------------


def test_structured_output_default_json_schema_mode(make_chat: MakeChat) -> None:
    with OpenAIServer([Plan(goal="ship", steps=["build", "test"])]) as server:
        plan = make_chat(server).with_structured_output(Plan).invoke("Plan a release")

        assert plan == Plan(goal="ship", steps=["build", "test"])
        [body] = server.chat_requests
        response_format = body["response_format"]
        assert response_format["type"] == "json_schema"
        assert response_format["json_schema"]["strict"] is True
        # the SDK makes every property required, even those with defaults
        assert response_format["json_schema"]["schema"]["required"] == ["goal", "steps"]
        assert "tools" not in body


def test_structured_output_function_calling_mode(make_chat: MakeChat) -> None:
    with OpenAIServer([{"goal": "ship"}]) as server:
        structured = make_chat(server).with_structured_output(Plan, method="function_calling")
        plan = structured.invoke("Plan a release")

        assert plan == Plan(goal="ship", steps=[])
        [body] = server.chat_requests
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Plan"}}
        assert [t["function"]["name"] for t in body["tools"]] == ["Plan"]
        assert "response_format" not in body


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_a_plan_that_fails_validation_raises_validation_error(
    make_chat: MakeChat, method: Literal["json_schema", "function_calling"]
) -> None:
    with OpenAIServer([{"goal": 42, "steps": "not a list"}]) as server:
        with pytest.raises(ValidationError):
            make_chat(server).with_structured_output(Plan, method=method).invoke("Plan")


def test_include_raw_keeps_the_bad_reply_only_in_function_calling_mode(make_chat: MakeChat) -> None:
    """Repair needs the raw reply. In json_schema mode the openai SDK parses inside the call,
    so `include_raw=True` does not help: the ValidationError escapes the model call."""
    bad = {"goal": "ship", "steps": "not a list"}
    with OpenAIServer([bad, bad]) as server:
        model = make_chat(server)
        result = model.with_structured_output(Plan, method="function_calling", include_raw=True).invoke("x")
        assert result["parsed"] is None
        assert isinstance(result["parsing_error"], ValidationError)
        assert result["raw"].tool_calls[0]["args"] == bad

        with pytest.raises(ValidationError):
            model.with_structured_output(Plan, include_raw=True).invoke("x")


def test_strict_schema_that_openai_would_reject_gets_http_400(make_chat: MakeChat) -> None:
    class Loose(BaseModel):
        labels: dict[str, str]

    with OpenAIServer([{"labels": {}}]) as server:
        with pytest.raises(openai.BadRequestError, match="additionalProperties"):
            make_chat(server).with_structured_output(Loose).invoke("x")
        [error] = server.errors
        assert "response_format.schema.properties.labels" in error


def test_a_text_reply_to_a_json_schema_request_is_sent_verbatim(make_chat: MakeChat) -> None:
    with OpenAIServer(["this is not JSON"]) as server:
        with pytest.raises(ValidationError, match="Invalid JSON"):
            make_chat(server).with_structured_output(Plan).invoke("Plan")


# -- streaming --------------------------------------------------------------------------


async def _collect(stream: Any) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    chunks = [chunk async for chunk in stream]
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return chunks, total


async def test_streaming_text_arrives_in_several_chunks(make_chat: MakeChat) -> None:
    text = "Streaming works over real server-sent events."
    with OpenAIServer([text]) as server:
        chunks, total = await _collect(make_chat(server, stream_usage=False).astream("Go"))

        assert total.content == text
        assert len([c for c in chunks if c.content]) >= 5
        assert total.usage_metadata is None  # not asked for
        [body] = server.chat_requests
        assert body["stream"] is True
        assert "stream_options" not in body


async def test_streaming_with_usage_sends_a_final_usage_chunk(make_chat: MakeChat) -> None:
    with OpenAIServer(["Counted reply"]) as server:
        _, total = await _collect(make_chat(server, stream_usage=True).astream("Count me"))

        assert total.content == "Counted reply"
        assert total.usage_metadata is not None
        assert total.usage_metadata["input_tokens"] == math.ceil(len("Count me") / 4)
        assert total.usage_metadata["output_tokens"] == math.ceil(len("Counted reply") / 4)
        [body] = server.chat_requests
        assert body["stream_options"] == {"include_usage": True}


async def test_streaming_tool_call_deltas_reassemble(make_chat: MakeChat) -> None:
    args = {"query": "a fairly long query so the arguments span several deltas"}
    with OpenAIServer([ToolCalls([ToolCall("search", args, id="call_abc")])]) as server:
        _, total = await _collect(make_chat(server).bind_tools([search]).astream("Search"))

    assert total.tool_calls == [{"name": "search", "args": args, "id": "call_abc", "type": "tool_call"}]


async def test_llama_cpp_quirks_are_imitated(make_chat: MakeChat) -> None:
    """llama-cpp-python's server: 500 to `json_schema`, `json_object` with a schema taken, and
    streamed tool calls whose every chunk repeats the name and id (clients join the names)."""
    args = {"query": "a fairly long query so the arguments span several deltas"}
    script: list[Reply] = [Plan(goal="x"), Plan(goal="ship"), ToolCalls([ToolCall("search", args, id="c1")])]
    with OpenAIServer(script, quirks=LLAMA_CPP_QUIRKS) as server:
        chat = make_chat(server, max_retries=0)
        with pytest.raises(openai.InternalServerError, match="Input should be 'text' or 'json_object'"):
            await chat.with_structured_output(Plan).ainvoke("Plan")
        schema = Plan.model_json_schema()
        json_mode = chat.with_structured_output(
            Plan, method="json_mode", response_format={"type": "json_object", "schema": schema}
        )
        assert await json_mode.ainvoke("Plan") == Plan(goal="ship")
        assert server.chat_requests[1]["response_format"]["schema"] == schema
        _, total = await _collect(chat.bind_tools([search]).astream("Search"))
    [call] = total.tool_call_chunks
    assert call["name"] is not None and call["name"].startswith("searchsearch")


async def test_a_length_stop_ends_with_finish_reason_length(make_chat: MakeChat) -> None:
    with OpenAIServer([Fault(length='{"goal": "sh'), Fault(length="Once upon")]) as server:
        chat = make_chat(server)
        with pytest.raises(openai.LengthFinishReasonError):
            await chat.with_structured_output(Plan).ainvoke("Plan")
        reply = await chat.ainvoke("Tell a story")
    assert reply.content == "Once upon" and reply.response_metadata["finish_reason"] == "length"


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_streamed_structured_output(
    make_chat: MakeChat, method: Literal["json_schema", "function_calling"]
) -> None:
    """LangGraph's "messages" stream mode makes even structured-output calls stream."""
    with OpenAIServer([Plan(goal="ship", steps=["build", "a longer second step"])]) as server:
        structured = make_chat(server, stream_usage=True).with_structured_output(Plan, method=method)
        parts = [part async for part in structured.astream("Plan")]
        assert parts[-1] == Plan(goal="ship", steps=["build", "a longer second step"])
        [body] = server.chat_requests
        assert body["stream"] is True


# -- faults and retries -----------------------------------------------------------------


def _retry_counts(server: OpenAIServer) -> list[str | None]:
    return [r.headers.get("x-stainless-retry-count") for r in server.requests]


def test_429_with_retry_after_is_retried_after_the_server_given_delay(make_chat: MakeChat) -> None:
    with OpenAIServer([Fault(status=429, retry_after=0.6), "after the rate limit"]) as server:
        started = time.monotonic()
        reply = make_chat(server, max_retries=2).invoke("Hi")
        elapsed = time.monotonic() - started

        assert reply.content == "after the rate limit"
        assert len(server.requests) == 2
        assert _retry_counts(server) == ["0", "1"]
        # the SDK's own backoff would be <= 0.5 s; waiting longer shows it honoured the header
        assert 0.55 <= elapsed < 10  # waited for the header, not for anything else
        server.assert_complete()


def test_429_without_retries_raises_rate_limit_error(make_chat: MakeChat) -> None:
    with OpenAIServer([Fault(status=429, retry_after=1)]) as server:
        with pytest.raises(openai.RateLimitError, match="Injected fault: HTTP 429"):
            make_chat(server, max_retries=0).invoke("Hi")
        assert len(server.requests) == 1


async def test_500_then_success_is_retried(make_chat: MakeChat) -> None:
    with OpenAIServer([Fault(status=500), "recovered"]) as server:
        reply = await make_chat(server, max_retries=1).ainvoke("Hi")
        assert reply.content == "recovered"
        assert _retry_counts(server) == ["0", "1"]
        server.assert_complete()


async def test_a_hang_past_the_timeout_raises_quickly(make_chat: MakeChat) -> None:
    with OpenAIServer([Fault(hang=10)]) as server:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            await make_chat(server, timeout=0.5, max_retries=0).ainvoke("Hi")
        assert time.monotonic() - started < 5  # the timeout cut it, not the 10 s hang
        assert len(server.requests) == 1
    # leaving the block ended the hanging handler; nothing waits 10 s


async def test_the_sdk_retries_timeouts_by_default(make_chat: MakeChat) -> None:
    """A timeout is per attempt: with retries a call can take (max_retries + 1) x timeout."""
    with OpenAIServer([Fault(hang=10), "second attempt"]) as server:
        reply = await make_chat(server, timeout=0.3, max_retries=1).ainvoke("Hi")
        assert reply.content == "second attempt"
        assert _retry_counts(server) == ["0", "1"]


@pytest.mark.parametrize("streaming", [False, True])
async def test_malformed_json_raises_and_is_not_retried(make_chat: MakeChat, streaming: bool) -> None:
    with OpenAIServer([Fault(malformed=True), "never sent"]) as server:
        model = make_chat(server, max_retries=2)
        with pytest.raises(json.JSONDecodeError):
            if streaming:
                await _collect(model.astream("Hi"))
            else:
                await model.ainvoke("Hi")
        assert len(server.requests) == 1
        assert server.remaining() == {None: 1}


async def test_with_fallbacks_uses_a_second_model_when_the_primary_keeps_failing(
    make_chat: MakeChat,
) -> None:
    def by_model(request: dict[str, Any]) -> Any:
        return Fault(status=500) if request["model"] == "primary" else f"answered by {request['model']}"

    with OpenAIServer(by_model) as server:
        primary = make_chat(server, model="primary", max_retries=1)
        fallback = make_chat(server, model="fallback", max_retries=1)
        reply = await primary.with_fallbacks([fallback]).ainvoke("Hi")

        assert reply.content == "answered by fallback"
        assert [body["model"] for body in server.chat_requests] == [
            "primary",
            "primary",
            "fallback",
        ]


# -- scripts ----------------------------------------------------------------------------


async def test_keyed_script_answers_each_role_from_its_own_queue(make_chat: MakeChat) -> None:
    script: Script = {
        "You are the planner": [Plan(goal="g", steps=["a", "b"])],
        "You are the researcher": ["found a", "found b"],
    }
    with OpenAIServer(script, latency=0.05) as server:
        model = make_chat(server)

        async def researcher(task: str) -> str:
            reply = await model.ainvoke(
                [SystemMessage("You are the researcher.\nBe brief."), HumanMessage(task)]
            )
            return str(reply.content)

        plan = await model.with_structured_output(Plan).ainvoke(
            [SystemMessage("You are the planner.\nSplit the goal."), HumanMessage("g")]
        )
        assert isinstance(plan, Plan)
        found = await asyncio.gather(*(researcher(step) for step in plan.steps))

        assert sorted(found) == ["found a", "found b"]
        assert [r.script_key for r in server.requests] == [
            "You are the planner",
            "You are the researcher",
            "You are the researcher",
        ]
        server.assert_complete()


def test_unmatched_and_ambiguous_system_prompts_fail_clearly(make_chat: MakeChat) -> None:
    with OpenAIServer({"planner": ["p"], "You are the planner": ["q"], "critic": ["c"]}) as server:
        model = make_chat(server)
        with pytest.raises(openai.InternalServerError, match="no script key"):
            model.invoke([SystemMessage("You are the synthesizer."), HumanMessage("x")])
        with pytest.raises(openai.InternalServerError, match="several script keys"):
            model.invoke([SystemMessage("You are the planner."), HumanMessage("x")])
        assert len(server.errors) == 2
        with pytest.raises(AssertionError, match="unused scripted replies"):
            server.assert_complete()


def test_exhausted_script_answers_500_and_records_the_error(make_chat: MakeChat) -> None:
    with OpenAIServer(["only one"]) as server:
        model = make_chat(server)
        assert model.invoke("first").content == "only one"
        with pytest.raises(openai.InternalServerError, match="ran out of replies"):
            model.invoke("second")
        [error] = server.errors
        assert "ran out of replies" in error and "second" in error
        with pytest.raises(AssertionError, match="ran out of replies"):
            server.assert_complete()


def test_a_failing_script_function_is_reported(make_chat: MakeChat) -> None:
    def broken(request: dict[str, Any]) -> str:
        raise KeyError("no such role")

    with OpenAIServer(broken) as server:
        with pytest.raises(openai.InternalServerError, match="raised KeyError"):
            make_chat(server).invoke("x")
        assert "raised KeyError" in server.errors[0]


def test_structured_reply_to_unforced_tools_is_a_script_error(make_chat: MakeChat) -> None:
    with OpenAIServer([{"query": "x"}]) as server:
        with pytest.raises(openai.InternalServerError, match="ToolCalls"):
            make_chat(server).bind_tools([search]).invoke("x")


def test_responses_api_requests_get_404_with_a_hint(make_chat: MakeChat) -> None:
    with OpenAIServer(["unused"]) as server:
        with pytest.raises(openai.NotFoundError):
            make_chat(server, use_responses_api=True).invoke("x")
        assert "use_responses_api=False" in server.errors[0]


def test_models_endpoint_lists_the_configured_models() -> None:
    with OpenAIServer(models=["small", "large"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == ["small", "large"]


def test_stop_ends_a_hanging_request_and_is_idempotent() -> None:
    server = OpenAIServer([Fault(hang=30)]).start()
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.monotonic()

    def stop_soon() -> None:
        time.sleep(0.2)
        server.stop()

    import threading

    stopper = threading.Thread(target=stop_soon)
    stopper.start()
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(request, timeout=10)
    stopper.join()
    assert time.monotonic() - started < 15  # stop() ended it, not the 30 s hang
    server.stop()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"status": 200},
        {"status": 500, "hang": 1},
        {"hang": 0},
        {"retry_after": 1},
        {"status": 503, "retry_after": -1},
        {"status": 500, "length": "cut"},
    ],
)
def test_invalid_faults_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Fault(**kwargs)


def test_invalid_scripts_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        OpenAIServer("a string is not a list of replies")
    with pytest.raises(ConfigError):
        OpenAIServer({"": ["x"]})
    with pytest.raises(ConfigError):
        ToolCalls([])
    with pytest.raises(ConfigError, match="quirks"):
        OpenAIServer(quirks=["slow"])  # type: ignore[list-item]
