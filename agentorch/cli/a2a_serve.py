"""`agentorch a2a-serve`: serve a team as an A2A agent over HTTP (JSON-RPC, streaming)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from agentorch._errors import AgentorchError
from agentorch.cli import EXIT_OK, EXIT_USAGE, load_team, need_model


def register(sub: Any) -> None:
    """Add the `a2a-serve` command to the `agentorch` parser."""
    p = sub.add_parser(
        "a2a-serve",
        help="serve a team as an A2A agent (JSON-RPC over HTTP, streaming)",
        description="Serve a team as an A2A agent: the agent card at "
        "/.well-known/agent-card.json lists the team's agents as skills; each message starts a "
        "run (a task) and streams it; a run that pauses for approval asks for input, and a reply "
        "resumes it. The team runs on the model from the environment, like `agentorch run`.",
    )
    p.add_argument(
        "--team",
        default="agentorch.graphs.research",
        help="team file (path/to/team.py[:attr]) or module[:attr]; default: the research team",
    )
    p.add_argument("--host", default="127.0.0.1", help="host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--url", help="the public URL in the agent card (default http://HOST:PORT/)")
    p.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="SQLite file keeping the runs and their A2A tasks across restarts (default: in memory)",
    )
    p.set_defaults(func=_cmd_a2a_serve)


def _cmd_a2a_serve(args: argparse.Namespace) -> int:
    if not need_model("a2a-serve"):
        return EXIT_USAGE
    try:
        team = load_team(args.team)
        from agentorch._protocols.a2a import a2a_app

        url = args.url or f"http://{args.host}:{args.port}/"
        a2a_app(team, url)  # refuses a missing extra before anything listens
    except AgentorchError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"agentorch: serving team `{team.name}` over A2A at {url}", file=sys.stderr)
    asyncio.run(_serve(team, url, args))
    return EXIT_OK


async def _serve(team: Any, url: str, args: argparse.Namespace) -> None:
    import uvicorn
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agentorch._protocols.a2a import a2a_app

    async def run() -> None:
        config = uvicorn.Config(a2a_app(team, url), host=args.host, port=args.port, log_level="warning")
        await uvicorn.Server(config).serve()

    if not args.checkpoints:
        await run()
        return
    async with AsyncSqliteSaver.from_conn_string(args.checkpoints) as saver:  # on the server's loop
        team.checkpointer = saver
        await run()
