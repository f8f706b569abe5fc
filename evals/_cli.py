"""`agentorch eval PATH...`: run suites, print tables, write results.json and report.html."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentorch import ConfigError
from agentorch.evals._report import (
    Comparison,
    compare_results,
    load_results,
    summary_counts,
    write_html,
    write_results,
)
from agentorch.evals._runner import CaseResult, SuiteResult, case_matches, run_suites
from agentorch.evals._suite import Suite, load_suites

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add `agentorch eval` to the `agentorch` command."""
    p = subparsers.add_parser(
        "eval",
        help="run eval suites offline and report",
        description="Run eval suites (YAML files or directories of them) offline: cases run "
        "concurrently, each on a fresh team and model. Prints a table per suite, writes "
        "results.json and report.html, and exits 1 when any case fails.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="suite files or directories")
    p.add_argument(
        "--concurrency", "-c", type=int, default=4, help="cases run at once in each process (default 4)"
    )
    p.add_argument(
        "--workers",
        "-w",
        type=int,
        default=1,
        help="processes to spread the cases over (default 1); results keep case order",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="eval-results",
        help="where results.json and report.html go (default ./eval-results)",
    )
    p.add_argument(
        "--compare",
        metavar="PREVIOUS.json",
        help="show regressions/improvements against an earlier results.json",
    )
    p.add_argument(
        "-k",
        dest="filters",
        action="append",
        metavar="FILTER",
        help="run cases whose 'suite::case' contains FILTER or that carry the tag FILTER (repeatable)",
    )
    p.add_argument(
        "--langsmith",
        action="store_true",
        help="upload cases as a dataset and the run as an experiment (needs LANGSMITH_API_KEY)",
    )
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    core_log = logging.getLogger("agentorch")
    level = core_log.level
    if not getattr(args, "verbose", 0):
        # a failing case is reported in its row; the runs' own warnings would only repeat it
        core_log.setLevel(logging.ERROR)
    try:
        return _eval(args)
    finally:
        core_log.setLevel(level)


def _eval(args: argparse.Namespace) -> int:
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # files and CI logs: room for the scores column
    errors = Console(stderr=True, soft_wrap=True)  # an error line is never re-wrapped
    if args.concurrency < 1 or args.workers < 1:
        errors.print("[red]Error:[/red] --concurrency and --workers must be >= 1")
        return EXIT_USAGE
    try:
        suites = load_suites(args.paths)
        previous = load_results(args.compare) if args.compare else None
    except ConfigError as e:
        errors.print(f"Error: {e}", markup=False, highlight=False)
        return EXIT_USAGE
    total = sum(1 for s in suites for c in s.cases if case_matches(s, c, args.filters))
    if total == 0:
        errors.print("No cases to run (check the paths and -k filters).")
        return EXIT_USAGE
    started = time.perf_counter()
    results = _run_with_progress(suites, args, total, errors)
    duration = time.perf_counter() - started
    for s in results:
        console.print(suite_table(s))
    out = Path(args.out)
    write_results(results, out / "results.json", duration=duration)
    comparison = compare_results(previous, results) if previous is not None else None
    write_html(results, out / "report.html", comparison=comparison)
    if comparison is not None:
        print_comparison(comparison, console)
    counts = summary_counts(results)
    console.print(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors "
        f"in {duration:.1f}s · {out / 'results.json'} · {out / 'report.html'}",
        highlight=False,
    )
    if args.langsmith:
        from agentorch.evals._langsmith import upload_to_langsmith

        console.print(upload_to_langsmith(suites, results), highlight=False)
    return EXIT_OK if counts["failed"] == counts["error"] == 0 else EXIT_FAILED


def _run_with_progress(
    suites: Sequence[Suite], args: argparse.Namespace, total: int, console: Console
) -> list[SuiteResult]:
    columns = (
        TextColumn("eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("cases", total=total, last="")

        def done(c: CaseResult) -> None:
            progress.update(task, advance=1, last=f"{c.key} {c.outcome}")

        return run_suites(
            suites,
            concurrency=args.concurrency,
            workers=args.workers,
            filters=args.filters,
            on_case_done=done,
        )


def suite_table(suite: SuiteResult) -> Table:
    """A rich table of one suite: case, outcome, status, scores, tokens, duration."""
    counts = suite.counts()
    table = Table(title=f"{suite.name}: {counts['passed']}/{len(suite.cases)} passed", title_justify="left")
    for col, justify in (
        ("case", "left"),
        ("outcome", "left"),
        ("status", "left"),
        ("scores", "left"),
        ("tokens", "right"),
        ("calls", "right"),
        ("seconds", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=col != "scores")  # type: ignore[arg-type]
    style = {"passed": "green", "failed": "red", "error": "yellow"}
    for c in suite.cases:
        ok = sum(s.passed for s in c.scores)
        failed = [f"✘ {s.name}: {s.detail}" for s in c.scores if not s.passed]
        if c.outcome == "error":
            failed.append(c.error)
        table.add_row(
            c.case,
            f"[{style[c.outcome]}]{c.outcome}[/]",
            c.status,
            "\n".join([f"{ok}/{len(c.scores)}", *failed]),
            str(c.tokens),
            str(c.llm_calls),
            f"{c.duration:.2f}",
        )
    return table


def print_comparison(cmp: Comparison, console: Console) -> None:
    """Regressions and improvements against the previous results."""
    if not (cmp.regressions or cmp.improvements or cmp.new or cmp.removed or cmp.score_changes):
        console.print("Compared with the previous run: no changes.")
        return
    for title, keys, style in (
        ("Regressions", cmp.regressions, "red"),
        ("Improvements", cmp.improvements, "green"),
        ("New cases", cmp.new, ""),
        ("Removed cases", cmp.removed, ""),
    ):
        if keys:
            console.print(f"[{style or 'bold'}]{title} ({len(keys)}):[/] " + ", ".join(keys), highlight=False)
    for key, flips in cmp.score_changes.items():
        if key not in cmp.regressions and key not in cmp.improvements:
            console.print(f"Score changes in {key}: " + "; ".join(flips), highlight=False)
