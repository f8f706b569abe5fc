"""`block_model_requests()`: no real model call leaves the machine while it is active.

Two layers: the `AGENTORCH_BLOCK_MODEL_REQUESTS` variable, which models built by
`agentorch.llms.from_env` check before each call; and a guard on the openai SDK's request hook
(`_prepare_request` of its sync and async clients), which stops any `ChatOpenAI` or `openai`
client — however it was built — from sending to a non-loopback host. Loopback hosts stay
allowed, so local test servers (`agentorch.testing.OpenAIServer`) keep working.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Iterator
from typing import Any

from agentorch import ModelRequestsBlocked
from agentorch.llms import requests_blocked
from agentorch.llms._env import is_loopback_host

__all__ = ["block_model_requests", "install_openai_guard", "BLOCK_ENV"]

BLOCK_ENV = "AGENTORCH_BLOCK_MODEL_REQUESTS"
_guard_lock = threading.Lock()
_guard_installed = False


@contextlib.contextmanager
def block_model_requests() -> Iterator[None]:
    """Block real model requests inside the block (env var + openai client guard).

    Example:
        >>> from agentorch.testing import block_model_requests
        >>> with block_model_requests():
        ...     pass  # ChatOpenAI(...).invoke(...) to a remote host raises ModelRequestsBlocked
    """
    previous = os.environ.get(BLOCK_ENV)
    os.environ[BLOCK_ENV] = "1"
    install_openai_guard()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(BLOCK_ENV, None)
        else:
            os.environ[BLOCK_ENV] = previous


def install_openai_guard() -> bool:
    """Make the openai SDK refuse non-loopback requests while requests are blocked.

    Idempotent; the guard reads the environment on every request, so it does nothing once
    `AGENTORCH_BLOCK_MODEL_REQUESTS` is unset. Returns False when openai is not installed.
    """
    global _guard_installed
    with _guard_lock:
        if _guard_installed:
            return True
        try:
            import openai
        except ImportError:
            return False
        for client in (openai.OpenAI, openai.AsyncOpenAI):
            for cls in client.__mro__:
                hook = cls.__dict__.get("_prepare_request")
                if hook is not None and not getattr(hook, "_agentorch_guard", False):
                    cls._prepare_request = _guarded(hook)  # type: ignore[attr-defined]
        _guard_installed = True
        return True


def _check(request: Any) -> None:
    if not requests_blocked():
        return
    host = request.url.host or ""
    if not is_loopback_host(host):
        raise ModelRequestsBlocked(
            f"Model requests are blocked ({BLOCK_ENV}=1): an openai client tried to reach "
            f"{request.url.scheme}://{host}{request.url.path}. Use ScriptedChatModel, "
            f"ReplayChatModel or agentorch.testing.OpenAIServer in tests, or unset {BLOCK_ENV}."
        )


def _guarded(hook: Any) -> Any:
    if inspect.iscoroutinefunction(hook):

        @functools.wraps(hook)
        async def aguard(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            _check(request)
            return await hook(self, request, *args, **kwargs)

        aguard._agentorch_guard = True  # type: ignore[attr-defined]
        return aguard

    @functools.wraps(hook)
    def guard(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        _check(request)
        return hook(self, request, *args, **kwargs)

    guard._agentorch_guard = True  # type: ignore[attr-defined]
    return guard
