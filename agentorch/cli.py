"""The `agentorch` command line: demo, run (and more commands as they are registered)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from agentorch._errors import AgentorchError, ConfigError, RunFailed
from agentorch._otel_export import install_sdk_from_env
from agentorch._refs import resolve_ref
from agentorch._report_cli import load_prices
from agentorch._team import Team
from agentorch._types import RunResult
from agentorch._view import JsonView, LiveView, PlainView, usage_table

__all__ = ["main", "load_team", "need_model"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# modules that add sub-commands: each has `register(subparsers) -> None`; a command's handler
# returns the exit code. Listed here, not discovered, so `--help` is the same everywhere.
_COMMAND_MODULES = ("agentorch.evals._cli", "agentorch._report_cli", "agentorch._mcp")


def load_team(spec: str) -> Team:
    """Load a `Team` from `path/to/file.py[:attr]` or `package.module[:attr]` (attr: `team`)."""
    target, _, attr = spec.partition(":")
    try:
        team = resolve_ref(f"{target}:{attr or 'team'}", base=Path.cwd())
    except LookupError as e:
        raise AgentorchError(f"Cannot load the team `{spec}`: {e}") from None
    if not isinstance(team, Team):
        raise AgentorchError(
            f"`{spec}` names a {type(team).__name__}, not a `Team`; "
            "point --team at a module that defines `team = Team(...)`."
        )
    return team


def _watch(team: Team, goal: str, args: argparse.Namespace) -> int:
    thread_id = args.thread_id or uuid.uuid4().hex
    console = Console(stderr=bool(args.json))
    try:
        prices = load_prices(args.prices) if args.prices else None
    except AgentorchError as e:
        console.print(f"Error: {e}", style="red", markup=False, soft_wrap=True)
        return EXIT_USAGE
    events = team.stream(goal, thread_id=thread_id)
    if args.json:
        view: Any = JsonView(sys.stdout)
    elif args.plain or not sys.stdout.isatty():
        view = PlainView(sys.stdout)
    else:
        view = LiveView(goal=goal, prices=prices)
    try:
        view.consume(events)
        result = team.result(thread_id)
    except RunFailed as e:
        console.print(f"Run failed: {e}", style="red", markup=False, soft_wrap=True)
        result = e.result
        _save(result, args.save, console)
        return EXIT_FAILED
    except AgentorchError as e:
        console.print(f"Error: {e}", style="red", markup=False, soft_wrap=True)
        return EXIT_FAILED
    _save(result, args.save, console)
    if not args.json:
        console.print(usage_table(result, prices))
    if result.status == "interrupted":
        console.print(f"Waiting for approval; continue with team.resume({thread_id!r}, approve=...).")
    return EXIT_OK if result.status in ("completed", "interrupted") else EXIT_FAILED


def _save(result: RunResult, path: str | None, console: Console) -> None:
    if path:
        result.save(path)
        console.print(f"Run record saved to {path}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from agentorch.graphs.research import DEMO_GOAL, build_team, demo_model

    team = build_team(demo_model(latency=args.latency))
    return _watch(team, args.goal or DEMO_GOAL, args)


def need_model(command: str = "run") -> bool:
    """Whether a model is configured in the environment; if not, say on stderr what to set."""
    from agentorch.llms import model_configured

    if os.environ.get("AGENTORCH_MODEL", "").strip().lower() == "scripted" or model_configured():
        return True
    print(
        f"agentorch {command} needs a model. Set OPENAI_API_KEY (and optionally AGENTORCH_MODEL, "
        "default gpt-4o-mini) for OpenAI, or OPENAI_BASE_URL=http://127.0.0.1:8000/v1 and "
        "AGENTORCH_MODEL=<model name> for a local OpenAI-compatible server (vLLM, Ollama, "
        "llama.cpp). AGENTORCH_MODEL=scripted runs the offline demo model.",
        file=sys.stderr,
    )
    return False


def _cmd_run(args: argparse.Namespace) -> int:
    if not need_model():
        return EXIT_USAGE
    try:
        team = load_team(args.team)
    except AgentorchError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return _watch(team, args.goal, args)


def _add_view_options(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plain", action="store_true", help="one line per event (default when not a terminal)")
    mode.add_argument("--json", action="store_true", help="JSON Lines event stream on stdout")
    p.add_argument("--save", metavar="FILE", help="write the run record (JSON) to FILE")
    p.add_argument("--thread-id", help="LangGraph thread id for the run (default: random)")
    p.add_argument(
        "--prices",
        metavar="JSON",
        help="price table per 1M tokens, to show cost: a JSON file or inline JSON like "
        "'{\"gpt-4o-mini\": [0.15, 0.60]}' (input, output)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `agentorch` command."""
    parser = argparse.ArgumentParser(prog="agentorch", description="Teams of LLM agents on LangGraph.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log INFO (-v) or DEBUG (-vv)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="run the bundled research team offline with a scripted model",
        description="Run the bundled research team end to end, offline, with a "
        "deterministic scripted model: plan, parallel research, a critic "
        "revision, and the final brief.",
    )
    demo.add_argument("goal", nargs="?", help="the goal (default: a brief on solid-state batteries)")
    demo.add_argument(
        "--latency", type=float, default=0.3, help="seconds per scripted model call (default 0.3)"
    )
    _add_view_options(demo)
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser(
        "run",
        help="run a team on a goal with a real model from the environment",
        description="Run a team on GOAL with the model configured in the "
        "environment (OPENAI_API_KEY / OPENAI_BASE_URL, AGENTORCH_MODEL).",
    )
    run.add_argument("goal", help="what the team should achieve")
    run.add_argument(
        "--team",
        default="agentorch.graphs.research",
        help="team file (path/to/team.py[:attr]) or module[:attr]; default: the research team",
    )
    _add_view_options(run)
    run.set_defaults(func=_cmd_run)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agentorch` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        tracing = install_sdk_from_env()  # OTLP export when the OTEL_* variables ask for it
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    finally:
        if tracing is not None:
            tracing.shutdown()  # flushes the spans still batched


if __name__ == "__main__":
    sys.exit(main())
