"""Fixtures for tests that drive the real `ChatOpenAI` against the local `OpenAIServer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from agentorch.testing._openai_server import OpenAIServer

#: A key that must never show up in anything the tests can observe.
SECRET_KEY = "sk-agentorch-test-SECRET-0123456789"

MakeChat = Callable[..., ChatOpenAI]


@pytest.fixture
def secret_key() -> str:
    """The API key the test clients send."""
    return SECRET_KEY


@pytest.fixture
def make_chat() -> MakeChat:
    """Build a real ChatOpenAI pointed at a server: 5 s timeout, no retries unless asked."""

    def build(server: OpenAIServer, **overrides: Any) -> ChatOpenAI:
        params: dict[str, Any] = {
            "model": "test-model",
            "base_url": server.base_url,
            "api_key": SECRET_KEY,
            "timeout": 5.0,
            "max_retries": 0,
            "use_responses_api": False,
        }
        params.update(overrides)
        return ChatOpenAI(**params)

    return build
