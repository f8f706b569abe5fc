"""An async HTTP client for `ChatOpenAI` that keeps one connection pool per event loop.

langchain-openai shares one async httpx client per endpoint across the whole process. Its
pooled connections belong to the event loop that opened them, so a program that runs two
event loops one after the other — `asyncio.run(team.arun(...))` twice, or pytest-asyncio's
loop per test — fails on the second with "RuntimeError: Event loop is closed" when the
pool reuses or closes a connection of the first. `from_env` models use this client instead.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Any

import openai


class LoopLocalAsyncClient(openai.DefaultAsyncHttpxClient):
    """The OpenAI SDK's default async client, with a separate inner client per event loop.

    The SDK calls `build_request` (no I/O), `send`, `is_closed` and `aclose`; `send` and
    `aclose` go to the running loop's own client, made on first use with the SDK's defaults
    (limits, redirects, proxies from the environment). A closed loop's client is dropped
    with the loop.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kwargs = kwargs
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, openai.DefaultAsyncHttpxClient
        ] = weakref.WeakKeyDictionary()

    def _for_running_loop(self) -> openai.DefaultAsyncHttpxClient:
        loop = asyncio.get_running_loop()
        client = self._per_loop.get(loop)
        if client is None or client.is_closed:
            client = self._per_loop[loop] = openai.DefaultAsyncHttpxClient(**self._kwargs)
        return client

    async def send(self, request: Any, **kwargs: Any) -> Any:
        return await self._for_running_loop().send(request, **kwargs)

    async def aclose(self) -> None:
        """Close the running loop's connections (other loops' pools are left alone)."""
        client = self._per_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


@functools.cache
def shared_async_client() -> LoopLocalAsyncClient:
    """One client for every `from_env` model, so roles on one endpoint share connections.
    The SDK sends absolute URLs and a timeout per request, so one client serves all."""
    return LoopLocalAsyncClient()
