"""`agentorch mcp-serve`: serve a team as one MCP tool, over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from agentorch._errors import AgentorchError
from agentorch._mcp import mcp_server
from agentorch._refs import TEAM_REF_HELP
from agentorch.cli import DEFAULT_TEAM, EXIT_OK, EXIT_USAGE, load_team


def register(sub: Any) -> None:
    """Add the `mcp-serve` command to the `agentorch` parser."""
    p = sub.add_parser(
        "mcp-serve",
        help="serve a team as one MCP tool (stdio, or streamable HTTP with --http)",
        description="Serve a team as an MCP server with one tool: goal in, answer and run "
        "summary (status, rounds, usage) out. Over stdio by default (for MCP clients that start "
        "the server), or streamable HTTP at http://HOST:PORT/mcp with --http. The team runs on "
        "its own models, or a team function on the model from the environment, like `agentorch run`.",
    )
    p.add_argument(
        "--team",
        default=DEFAULT_TEAM,
        help=f"the team: {TEAM_REF_HELP}; default: the research team ({DEFAULT_TEAM})",
    )
    p.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--tool-name", help="the tool's name (default: the team's name)")
    p.set_defaults(func=_cmd_mcp_serve)


def _client_hung_up(record: logging.LogRecord) -> bool:
    """False for the `ClosedResourceError` the mcp SDK logs at ERROR, with a traceback, when a
    client ends its session's event stream (every client does, after its calls succeeded)."""
    error = record.exc_info[1] if record.exc_info else None
    return not (error is not None and type(error).__name__ == "ClosedResourceError")


def _cmd_mcp_serve(args: argparse.Namespace) -> int:
    try:
        server = mcp_server(load_team(args.team), tool_name=args.tool_name, host=args.host, port=args.port)
    except AgentorchError as e:  # stdout is the protocol channel: messages go to stderr
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.http:
        logging.getLogger("mcp.server.streamable_http").addFilter(_client_hung_up)
    where = f"http://{args.host}:{args.port}/mcp" if args.http else "stdio"
    print(f"agentorch: serving team `{server.name}` over MCP ({where})", file=sys.stderr)
    server.run("streamable-http" if args.http else "stdio")
    return EXIT_OK
