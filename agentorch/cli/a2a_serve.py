"""`agentorch a2a-serve`: serve a team as an A2A agent over HTTP (JSON-RPC, streaming)."""

from __future__ import annotations

import argparse
from typing import Any

from agentorch.cli.serve import add_server_options, serve_team


def register(sub: Any) -> None:
    """Add the `a2a-serve` command to the `agentorch` parser."""
    p = sub.add_parser(
        "a2a-serve",
        help="serve a team as an A2A agent (JSON-RPC over HTTP, streaming)",
        description="Serve a team as an A2A agent: the agent card at "
        "/.well-known/agent-card.json lists the team's agents as skills; each message starts a "
        "run (a task) and streams it; a run that pauses for approval asks for input, and a reply "
        "resumes it. With --checkpoints, runs and their A2A tasks outlive the server. The team "
        "runs on the model from the environment, like `agentorch run`.",
    )
    add_server_options(p)
    p.add_argument("--url", help="the public URL in the agent card (default http://HOST:PORT/)")
    p.set_defaults(func=_cmd_a2a_serve)


def _cmd_a2a_serve(args: argparse.Namespace) -> int:
    from agentorch._protocols.a2a import a2a_app

    url = args.url or f"http://{args.host}:{args.port}/"
    return serve_team(args, "a2a-serve", lambda team: a2a_app(team, url), "an A2A agent")
