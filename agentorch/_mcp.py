"""MCP both ways: agents call the tools of MCP servers, and a team serves as one MCP tool.

Client side, `mcp_tools` loads the tools of MCP servers through langchain-mcp-adapters and
returns ordinary LangChain tools: an agent may call only those it is given, and approval, timeouts
and the record of every call apply to them as to local tools. Server side, `mcp_server` wraps a
team in a FastMCP server with one tool (goal in; answer and run summary out); `agentorch
mcp-serve` runs it over stdio or streamable HTTP.

Needs the `mcp` extra (`pip install "agentorch[mcp]"`); nothing here imports `mcp` until used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from agentorch._agent import mark_tool
from agentorch._errors import ConfigError, PlanError, RunFailed, describe_error
from agentorch._sync import run_sync
from agentorch._types import PendingInterrupt, RunResult, RunStatus, TokenUsage

if TYPE_CHECKING:
    from langchain_mcp_adapters.sessions import Connection
    from mcp.server.fastmcp import FastMCP

    from agentorch._team import Team

__all__ = ["TeamRunSummary", "mcp_server", "mcp_tools", "mcp_tools_sync"]

log = logging.getLogger("agentorch")
T = TypeVar("T")

_INSTALL = 'MCP support needs the `mcp` extra: pip install "agentorch[mcp]"'
_HTTP_TRANSPORTS = ("streamable_http", "streamable-http", "http", "sse")
_PROBE_SECONDS = 1.0
"""While an HTTP MCP tool call runs, how often to check that its server still listens: the `mcp`
1.x client never answers a call whose server died mid-call (modelcontextprotocol/python-sdk
#1577, fixed in 2.x, which langchain-mcp-adapters does not support yet)."""


# -- client: the tools of MCP servers as agent tools ---------------------------------------------


async def mcp_tools(
    servers: Mapping[str, Connection],
    *,
    requires_approval: Collection[str] = (),
    timeouts: Mapping[str, float] | None = None,
    prefix: bool = False,
) -> list[BaseTool]:
    """The tools of MCP servers, ready for `Agent(tools=...)`.

    Args:
        servers: server name -> langchain-mcp-adapters connection, e.g.
            `{"files": {"transport": "stdio", "command": "python", "args": ["server.py"]}}` or
            `{"docs": {"transport": "streamable_http", "url": "http://127.0.0.1:8000/mcp"}}`.
        requires_approval: names of tools that pause the run for a person before each call
            (as `@tool(requires_approval=True)`).
        timeouts: tool name -> seconds one call may take (as `@tool(timeout=...)`); other tools
            get the team's `tool_timeout`.
        prefix: name each tool `<server>_<tool>` (when two servers have tools of one name).

    Each call opens its own session (a stdio server is started for the call), so the tools work
    on any event loop, after a resume and in another process. A tool's text content is what the
    agent sees; a tool error, or a server that fails or dies during the call, is an error
    observation for the agent. Raises `ConfigError` when a server cannot be reached or a name
    in `requires_approval`/`timeouts` is not one of the tools found.

    Example:
        >>> tools = await mcp_tools({"facts": {"transport": "stdio", "command": "python",
        ...                                    "args": ["facts_server.py"]}},
        ...                         requires_approval=["delete_note"])  # doctest: +SKIP
        >>> Agent(name="researcher", role="Finds facts", tools=tools)  # doctest: +SKIP
    """
    try:
        from langchain_mcp_adapters.client import MultiServerMCPClient
    except ImportError as e:
        raise ConfigError(f"{_INSTALL} ({e}).") from None
    if not isinstance(servers, Mapping) or not servers:
        raise ConfigError(
            "`servers` must map server names to connections, e.g. "
            '{"files": {"transport": "stdio", "command": "python", "args": ["server.py"]}}.'
        )
    # isError results raise (not content): the call's record then shows it as an error
    client = MultiServerMCPClient(dict(servers), tool_name_prefix=prefix, handle_tool_errors=False)
    tools: list[BaseTool] = []
    for server, connection in servers.items():
        try:
            loaded = await client.get_tools(server_name=server)
        except Exception as e:
            raise ConfigError(
                f"Cannot list the tools of MCP server `{server}`: {describe_error(_root(e))}. "
                "Check its connection (transport, command and args, or url) and that it starts."
            ) from e
        tools += [_agent_tool(t, server, connection) for t in loaded]
    names = [t.name for t in tools]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"Several MCP servers have tools named {', '.join(dupes)}; pass `prefix=True`.")
    by_name = {t.name: t for t in tools}
    timeouts = dict(timeouts or {})
    if unknown := sorted((set(requires_approval) | set(timeouts)) - set(by_name)):
        raise ConfigError(
            f"No MCP tool named {', '.join(map(repr, unknown))} (found: {', '.join(sorted(by_name))})."
        )
    for name in requires_approval:
        mark_tool(by_name[name], requires_approval=True, timeout=None)
    for name, seconds in timeouts.items():
        mark_tool(by_name[name], requires_approval=False, timeout=seconds)
    log.info("loaded %d MCP tools from %s", len(tools), ", ".join(servers))
    return tools


def mcp_tools_sync(
    servers: Mapping[str, Connection],
    *,
    requires_approval: Collection[str] = (),
    timeouts: Mapping[str, float] | None = None,
    prefix: bool = False,
) -> list[BaseTool]:
    """`mcp_tools` for sync code (a script using `team.run`); works inside Jupyter too."""
    return run_sync(mcp_tools(servers, requires_approval=requires_approval, timeouts=timeouts, prefix=prefix))


def _agent_tool(t: BaseTool, server: str, connection: Mapping[str, Any]) -> BaseTool:
    """`t` (an adapter tool) answering with its text, its failures raised as `ToolException`."""
    url = connection.get("url") if connection.get("transport") in _HTTP_TRANSPORTS else None

    async def call(**args: Any) -> str:
        try:
            content = await (_unless_gone(t.ainvoke(args), url) if url else t.ainvoke(args))
        except ToolException as e:  # the server answered with an error (the adapter's own type)
            raise ToolException(str(e)) from e
        except Exception as e:  # transport and session failures: an observation, not a crash
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # a timeout whose cleanup failed (anyio)
                raise asyncio.CancelledError() from e
            raise ToolException(
                f"MCP server `{server}` failed during the call: {describe_error(_root(e))}"
            ) from e
        return _text(content)

    return StructuredTool(
        name=t.name,
        description=t.description,
        args_schema=t.args_schema,
        coroutine=call,
        metadata=dict(t.metadata or {}),
    )


async def _unless_gone(call: Awaitable[T], url: str) -> T:
    """`await call`, or raise `ConnectionError` once nothing listens at `url`'s host and port."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    running = asyncio.ensure_future(call)
    try:
        while True:
            done, _ = await asyncio.wait({running}, timeout=_PROBE_SECONDS)
            if done:
                return running.result()
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), _PROBE_SECONDS)
                writer.close()
            except ConnectionRefusedError:  # refused: the server is gone (a slow one still accepts)
                raise ConnectionError(f"the server at {host}:{port} stopped during the call") from None
            except (OSError, TimeoutError):
                pass  # unreachable or slow to accept: not proof that it died
    finally:
        if not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


def _root(e: BaseException) -> BaseException:
    """The one failure inside (nested) exception groups of one exception (anyio task groups)."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return e


def _text(content: Any) -> str:
    """The text of an MCP result's content blocks (other blocks named, not inlined)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, dict):
            parts.append(f"[{block.get('type', 'unknown')} content: {block.get('mime_type') or 'no type'}]")
        else:
            parts.append(str(block))
    return "\n".join(parts)


# -- server: a team as one MCP tool --------------------------------------------------------------


class TeamRunSummary(BaseModel):
    """What the MCP tool of a served team answers: the answer and a summary of the run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: str = Field(description="The team's answer.")
    status: RunStatus = Field(description="completed, max_rounds, budget_exhausted, failed, ...")
    rounds: int = Field(description="Critic rounds the run took.")
    usage: TokenUsage = Field(description="Model calls and tokens of the whole run.")
    subtasks: dict[str, str] = Field(description="Sub-task id -> its status.")
    thread_id: str = Field(description="The run's thread id on the server.")
    error: str = Field(default="", description="Why the run failed or stopped, if it did.")
    interrupts: list[PendingInterrupt] = Field(
        default_factory=list,
        description="What a run with status `interrupted` waits for: each approval's `id`, `kind` "
        "(plan or tool) and `payload` (the tool, its arguments, the sub-task). Answer them with "
        "the server's approval tool.",
    )

    @classmethod
    def of(cls, result: RunResult, error: str = "") -> TeamRunSummary:
        """The summary of `result`."""
        return cls(
            answer=result.answer,
            status=result.status,
            rounds=result.rounds,
            usage=result.usage.total,
            subtasks={k: r.status for k, r in result.results.items()},
            thread_id=result.thread_id,
            error=error or result.error,
            interrupts=result.interrupts,
        )


def mcp_server(
    team: Team, *, tool_name: str | None = None, host: str = "127.0.0.1", port: int = 8000
) -> FastMCP:
    """A FastMCP server with one tool that runs `team` on a goal, and one that answers the
    approvals a run waits for when the team has any (a gated tool or `approve_plan`).

    The first tool (named `tool_name`, default the team's name) takes `goal` and answers a
    `TeamRunSummary` (structured content, and the same as JSON text). A run that fails answers
    its partial summary with status `failed` and the error. A run that pauses for a person
    answers status `interrupted`, its `thread_id` and the `interrupts` that wait; the second tool
    (`{tool_name}_approve`) takes that `thread_id` and `decisions` ({interrupt id: true, false,
    or {"args": {...}}}) or `approve_all`, and `by`, resumes the run and answers its summary in
    the same way. An answer the run cannot take is a tool error saying why; the run keeps
    waiting. Serve it with `.run("stdio")` or `.run("streamable-http")` (on `host`:`port`, path
    `/mcp`), or `agentorch mcp-serve`.
    """
    try:
        from mcp.server.fastmcp import FastMCP
    except ImportError as e:
        raise ConfigError(f"{_INSTALL} ({e}).") from None
    server = FastMCP(team.name, host=host, port=port, log_level="WARNING")
    agents = "; ".join(f"{a.name}: {a.role}" for a in team.agents)
    name = tool_name or team.name

    async def summary_of(run: Awaitable[RunResult]) -> TeamRunSummary:
        try:
            result = await run
        except (RunFailed, PlanError) as e:
            if e.result is None:
                raise
            return TeamRunSummary.of(e.result.model_copy(update={"status": "failed"}), str(e))
        log.info("served run %s: %s", result.thread_id, result.status)
        return TeamRunSummary.of(result)

    async def run_team(goal: str) -> TeamRunSummary:
        return await summary_of(team.arun(goal))

    server.add_tool(
        run_team,
        name=name,
        description=f"Give the `{team.name}` team of agents a goal; it plans, works and answers. "
        f"Agents: {agents}."
        + (
            f" A run that waits for a person's approval answers status `interrupted`: answer with `{name}_approve`."
            if _can_pause(team)
            else ""
        ),
        structured_output=True,
    )
    if not _can_pause(team):
        return server

    async def approve(
        thread_id: str,
        decisions: dict[str, Any] | None = None,
        approve_all: bool | None = None,
        by: str | None = None,
    ) -> TeamRunSummary:
        return await summary_of(team.aresume(thread_id, decisions=decisions, approve_all=approve_all, by=by))

    server.add_tool(
        approve,
        name=f"{name}_approve",
        description=f"Answer the approvals a `{name}` run waits for (status `interrupted`) and "
        "continue it: `thread_id` from its summary; `decisions` maps each interrupt id to true "
        '(go ahead), false (no) or {"args": {...}} (run a tool with edited arguments); '
        "`approve_all` answers every one not in `decisions`; `by` names who decided.",
        structured_output=True,
    )
    return server


def _can_pause(team: Team) -> bool:
    """Whether a run of `team` can wait for a person."""
    from agentorch._agent import tool_needs_approval

    return team.approve_plan or any(tool_needs_approval(t) for a in team.agents for t in a.tools)
