"""`from_env` / `models_from_env` / `model_configured`: which model, endpoint, timeouts per role."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import openai
import pytest
from langchain_core.load import dumpd, dumps
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agentorch._errors import ConfigError, ModelRequestsBlocked
from agentorch.llms._env import (
    DEFAULT_MODEL,
    ModelNotConfigured,
    from_env,
    model_configured,
    models_from_env,
    role_env_var,
)
from agentorch.testing._openai_server import Fault, OpenAIServer

LOCAL = "http://127.0.0.1:8000/v1"
KEY = "sk-agentorch-env-SECRET-9876543210"


def _chat(model: object) -> ChatOpenAI:
    assert isinstance(model, ChatOpenAI)
    return model


def test_nothing_configured_says_exactly_what_to_set() -> None:
    with pytest.raises(ModelNotConfigured) as caught:
        from_env(env={})
    assert str(caught.value) == (
        "No model configured: set OPENAI_API_KEY (and optionally AGENTORCH_MODEL, default "
        "gpt-4o-mini) for OpenAI, or OPENAI_BASE_URL=http://127.0.0.1:8000/v1 and "
        "AGENTORCH_MODEL=<name> for a local OpenAI-compatible server (vLLM, Ollama, llama.cpp)."
    )
    assert isinstance(caught.value, ConfigError)
    assert not model_configured({})


def test_openai_with_only_a_key_uses_the_defaults() -> None:
    model = _chat(from_env(env={"OPENAI_API_KEY": KEY}))
    assert model.model_name == DEFAULT_MODEL == "gpt-4o-mini"
    assert model.openai_api_base == "https://api.openai.com/v1"
    assert model.request_timeout == 60.0
    assert model.max_retries == 2
    assert model.use_responses_api is None  # OpenAI itself: let ChatOpenAI route
    assert model.stream_usage is True
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == KEY  # type: ignore[union-attr]
    assert model_configured({"OPENAI_API_KEY": KEY})


def test_per_role_models_override_the_default() -> None:
    env = {
        "OPENAI_API_KEY": KEY,
        "AGENTORCH_MODEL": "gpt-4o-mini",
        "AGENTORCH_PLANNER_MODEL": "gpt-4o",
        "AGENTORCH_CRITIC_MODEL": "o4-mini",
        "AGENTORCH_CODE_REVIEW_MODEL": "gpt-4.1",
    }
    assert _chat(from_env(env=env)).model_name == "gpt-4o-mini"
    assert _chat(from_env("planner", env=env)).model_name == "gpt-4o"
    assert _chat(from_env("Critic", env=env)).model_name == "o4-mini"
    assert _chat(from_env("code-review", env=env)).model_name == "gpt-4.1"
    assert _chat(from_env("researcher", env=env)).model_name == "gpt-4o-mini"


def test_role_variable_names() -> None:
    assert role_env_var("planner") == "AGENTORCH_PLANNER_MODEL"
    assert role_env_var("code-review", "TIMEOUT") == "AGENTORCH_CODE_REVIEW_TIMEOUT"
    assert role_env_var("web search 2") == "AGENTORCH_WEB_SEARCH_2_MODEL"
    with pytest.raises(ConfigError):
        role_env_var(" ")


def test_local_server_needs_no_key_but_needs_a_model_name() -> None:
    with pytest.raises(ModelNotConfigured, match="set AGENTORCH_PLANNER_MODEL or AGENTORCH_MODEL"):
        from_env("planner", env={"OPENAI_BASE_URL": LOCAL})
    assert not model_configured({"OPENAI_BASE_URL": LOCAL})
    assert model_configured({"OPENAI_BASE_URL": LOCAL}, role="planner") is False
    assert model_configured({"OPENAI_BASE_URL": LOCAL, "AGENTORCH_PLANNER_MODEL": "q"}, role="planner")

    model = _chat(from_env(env={"OPENAI_BASE_URL": LOCAL, "AGENTORCH_MODEL": "qwen2.5-coder"}))
    assert model.model_name == "qwen2.5-coder"
    assert model.openai_api_base == LOCAL
    assert model.use_responses_api is False
    assert model.openai_api_key.get_secret_value() == "not-needed"  # type: ignore[union-attr]


def test_names_routed_to_the_responses_api_stay_on_chat_completions_locally() -> None:
    env = {"OPENAI_BASE_URL": LOCAL, "AGENTORCH_MODEL": "gpt-5.1-codex"}
    assert _chat(from_env(env=env)).use_responses_api is False
    assert ChatOpenAI(model="gpt-5.1-codex", base_url=LOCAL, api_key=SecretStr("x")).use_responses_api is True


def test_timeouts_and_retries_per_role() -> None:
    env = {
        "OPENAI_API_KEY": KEY,
        "AGENTORCH_TIMEOUT": "20",
        "AGENTORCH_PLANNER_TIMEOUT": "120.5",
        "AGENTORCH_MAX_RETRIES": "5",
        "AGENTORCH_CRITIC_MAX_RETRIES": "0",
    }
    assert _chat(from_env(env=env)).request_timeout == 20.0
    assert _chat(from_env("planner", env=env)).request_timeout == 120.5
    assert _chat(from_env("planner", env=env, timeout=3)).request_timeout == 3.0  # argument wins
    assert _chat(from_env(env=env)).max_retries == 5
    assert _chat(from_env("critic", env=env)).max_retries == 0
    assert _chat(from_env("critic", env=env, max_retries=1)).max_retries == 1


@pytest.mark.parametrize(
    ("extra", "kwargs", "match"),
    [
        ({"AGENTORCH_TIMEOUT": "soon"}, {}, "`AGENTORCH_TIMEOUT` must be a number"),
        ({"AGENTORCH_PLANNER_TIMEOUT": "0"}, {}, "`AGENTORCH_PLANNER_TIMEOUT` must be a positive"),
        ({}, {"timeout": float("inf")}, "`timeout` must be a positive"),
        (
            {"AGENTORCH_MAX_RETRIES": "-1"},
            {},
            "`AGENTORCH_MAX_RETRIES` must be a whole number >= 0",
        ),
        ({"AGENTORCH_MAX_RETRIES": "two"}, {}, "`AGENTORCH_MAX_RETRIES` must be a whole number"),
        ({"AGENTORCH_STREAM_USAGE": "maybe"}, {}, "`AGENTORCH_STREAM_USAGE` must be true or false"),
    ],
)
def test_invalid_numbers_are_config_errors(extra: dict[str, str], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        from_env("planner", env={"OPENAI_API_KEY": KEY, **extra}, **kwargs)


def test_stream_usage_can_be_switched_off_for_servers_that_reject_it() -> None:
    env = {"OPENAI_BASE_URL": LOCAL, "AGENTORCH_MODEL": "m"}
    assert _chat(from_env(env=env)).stream_usage is True
    assert _chat(from_env(env={**env, "AGENTORCH_STREAM_USAGE": "false"})).stream_usage is False


def test_an_env_mapping_is_isolated_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.0.0.1:9999/v1")
    monkeypatch.setenv("OPENAI_API_BASE", "http://10.0.0.2:9999/v1")
    monkeypatch.setenv("AGENTORCH_MODEL", "from-os-environ")
    model = _chat(from_env(env={"OPENAI_API_KEY": KEY}))
    assert model.openai_api_base == "https://api.openai.com/v1"
    assert model.model_name == DEFAULT_MODEL
    assert str(model.root_client.base_url) == "https://api.openai.com/v1/"


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", LOCAL)
    monkeypatch.setenv("AGENTORCH_MODEL", "llama3.1")
    assert model_configured()
    assert _chat(from_env()).model_name == "llama3.1"


def test_models_from_env_returns_only_overridden_roles() -> None:
    env = {
        "OPENAI_API_KEY": KEY,
        "AGENTORCH_PLANNER_MODEL": "gpt-4o",
        "AGENTORCH_CRITIC_TIMEOUT": "90",
    }
    models = models_from_env(["planner", "critic", "researcher", "synthesizer"], env)
    assert sorted(models) == ["critic", "planner"]
    assert _chat(models["planner"]).model_name == "gpt-4o"
    assert _chat(models["critic"]).model_name == DEFAULT_MODEL
    assert _chat(models["critic"]).request_timeout == 90.0
    assert models_from_env(["researcher"], {"OPENAI_API_KEY": KEY}) == {}


def test_models_from_env_rejects_roles_that_share_a_variable() -> None:
    with pytest.raises(ConfigError, match="share the variable `AGENTORCH_CODE_REVIEW_MODEL`"):
        models_from_env(["code-review", "code_review"], {"OPENAI_API_KEY": KEY})


def test_models_from_env_with_an_override_but_no_endpoint_is_not_configured() -> None:
    with pytest.raises(ModelNotConfigured):
        models_from_env(["planner"], {"AGENTORCH_PLANNER_MODEL": "gpt-4o"})


# -- through real HTTP ------------------------------------------------------------------


def test_per_role_models_reach_the_server() -> None:
    with OpenAIServer(lambda request: f"{request['model']} here") as server:
        env = {
            "OPENAI_BASE_URL": server.base_url,
            "AGENTORCH_MODEL": "small",
            "AGENTORCH_PLANNER_MODEL": "large",
            "AGENTORCH_MAX_RETRIES": "0",
        }
        models = {"default": from_env(env=env), **models_from_env(["planner", "researcher"], env)}
        answers = {role: model.invoke("hi").content for role, model in models.items()}
    assert answers == {"default": "small here", "planner": "large here"}


def test_a_model_serves_successive_event_loops() -> None:
    """Two `asyncio.run`s against one endpoint: with langchain-openai's shared pool the second
    loop would be handed the first loop's connection and fail ("Event loop is closed")."""
    with OpenAIServer(["first", "second", "third"]) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "AGENTORCH_MODEL": "m", "AGENTORCH_MAX_RETRIES": "0"}
        model = from_env(env=env)
        assert asyncio.run(model.ainvoke("1")).content == "first"
        assert asyncio.run(from_env("critic", env=env).ainvoke("2")).content == "second"
        assert asyncio.run(model.ainvoke("3")).content == "third"
    assert len(server.requests) == 3


async def test_the_configured_timeout_applies_per_role() -> None:
    with OpenAIServer([Fault(hang=10), "fast"]) as server:
        env = {
            "OPENAI_BASE_URL": server.base_url,
            "AGENTORCH_MODEL": "m",
            "AGENTORCH_CRITIC_TIMEOUT": "0.3",
            "AGENTORCH_MAX_RETRIES": "0",
        }
        with pytest.raises(openai.APITimeoutError):
            await from_env("critic", env=env).ainvoke("judge")
        assert (await from_env("planner", env=env).ainvoke("plan")).content == "fast"
        assert [r.headers["x-stainless-read-timeout"] for r in server.requests] == ["0.3", "60.0"]


async def test_streamed_usage_is_reported_by_default_for_local_servers() -> None:
    with OpenAIServer(["streamed"]) as server:
        model = from_env(env={"OPENAI_BASE_URL": server.base_url, "AGENTORCH_MODEL": "m"})
        chunks = [chunk async for chunk in model.astream("hi")]
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.content == "streamed"
    assert total.usage_metadata is not None and total.usage_metadata["output_tokens"] == 2


# -- secrets ----------------------------------------------------------------------------


def test_the_api_key_never_appears_in_requests_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with OpenAIServer(["ok"]) as server:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url, "AGENTORCH_MODEL": "m"}
        model = from_env("planner", env=env)
        assert model.invoke("hi").content == "ok"

        [request] = server.requests
        assert request.headers["authorization"] == "[redacted]"  # the client did send it
        assert KEY not in repr(request)
    for text in (repr(model), str(model), dumps(model), str(dumpd(model)), caplog.text):
        assert KEY not in text
    assert "agentorch.llms" in {record.name for record in caplog.records}


def test_credentials_in_a_base_url_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="agentorch.llms")
    from_env(env={"OPENAI_BASE_URL": "http://user:hunter2@127.0.0.1:8000/v1", "AGENTORCH_MODEL": "m"})
    assert "hunter2" not in caplog.text
    assert "***@127.0.0.1:8000" in caplog.text
    with pytest.raises(ModelNotConfigured) as caught:
        from_env(env={"OPENAI_BASE_URL": "http://user:hunter2@127.0.0.1:8000/v1"})
    assert "hunter2" not in str(caught.value)


# -- the test-suite switch ---------------------------------------------------------------


def test_blocked_requests_to_remote_endpoints_raise_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AGENTORCH_BLOCK_MODEL_REQUESTS", raising=False)
    model = from_env("planner", env={"OPENAI_API_KEY": KEY})  # building is always fine
    monkeypatch.setenv("AGENTORCH_BLOCK_MODEL_REQUESTS", "1")
    with pytest.raises(
        ModelRequestsBlocked, match=re.escape("`planner` would call https://api.openai.com/v1")
    ):
        model.invoke("hi")
    with pytest.raises(ModelRequestsBlocked):
        model.with_structured_output(dict(title="T", type="object", properties={})).invoke("hi")
    assert KEY not in repr(model)


async def test_blocked_requests_still_reach_a_loopback_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTORCH_BLOCK_MODEL_REQUESTS", "true")
    with OpenAIServer(["local ok", "local ok"]) as server:
        for host in ("127.0.0.1", "localhost"):
            base_url = server.base_url.replace("127.0.0.1", host)
            model = from_env(env={"OPENAI_BASE_URL": base_url, "AGENTORCH_MODEL": "m"})
            assert (await model.ainvoke("hi")).content == "local ok"


def test_blocking_off_lets_calls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTORCH_BLOCK_MODEL_REQUESTS", "0")
    # a non-loopback name that resolves nowhere: the call gets past the guard to the network
    model = from_env(
        env={
            "OPENAI_BASE_URL": "http://agentorch-no-such-host.invalid/v1",
            "AGENTORCH_MODEL": "m",
            "AGENTORCH_MAX_RETRIES": "0",
            "AGENTORCH_TIMEOUT": "2",
        }
    )
    with pytest.raises(openai.APIConnectionError):
        model.invoke("hi")


def test_docstring_examples_run() -> None:
    import doctest

    import agentorch.llms._env as module

    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
