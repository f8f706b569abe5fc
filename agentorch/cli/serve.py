"""`agentorch serve`: the live view, a local web page showing a team's runs as they happen; and
the server loop `agentorch a2a-serve` shares."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from agentorch._errors import AgentorchError
from agentorch._refs import TEAM_REF_HELP
from agentorch._team import Team
from agentorch.cli import DEFAULT_TEAM, EXIT_OK, EXIT_USAGE, load_team
from agentorch.cli.report import load_prices


def register(sub: Any) -> None:
    """Add the `serve` command to the `agentorch` parser."""
    p = sub.add_parser(
        "serve",
        help="the live view: a local web page that runs the team and shows the run as it happens",
        description="Serve the live view at http://HOST:PORT/: type a goal, and watch the plan "
        "fill in, each sub-task's text as it is written, the answer and the usage table; "
        "approvals are answered from the page. The page loads nothing from the internet. The "
        "run's events are AG-UI over SSE (POST /agui), for any AG-UI client. The team runs on "
        "the model from the environment, like `agentorch run`.",
    )
    add_server_options(p)
    p.add_argument(
        "--prices",
        metavar="JSON",
        help="price table per 1M tokens for the usage table: a JSON file or inline JSON",
    )
    p.set_defaults(func=_cmd_serve)


def add_server_options(p: argparse.ArgumentParser) -> None:
    """--team, --host, --port and --checkpoints, as every serving command takes them."""
    p.add_argument(
        "--team",
        default=DEFAULT_TEAM,
        help=f"the team: {TEAM_REF_HELP}; default: the research team ({DEFAULT_TEAM})",
    )
    p.add_argument("--host", default="127.0.0.1", help="host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="SQLite file keeping the runs across restarts (default: in memory)",
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from agentorch._protocols.live import live_app

    try:
        prices = load_prices(args.prices) if args.prices else None
    except AgentorchError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return serve_team(args, "serve", lambda team: live_app(team, prices=prices), "the live view")


def serve_team(args: argparse.Namespace, command: str, make_app: Callable[[Team], Any], what: str) -> int:
    """Load `args.team`, build its app (refusing a missing extra before anything listens) and
    serve it with uvicorn until stopped, on `args.checkpoints` if given."""
    try:
        team = load_team(args.team)
        make_app(team)
    except AgentorchError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    url = getattr(args, "url", None) or f"http://{args.host}:{args.port}/"
    print(f"agentorch: serving team `{team.name}` as {what} at {url}", file=sys.stderr)
    asyncio.run(_serve(team, make_app, args))
    return EXIT_OK


async def _serve(team: Team, make_app: Callable[[Team], Any], args: argparse.Namespace) -> None:
    import uvicorn
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def run() -> None:
        config = uvicorn.Config(make_app(team), host=args.host, port=args.port, log_level="warning")
        await uvicorn.Server(config).serve()

    if not args.checkpoints:
        await run()
        return
    async with AsyncSqliteSaver.from_conn_string(args.checkpoints) as saver:  # on the server's loop
        team.checkpointer = saver
        await run()
