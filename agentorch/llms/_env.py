"""Chat models configured from the environment: OpenAI, or any OpenAI-compatible server.

Variables read (empty values count as unset):

- `OPENAI_API_KEY`: the API key. Not needed for a local server (a placeholder is sent).
- `OPENAI_BASE_URL`: an OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8000/v1` (vLLM),
  `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8080/v1` (llama.cpp server).
  Unset means OpenAI itself.
- `AGENTORCH_MODEL`: the default model name (default `gpt-4o-mini` on OpenAI; required for a
  local server, which serves the names it was started with).
- `AGENTORCH_<ROLE>_MODEL`: the model for one role or agent, e.g. `AGENTORCH_PLANNER_MODEL`,
  `AGENTORCH_CRITIC_MODEL`, `AGENTORCH_RESEARCHER_MODEL`. The role is upper-cased and every
  character that is not a letter or digit becomes `_`
  ("code-review" -> `AGENTORCH_CODE_REVIEW_MODEL`).
- `AGENTORCH_TIMEOUT` / `AGENTORCH_<ROLE>_TIMEOUT`: seconds per HTTP attempt (default 60).
- `AGENTORCH_MAX_RETRIES` / `AGENTORCH_<ROLE>_MAX_RETRIES`: retries of the OpenAI SDK on
  connection errors, timeouts, 408/409/429/5xx (default 2).
- `AGENTORCH_BLOCK_MODEL_REQUESTS`: when true (the test suite sets it), models built here
  raise `ModelRequestsBlocked` at call time unless their endpoint is on loopback
  (127.0.0.1, ::1, localhost), so tests can use `agentorch.testing.OpenAIServer` but never a
  paid API. Read from `os.environ` at each call.
- `AGENTORCH_STREAM_USAGE`: ask for token usage in streamed replies (default true; set
  false for a server that rejects `stream_options`).
- `AGENTORCH_STRUCTURED_OUTPUT`: how plans and verdicts are asked for, "json_schema",
  "function_calling" or "json_mode" (`structured_output_from_env()`, read by `agentorch run`
  and `resume`; in code: `Team(structured_output_method=structured_output_from_env())`).
  llama-cpp-python's server needs "json_mode" (docs/models.md, "Local models").

Recipes:

    # OpenAI: a strong model to plan and judge, a cheap one for the specialists
    export OPENAI_API_KEY=sk-...
    export AGENTORCH_MODEL=gpt-4o-mini
    export AGENTORCH_PLANNER_MODEL=gpt-4o AGENTORCH_CRITIC_MODEL=gpt-4o

    # vLLM:      vllm serve Qwen/Qwen2.5-7B-Instruct --port 8000
    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 AGENTORCH_MODEL=Qwen/Qwen2.5-7B-Instruct
    # Ollama:    ollama pull llama3.1
    export OPENAI_BASE_URL=http://127.0.0.1:11434/v1 AGENTORCH_MODEL=llama3.1
    # llama.cpp: llama-server -m model.gguf --port 8080 --jinja   (--jinja enables tool calls)
    export OPENAI_BASE_URL=http://127.0.0.1:8080/v1 AGENTORCH_MODEL=local

In code: `Team(..., llm=from_env(), llms=models_from_env(["planner", "critic"]))`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import SecretStr

from agentorch._errors import ConfigError, ModelNotConfigured, ModelRequestsBlocked
from agentorch._models import STRUCTURED_OUTPUT_METHODS, StructuredOutputMethod

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MODEL",
    "DEFAULT_TIMEOUT",
    "ModelNotConfigured",
    "from_env",
    "model_configured",
    "models_from_env",
    "requests_blocked",
    "role_env_var",
]

logger = logging.getLogger("agentorch.llms")

DEFAULT_MODEL = "gpt-4o-mini"
"""The model used on OpenAI when neither `AGENTORCH_MODEL` nor a role override is set."""
DEFAULT_TIMEOUT = 60.0
"""Seconds per HTTP attempt when neither an argument nor `AGENTORCH_TIMEOUT` says otherwise."""
DEFAULT_MAX_RETRIES = 2
"""SDK retries when neither an argument nor `AGENTORCH_MAX_RETRIES` says otherwise."""

OPENAI_API_KEY = "OPENAI_API_KEY"
OPENAI_BASE_URL = "OPENAI_BASE_URL"
AGENTORCH_MODEL = "AGENTORCH_MODEL"
AGENTORCH_TIMEOUT = "AGENTORCH_TIMEOUT"
AGENTORCH_MAX_RETRIES = "AGENTORCH_MAX_RETRIES"
AGENTORCH_STREAM_USAGE = "AGENTORCH_STREAM_USAGE"
AGENTORCH_BLOCK_MODEL_REQUESTS = "AGENTORCH_BLOCK_MODEL_REQUESTS"
AGENTORCH_STRUCTURED_OUTPUT = "AGENTORCH_STRUCTURED_OUTPUT"

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the OpenAI SDK refuses to build a client without one.
LOCAL_PLACEHOLDER_KEY = "not-needed"

_SETUP_HINT = (
    "set OPENAI_API_KEY (and optionally AGENTORCH_MODEL, default gpt-4o-mini) for OpenAI, "
    "or OPENAI_BASE_URL=http://127.0.0.1:8000/v1 and AGENTORCH_MODEL=<name> for a local "
    "OpenAI-compatible server (vLLM, Ollama, llama.cpp)."
)


def role_env_var(role: str, setting: str = "MODEL") -> str:
    """The variable that overrides `setting` for `role`: `role_env_var("planner")` is
    `"AGENTORCH_PLANNER_MODEL"`; `role_env_var("code-review", "TIMEOUT")` is
    `"AGENTORCH_CODE_REVIEW_TIMEOUT"`.
    """
    if not isinstance(role, str) or not role.strip():
        raise ConfigError(f"A role must be a non-empty string, got {role!r}.")
    return f"AGENTORCH_{re.sub(r'[^A-Za-z0-9]', '_', role.strip()).upper()}_{setting}"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _setting(env: Mapping[str, str], role: str | None, setting: str) -> tuple[str, str] | None:
    """(variable, value) of the first set among the role's variable and the global one."""
    names = [role_env_var(role, setting)] if role is not None else []
    names.append(f"AGENTORCH_{setting}")
    for name in names:
        value = _get(env, name)
        if value is not None:
            return name, value
    return None


def _timeout(env: Mapping[str, str], role: str | None, timeout: float | None) -> float:
    if timeout is not None:
        source, value = "`timeout`", timeout
    elif (found := _setting(env, role, "TIMEOUT")) is not None:
        source, raw = f"`{found[0]}`", found[1]
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{source} must be a number of seconds, got {raw!r}.") from None
    else:
        return DEFAULT_TIMEOUT
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{source} must be a positive number of seconds, got {value!r}.")
    return float(value)


def _max_retries(env: Mapping[str, str], role: str | None, max_retries: int | None) -> int:
    if max_retries is not None:
        source, value = "`max_retries`", max_retries
    elif (found := _setting(env, role, "MAX_RETRIES")) is not None:
        source, raw = f"`{found[0]}`", found[1]
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{source} must be a whole number, got {raw!r}.") from None
    else:
        return DEFAULT_MAX_RETRIES
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{source} must be a whole number >= 0, got {value!r}.")
    return value


def _stream_usage(env: Mapping[str, str]) -> bool:
    raw = _get(env, AGENTORCH_STREAM_USAGE)
    if raw is None:
        return True
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"`{AGENTORCH_STREAM_USAGE}` must be true or false, got {raw!r}.")


def structured_output_from_env(env: Mapping[str, str] | None = None) -> StructuredOutputMethod | None:
    """The structured-output method `AGENTORCH_STRUCTURED_OUTPUT` names, or None when unset.

    Raises `ConfigError` for any other value.

    Example:
        >>> structured_output_from_env({"AGENTORCH_STRUCTURED_OUTPUT": "json_mode"})
        'json_mode'
    """
    raw = _get(os.environ if env is None else env, AGENTORCH_STRUCTURED_OUTPUT)
    if raw is None:
        return None
    for method in STRUCTURED_OUTPUT_METHODS:
        if raw == method:
            return method
    raise ConfigError(
        f"`{AGENTORCH_STRUCTURED_OUTPUT}` must be one of {', '.join(STRUCTURED_OUTPUT_METHODS)}, got {raw!r}."
    )


def _redact_url(url: str) -> str:
    """`url` without any `user:password@` part, for logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an IP address, IPv6 with or without brackets) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def requests_blocked() -> bool:
    """Whether `AGENTORCH_BLOCK_MODEL_REQUESTS` is set to a true value in `os.environ`."""
    value = os.environ.get(AGENTORCH_BLOCK_MODEL_REQUESTS, "").strip().lower()
    return value in ("1", "true", "yes", "on")


class _BlockRemoteRequests(BaseCallbackHandler):
    """Raises `ModelRequestsBlocked` before a call to a non-loopback endpoint while blocked."""

    raise_error = True  # make LangChain propagate the error instead of logging it

    def __init__(self, role: str | None, endpoint: str) -> None:
        self.role = role
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"_BlockRemoteRequests(endpoint={_redact_url(self.endpoint)!r})"

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        if requests_blocked() and not is_loopback_host(urlsplit(self.endpoint).hostname or ""):
            who = f"`{self.role}`" if self.role else "the default model"
            raise ModelRequestsBlocked(
                f"Model requests are blocked ({AGENTORCH_BLOCK_MODEL_REQUESTS}=1): {who} would "
                f"call {_redact_url(self.endpoint)}. Use `ScriptedChatModel` or "
                "`agentorch.testing.OpenAIServer` in tests, or unset "
                f"{AGENTORCH_BLOCK_MODEL_REQUESTS} to allow real calls."
            )


def model_configured(env: Mapping[str, str] | None = None, *, role: str | None = None) -> bool:
    """Whether `from_env(role, env=env)` can build a model (without building it).

    True with `OPENAI_API_KEY`, or with `OPENAI_BASE_URL` plus a model name
    (`AGENTORCH_MODEL`, or the role's `AGENTORCH_<ROLE>_MODEL`).
    """
    env = os.environ if env is None else env
    if _get(env, OPENAI_BASE_URL) is not None:
        return _setting(env, role, "MODEL") is not None
    return _get(env, OPENAI_API_KEY) is not None


def from_env(
    role: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> BaseChatModel:
    """Build a `ChatOpenAI` for `role` (or the default model) from environment variables.

    The model is `AGENTORCH_<ROLE>_MODEL`, else `AGENTORCH_MODEL`, else `gpt-4o-mini` on
    OpenAI. `timeout` (seconds per HTTP attempt) and `max_retries` (the OpenAI SDK's own
    retries) come from the arguments, else `AGENTORCH_<ROLE>_TIMEOUT` / `AGENTORCH_TIMEOUT`
    (and `..._MAX_RETRIES`), else 60 s and 2. A timeout is always set: ChatOpenAI's own
    default waits forever. Note that a call can take up to `(max_retries + 1) * timeout`
    plus back-off.

    Only the given `env` is read when one is passed (tests pass a dict); the endpoint and key
    are passed to the client explicitly, so `os.environ` cannot leak into the model.

    While `AGENTORCH_BLOCK_MODEL_REQUESTS` is true, the model raises `ModelRequestsBlocked`
    when called, unless its endpoint is on loopback.

    Raises:
        ModelNotConfigured: neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL` is set, or a local
            server is set without a model name.
        ConfigError: a timeout or retry count is not a valid number.

    Example:

        >>> model = from_env("planner", env={"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        ...                                  "AGENTORCH_MODEL": "qwen2.5"})
        >>> model.model_name
        'qwen2.5'
    """
    from langchain_openai import ChatOpenAI  # deferred: importing openai is slow

    from agentorch.llms._http import shared_async_client

    env = os.environ if env is None else env
    api_key = _get(env, OPENAI_API_KEY)
    base_url = _get(env, OPENAI_BASE_URL)
    if api_key is None and base_url is None:
        raise ModelNotConfigured(f"No model configured: {_SETUP_HINT}")
    model_setting = _setting(env, role, "MODEL")
    if model_setting is None and base_url is not None:
        which = f"{role_env_var(role)} or " if role is not None else ""
        raise ModelNotConfigured(
            f"No model name for the server at {_redact_url(base_url)}: set {which}"
            f"{AGENTORCH_MODEL} to a model it serves (e.g. the name given to `vllm serve` "
            "or `ollama pull`)."
        )
    model = model_setting[1] if model_setting is not None else DEFAULT_MODEL
    resolved_timeout = _timeout(env, role, timeout)
    resolved_retries = _max_retries(env, role, max_retries)

    local = base_url is not None
    endpoint = base_url or OPENAI_DEFAULT_BASE_URL
    chat = ChatOpenAI(
        model=model,
        api_key=SecretStr(api_key if api_key is not None else LOCAL_PLACEHOLDER_KEY),
        base_url=endpoint,
        timeout=resolved_timeout,
        max_retries=resolved_retries,
        # Budgets need usage from streamed calls too (LangGraph's "messages" mode streams).
        # ChatOpenAI would not ask for it when a base_url is set; vLLM, Ollama and llama.cpp
        # all honour `stream_options`; AGENTORCH_STREAM_USAGE=false for servers that don't.
        stream_usage=_stream_usage(env),
        # Local servers only speak Chat Completions; some model names (e.g. "codex") would
        # otherwise be routed to /v1/responses.
        use_responses_api=False if local else None,
        callbacks=[_BlockRemoteRequests(role, endpoint)],
        # a connection pool per event loop: runs on successive loops (two `asyncio.run`s)
        # would otherwise share langchain-openai's pool and fail with "Event loop is closed"
        http_async_client=shared_async_client(),
    )
    logger.debug(
        "model for role %s: %r at %s (timeout %.1f s, max_retries %d)",
        role or "(default)",
        model,
        _redact_url(endpoint),
        resolved_timeout,
        resolved_retries,
    )
    return chat


def models_from_env(
    roles: Iterable[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> dict[str, BaseChatModel]:
    """Per-role models, only for roles that have an override in the environment.

    A role is included when any of `AGENTORCH_<ROLE>_MODEL`, `AGENTORCH_<ROLE>_TIMEOUT` or
    `AGENTORCH_<ROLE>_MAX_RETRIES` is set; other roles use the team's default model, so
    `Team(..., llm=from_env(), llms=models_from_env(["planner", "critic", "researcher"]))`
    gives every role the right model.

    Raises:
        ModelNotConfigured: an override is set but no endpoint is (see `from_env`).
        ConfigError: two roles map to the same variables (e.g. "code-review" and
            "code_review"), or a value is invalid.
    """
    env = os.environ if env is None else env
    models: dict[str, BaseChatModel] = {}
    seen: dict[str, str] = {}
    for role in roles:
        variable = role_env_var(role)
        if variable in seen and seen[variable] != role:
            raise ConfigError(
                f"Roles {seen[variable]!r} and {role!r} share the variable `{variable}`: rename one of them."
            )
        seen[variable] = role
        overridden = any(
            _get(env, role_env_var(role, setting)) is not None
            for setting in ("MODEL", "TIMEOUT", "MAX_RETRIES")
        )
        if overridden:
            models[role] = from_env(role, env=env, timeout=timeout, max_retries=max_retries)
    return models
