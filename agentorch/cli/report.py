"""`agentorch report run.json -o report.html`: a saved run record as a self-contained HTML page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentorch._errors import ConfigError
from agentorch._types import ModelPrice, RunResult, normalize_prices

__all__ = ["register", "load_prices"]

EXIT_OK, EXIT_USAGE = 0, 2


def load_prices(spec: str) -> dict[str, ModelPrice]:
    """A price table from a JSON file or inline JSON: `{"model": [input, output]}` or
    `{"model": {"input": ..., "output": ...}}`, in price per 1M tokens."""
    text = spec
    if not spec.lstrip().startswith("{"):
        path = Path(spec)
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as e:
            raise ConfigError(f"Cannot read the price table `{spec}`: {e.strerror or e}.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"The price table `{spec}` is not UTF-8 text.") from None
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"The price table `{spec}` is not valid JSON: {e}.") from None
    return normalize_prices(raw)


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        result = RunResult.load(args.record)
        prices = load_prices(args.prices) if args.prices else None
        page = result.to_html(prices=prices, title=args.title)
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"Error: cannot read `{args.record}`: {e.strerror or e}.", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.output) if args.output else Path(args.record).with_suffix(".html")
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as e:
        print(f"Error: cannot write `{out}`: {e.strerror or e}.", file=sys.stderr)
        return EXIT_USAGE
    print(f"Report written to {out} ({len(result.history)} attempts, status {result.status})")
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add the `report` command to the `agentorch` parser."""
    p = subparsers.add_parser(
        "report",
        help="turn a saved run record into a self-contained HTML report",
        description="Write one self-contained HTML file (no network) from a run record saved "
        "with `--save` or `RunResult.save`: the plan DAG, a timeline of every attempt, the "
        "critic's rounds, usage and cost, and each sub-task's prompt, output and tool calls.",
    )
    p.add_argument("record", help="the run record (JSON) written by --save")
    p.add_argument("-o", "--output", help="the HTML file to write (default: RECORD with .html)")
    p.add_argument(
        "--prices",
        metavar="JSON",
        help="price table per 1M tokens: a JSON file or inline JSON like "
        "'{\"gpt-4o-mini\": [0.15, 0.60]}' (input, output)",
    )
    p.add_argument("--title", help="the page title (default: agentorch run report)")
    p.set_defaults(func=_cmd_report)
