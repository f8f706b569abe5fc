"""The `agentorch` command line: demo, run, resume, runs (and more commands as they are
registered)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import importlib
import json
import logging
import os
import shlex
import shutil
import sys
import uuid
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from rich.console import Console

from agentorch._engine.events import Event, PlanCreated, finished_event
from agentorch._errors import (
    AgentorchError,
    ConfigError,
    CriticError,
    ModelNotConfigured,
    PlanError,
    RunFailed,
)
from agentorch._keys import CRITIC, PLANNER, SUMMARIZER, SYNTHESIZER
from agentorch._models import STRUCTURED_OUTPUT_METHODS, Cascade, ChatModel, members, model_label
from agentorch._observe.otel_export import install_sdk_from_env
from agentorch._refs import TEAM_REF_HELP, resolve_team, takes_model
from agentorch._render.view import JsonView, LiveView, PlainView, usage_table
from agentorch._sync import iterate_sync, run_sync
from agentorch._team import Team
from agentorch._types import PendingInterrupt, RunResult
from agentorch.cli.approvals import ALL, ask, from_flags, show_waiting
from agentorch.cli.report import load_prices
from agentorch.cli.store import (
    Origin,
    RunRow,
    list_runs,
    load_origin,
    open_checkpoints,
    save_origin,
    thread_status,
)
from agentorch.llms._env import structured_output_from_env

__all__ = ["main", "load_team", "describe_models", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_WAITING"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_WAITING = 3
"""The run waits for a person's approval (and nobody could be asked): `agentorch resume` it."""
EXIT_STOPPED = 130  # Ctrl-C, as shells report SIGINT

DEFAULT_TEAM = "agentorch.graphs.research:build_team"
"""The team `run` and `mcp-serve` use without `--team`: the research team, on the environment's model."""

# modules that add sub-commands: each has `register(subparsers) -> None`; a command's handler
# returns the exit code. Listed here, not discovered, so `--help` is the same everywhere.
_COMMAND_MODULES = (
    "agentorch.evals._cli",
    "agentorch.cli.report",
    "agentorch.cli.mcp_serve",
    "agentorch.cli.a2a_serve",
    "agentorch.cli.serve",
)


def load_team(spec: str) -> Team:
    """The `Team` a team reference names (`agentorch._refs.TEAM_REF_HELP`): a `Team` as it is,
    a function with no required argument called, a function taking a model called with the
    model the environment configures (`AGENTORCH_MODEL=scripted`: the research demo's model).

    A file is executed on every call, so each command gets a team of its own."""
    return _load_team(spec)[0]


def _load_team(spec: str) -> tuple[Team, ChatModel | None]:
    """The team `spec` names, and the environment's model if the team took it."""
    try:
        found = resolve_team(spec, base=Path.cwd(), fresh=True)
    except LookupError as e:
        raise ConfigError(f"Cannot load the team `{spec}`: {e}") from None
    if isinstance(found, Team):
        return found, None
    env_model = _environment_model(spec) if takes_model(found) else None
    try:
        team = found(env_model) if env_model is not None else found()
    except AgentorchError:
        raise
    except Exception as e:
        raise ConfigError(f"Building the team `{spec}` failed: {type(e).__name__}: {e}") from None
    if not isinstance(team, Team):
        raise ConfigError(f"`{spec}` returned a {type(team).__name__}, not a `Team`.")
    return team, env_model


def _environment_model(spec: str) -> ChatModel:
    """The model the environment configures, for a team function that takes one."""
    if os.environ.get("AGENTORCH_MODEL", "").strip().lower() == "scripted":
        from agentorch.graphs.research import demo_model

        return demo_model()
    from agentorch.llms import from_env

    try:
        return from_env()
    except ModelNotConfigured as e:
        raise ModelNotConfigured(
            f"The team `{spec}` takes its model from the environment, and none is configured. {e} "
            "(AGENTORCH_MODEL=scripted gives the research demo's offline model.) A team that brings "
            "its own model (`Team(..., llm=...)`) needs none of these."
        ) from None


def _roles(team: Team) -> list[str]:
    """Every role of `team` that calls a model, in the order a run meets them."""
    roles = [PLANNER, *team.agent_names]
    if team.critic:
        roles.append(CRITIC)
    roles.append(SYNTHESIZER)
    if team.memory is not None:
        roles.append(SUMMARIZER)
    return roles


def describe_models(team: Team, env_model: ChatModel | None = None) -> str:
    """Which model each role of `team` uses, and whether the team or the environment gave it:
    `models: gpt-4o-mini (environment) for planner, writer, critic, synthesizer`."""
    groups: dict[str, list[str]] = {}
    for role in _roles(team):
        spec = team.model_spec(role)
        label = repr(spec) if isinstance(spec, Cascade) else model_label(spec)
        source = (
            "environment" if env_model is not None and any(m is env_model for m in members(spec)) else "team"
        )
        groups.setdefault(f"{label} ({source})", []).append(role)
    return "models: " + "; ".join(f"{k} for {', '.join(v)}" for k, v in groups.items())


def _env_prefix(env_model: ChatModel | None) -> str:
    """The settings a team that took the environment's model needs again to resume, as a
    shell prefix (never the API key: it stays where you keep it)."""
    if env_model is None:
        return ""
    found = [
        f"{k}={shlex.quote(v)}"
        for k in ("OPENAI_BASE_URL", "AGENTORCH_MODEL")
        if (v := os.environ.get(k, ""))
    ]
    return "".join(f"{f} " for f in found)


# Teams the command gave a checkpoint file or plan approval. It sets them on a team that has
# not run yet (Team compiles its graph, with its saver, on the first run); a team object it
# already set up once in this process (a module's team, run twice through `main`) is refused.
_SET_UP: weakref.WeakSet[Team] = weakref.WeakSet()


def _set_up(team: Team, checkpointer: AsyncSqliteSaver | None, approve_plan: bool) -> None:
    if checkpointer is None and not approve_plan:
        return
    if team in _SET_UP:
        raise ConfigError(
            "This team object was already run by the command in this process, so it cannot take "
            "another checkpoint file; name a team file (`--team path/to/team.py`), which is "
            "loaded afresh for every command."
        )
    _SET_UP.add(team)
    if checkpointer is not None:
        team.close()  # a saver the team opened from a string of its own gives way to the file
        team.checkpointer = checkpointer
    if approve_plan:
        team.approve_plan = True


def _team_ref(spec: str) -> str:
    """`spec` with a file path made absolute, so `resume` finds the file from anywhere."""
    target, sep, attr = spec.partition(":")
    if target.endswith(".py"):
        target = str(Path(target).resolve())
    return target + sep + attr


def _build(origin: Origin, args: argparse.Namespace) -> tuple[Team, ChatModel | None]:
    """The team a command starts (or resumes) from its origin, and the environment's model if
    it took it; with the structured-output method `--structured-output` or
    `AGENTORCH_STRUCTURED_OUTPUT` names, if any."""
    if origin.command == "demo":
        from agentorch.graphs.research import build_team, demo_model

        team, env_model = build_team(demo_model(latency=float(origin.options.get("latency", 0.3)))), None
    else:
        team, env_model = _load_team(origin.team)
    method = getattr(args, "structured_output", None) or structured_output_from_env()
    if method:
        team.structured_output_method = method
    return team, env_model


def _default_approver() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "cli"


class _Session:
    """One command's work on one thread: its team, where its checkpoints live, how it shows
    events and asks for approvals."""

    def __init__(
        self,
        team: Team,
        thread_id: str,
        args: argparse.Namespace,
        prices: Any,
        env_model: ChatModel | None = None,
    ) -> None:
        self.team, self.thread_id, self.args, self.prices = team, thread_id, args, prices
        self.env_model = env_model
        self.console = Console(stderr=bool(args.json))
        self.asker = Console(
            stderr=True, soft_wrap=True, highlight=False
        )  # prompts and hints: visible even when stdout is piped
        self.checkpoints: str | None = getattr(args, "checkpoints", None)
        self.by = args.by or _default_approver()

    def view(self, goal: str) -> Any:
        if self.args.json:
            return JsonView(sys.stdout)
        if self.args.plain or not sys.stdout.isatty():
            return PlainView(sys.stdout)
        return LiveView(goal=goal, prices=self.prices)

    def interactive(self) -> bool:
        return sys.stdin.isatty() and not self.args.no_input

    def ask(self, pending: list[PendingInterrupt]) -> dict[str, Any] | None:
        """The person's answers, or None (after saying how to continue) to decide later."""
        if self.interactive():
            answers = ask(pending, self.team, self.asker, by=self.by)
            if answers is not None:
                return answers
        show_waiting(
            pending,
            self.asker,
            thread_id=self.thread_id,
            checkpoints=self.checkpoints,
            prefix=_env_prefix(self.env_model),
        )
        return None

    def announce(self) -> None:
        """Say the thread, where it is kept, and which model each role uses."""
        where = f" · checkpoints {self.checkpoints}" if self.checkpoints else ""
        self.asker.print(f"thread {self.thread_id}{where}", markup=False, soft_wrap=True)
        self.asker.print(describe_models(self.team, self.env_model), markup=False, soft_wrap=True)

    def follow(self, events: Iterable[Event], view: Any) -> int:
        """Show `events`, ask for approvals whenever the run pauses, and return the exit code."""
        tid = self.thread_id
        while True:
            try:
                try:
                    view.consume(events)
                finally:  # stop the run if the view did (Ctrl-C, a closed pipe) before the saver closes
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()
                result = self.team.result(tid)
            except (RunFailed, PlanError) as e:
                # the run's own error, without the Python API's `team.resume(...)` hint
                failed = e.result
                message = failed.error if failed is not None and failed.error else str(e)
                self.console.print(f"Run failed: {message}", style="red", markup=False, soft_wrap=True)
                if failed is not None:
                    _save(failed, self.args.save, self.console)
                if self.checkpoints and isinstance(e, RunFailed) and not isinstance(e, CriticError):
                    self.asker.print(
                        f"Once the cause is fixed, continue with: {self.resume_command()}",
                        markup=False,
                        soft_wrap=True,
                    )
                return EXIT_FAILED
            except AgentorchError as e:
                self.console.print(f"Error: {e}", style="red", markup=False, soft_wrap=True)
                return EXIT_FAILED
            except KeyboardInterrupt:
                hint = f"continue with: {self.resume_command()}" if self.checkpoints else "nothing was kept"
                self.asker.print(f"Stopped ({hint}).", markup=False)
                return EXIT_STOPPED
            if result.status != "interrupted":
                break
            answers = self.ask(result.interrupts)
            if answers is None:
                _save(result, self.args.save, self.console)
                return EXIT_WAITING
            if isinstance(view, LiveView):
                view.board.notes.append(f"answered {len(answers)} approval(s); resuming")
            events = iterate_sync(self.team.aresume_stream(tid, decisions=answers, tokens=True))
        _save(result, self.args.save, self.console)
        if not self.args.json:
            self.console.print(usage_table(result, self.prices))
        return EXIT_OK if result.status == "completed" else EXIT_FAILED

    def resume_command(self) -> str:
        return (
            f"{_env_prefix(self.env_model)}agentorch resume {shlex.quote(self.thread_id)} "
            f"--checkpoints {shlex.quote(str(self.checkpoints))}"
        )


def _error(message: str) -> int:
    Console(stderr=True).print(f"Error: {message}", style="red", markup=False, soft_wrap=True)
    return EXIT_USAGE


def _start(origin: Origin, goal: str, args: argparse.Namespace) -> int:
    """Run a new thread of the team `origin` names on `goal` (run and demo)."""
    try:
        prices = load_prices(args.prices) if args.prices else None
        team, env_model = _build(origin, args)
    except AgentorchError as e:
        return _error(str(e))
    thread_id = args.thread_id or uuid.uuid4().hex
    with contextlib.ExitStack() as stack:
        saver = None
        if args.checkpoints:
            try:
                saver = stack.enter_context(open_checkpoints(args.checkpoints, create=True))
            except ConfigError as e:
                return _error(str(e))
            if run_sync(thread_status(saver, thread_id)) is not None:
                return _error(
                    f"thread {thread_id!r} already holds a run in `{args.checkpoints}`: "
                    f"`{_env_prefix(env_model)}agentorch resume {shlex.quote(thread_id)} --checkpoints "
                    f"{shlex.quote(args.checkpoints)}` continues it, or leave out --thread-id for a new one.",
                )
            save_origin(args.checkpoints, thread_id, origin)
        try:
            _set_up(team, saver, bool(origin.options.get("approve_plan")))
        except ConfigError as e:
            return _error(str(e))
        session = _Session(team, thread_id, args, prices, env_model)
        session.announce()
        return session.follow(team.stream(goal, thread_id=thread_id, tokens=True), session.view(goal))


def _cmd_demo(args: argparse.Namespace) -> int:
    from agentorch.graphs.research import DEMO_GOAL

    options: dict[str, Any] = {"latency": args.latency, "approve_plan": args.approve_plan}
    return _start(Origin("demo", options=options), args.goal or DEMO_GOAL, args)


def _cmd_run(args: argparse.Namespace) -> int:
    origin = Origin("run", team=_team_ref(args.team), options={"approve_plan": args.approve_plan})
    return _start(origin, args.goal, args)


def _cmd_resume(args: argparse.Namespace) -> int:
    flags = bool(args.approve or args.deny or args.edit)
    tid, path = args.thread, args.checkpoints
    try:
        prices = load_prices(args.prices) if args.prices else None
        with open_checkpoints(path, create=False) as saver:
            status = run_sync(thread_status(saver, tid))
            if status is None:
                raise ConfigError(
                    f"No run on thread {tid!r} in `{path}`; `agentorch runs --checkpoints {path}` lists them."
                )
            if status not in ("interrupted", "unfinished"):
                raise ConfigError(f"The run on thread {tid!r} has already finished (status {status}).")
            origin = load_origin(path, tid)
            if args.team:
                options = origin.options if origin is not None else {}
                origin = Origin(
                    "run", team=_team_ref(args.team), options={"approve_plan": options.get("approve_plan")}
                )
            elif origin is None:
                raise ConfigError(
                    f"Thread {tid!r} was not started by the agentorch command; pass "
                    "`--team path/to/team.py[:attr]` (the team that started it) to resume it."
                )
            team, env_model = _build(origin, args)
            _set_up(team, saver, bool(origin.options.get("approve_plan")))
            session = _Session(team, tid, args, prices, env_model)
            session.asker.print(describe_models(team, env_model), markup=False, soft_wrap=True)
            decisions: dict[str, Any] | None = None
            if status == "interrupted":
                pending = team.result(tid).interrupts
                if flags:
                    decisions = from_flags(
                        pending,
                        team,
                        approve=args.approve or (),
                        deny=args.deny or (),
                        edit=args.edit or (),
                        by=session.by,
                    )
                else:
                    decisions = session.ask(pending)
                    if decisions is None:
                        return EXIT_WAITING
            elif flags:
                raise ConfigError(
                    f"The run on thread {tid!r} is not waiting for approval; resume it without --approve/--deny/--edit."
                )
            view = session.view(team.result(tid).goal)
            if isinstance(view, LiveView):
                _show_so_far(view, team.result(tid))
            return session.follow(
                iterate_sync(team.aresume_stream(tid, decisions=decisions, tokens=True)), view
            )
    except AgentorchError as e:
        return _error(str(e))


def _show_so_far(view: LiveView, result: RunResult) -> None:
    """Fold what a resumed run already did into the live board: its plan and finished work."""
    if result.plan is not None:
        view.board.apply(PlanCreated(type="plan_created", round=max(result.rounds, 1), plan=result.plan))
    for r in result.results.values():
        view.board.apply(finished_event(r))


def _cmd_runs(args: argparse.Namespace) -> int:
    try:
        with open_checkpoints(args.checkpoints, create=False) as saver:
            rows = run_sync(list_runs(saver, args.checkpoints))
    except AgentorchError as e:
        return _error(str(e))
    if args.json:
        for r in rows:
            print(json.dumps({**dataclasses.asdict(r), "updated": r.updated.isoformat()}, ensure_ascii=False))
        return EXIT_OK
    print(_runs_table(rows, args.checkpoints, shutil.get_terminal_size().columns))
    return EXIT_OK


def _runs_table(rows: list[RunRow], path: str, width: int) -> str:
    """The runs as aligned columns within `width`: thread ids whole (what `resume` needs), the
    goal cut with … to fit; when even that does not fit, team and goal on a line of their own."""
    cells = [
        (
            r.thread_id,
            f"{r.status} ({r.waiting})" if r.waiting else r.status,
            str(r.rounds),
            r.updated.astimezone().strftime("%m-%d %H:%M"),
            r.team,
        )
        for r in rows
    ]
    names = ("thread", "status", "rounds", "updated", "team")
    widths = [max([len(n), *(len(c[i]) for c in cells)]) for i, n in enumerate(names)]

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i == 2 else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=False))
        )

    def cut(text: str, room: int) -> str:
        return text if len(text) <= room else text[: max(room - 1, 0)] + "…"

    room = width - sum(widths) - 2 * len(widths)
    out = [f"{len(rows)} run{'s' if len(rows) != 1 else ''} in {path}", ""]
    if room >= 16:  # one line per run
        out.append(line(names) + "  goal")
        out += [line(c) + "  " + cut(r.goal, room) for c, r in zip(cells, rows, strict=True)]
    else:  # the goal under its run
        widths = widths[:4]
        out.append(line(names[:4]))
        out += [
            f"{line(c[:4])}\n    {cut(f'{r.team}: {r.goal}', width - 5)}"
            for c, r in zip(cells, rows, strict=True)
        ]
    return "\n".join(ln.rstrip() for ln in out)


def _save(result: RunResult, path: str | None, console: Console) -> None:
    if path:
        result.save(path)
        console.print(f"Run record saved to {path}")


def _add_view_options(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plain", action="store_true", help="one line per event (default when not a terminal)")
    mode.add_argument("--json", action="store_true", help="JSON Lines event stream on stdout")
    p.add_argument("--save", metavar="FILE", help="write the run record (JSON) to FILE")
    p.add_argument(
        "--prices",
        metavar="JSON",
        help="price table per 1M tokens, to show cost: a JSON file or inline JSON like "
        "'{\"gpt-4o-mini\": [0.15, 0.60]}' (input, output)",
    )
    p.add_argument(
        "--no-input",
        action="store_true",
        help="never ask in the terminal: when the run waits for approval, print how to resume "
        f"it and exit {EXIT_WAITING}",
    )
    p.add_argument(
        "--by", metavar="NAME", help="who approves, recorded with each tool call (default: your login)"
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    _add_view_options(p)
    p.add_argument("--thread-id", "--thread", help="LangGraph thread id for the run (default: random)")
    p.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="keep the run in this SQLite checkpoint file (created if missing), so "
        "`agentorch resume` can continue it after a crash or a pause",
    )
    p.add_argument("--approve-plan", action="store_true", help="pause for a person to approve the plan")
    _add_structured_output(p)


def _add_structured_output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--structured-output",
        choices=STRUCTURED_OUTPUT_METHODS,
        help="how plans and verdicts are asked for (default: $AGENTORCH_STRUCTURED_OUTPUT, else "
        "the model's own default); llama-cpp-python's server needs json_mode",
    )


def _add_resume_commands(sub: Any) -> None:
    resume = sub.add_parser(
        "resume",
        help="continue a run kept with --checkpoints: after a crash, a failure or a pause",
        description="Continue the run on THREAD from its last checkpoint; finished sub-tasks are "
        "not run again. A run waiting for approval is answered with --approve/--deny/--edit, or, "
        "without them in a terminal, by asking you.",
    )
    resume.add_argument("thread", help="the thread id `run` printed (`agentorch runs` lists them)")
    resume.add_argument("--checkpoints", metavar="FILE", required=True, help="the run's checkpoint file")
    resume.add_argument(
        "--team",
        help=f"the team: {TEAM_REF_HELP}; default: the team that started the run",
    )
    resume.add_argument(
        "--approve",
        action="append",
        nargs="?",
        const=ALL,
        metavar="ID",
        help="approve the waiting plan or tool call ID (a prefix will do); bare: all of them",
    )
    resume.add_argument(
        "--deny", action="append", nargs="?", const=ALL, metavar="ID", help="deny ID; bare: all of them"
    )
    resume.add_argument(
        "--edit",
        action="append",
        nargs=2,
        metavar=("ID", "JSON"),
        help="approve ID with edited tool arguments (a JSON object) or an edited plan (JSON); "
        "@FILE reads the JSON from FILE",
    )
    _add_view_options(resume)
    _add_structured_output(resume)
    resume.set_defaults(func=_cmd_resume)

    runs = sub.add_parser(
        "runs",
        help="list the runs of a checkpoint file",
        description="List the runs kept in a checkpoint file: thread, status, rounds, last "
        "update, goal and team, most recent first.",
    )
    runs.add_argument("--checkpoints", metavar="FILE", required=True, help="the checkpoint file")
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    runs.set_defaults(func=_cmd_runs)


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
    _add_run_options(demo)
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser(
        "run",
        help="run a team (yours, from a file) on a goal",
        description="Run a team on GOAL. A team that brings its models runs with them; a team "
        "function that takes a model (`build_team(llm)`) gets the one the environment configures "
        "(OPENAI_API_KEY / OPENAI_BASE_URL, AGENTORCH_MODEL; AGENTORCH_MODEL=scripted: the research "
        "demo's offline model). The command says which model each role uses.",
    )
    run.add_argument("goal", help="what the team should achieve")
    run.add_argument(
        "--team",
        default=DEFAULT_TEAM,
        help=f"the team: {TEAM_REF_HELP}; default: the research team ({DEFAULT_TEAM})",
    )
    _add_run_options(run)
    run.set_defaults(func=_cmd_run)
    _add_resume_commands(sub)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():  # `agentorch demo -v` as well as `agentorch -v demo`
        command.add_argument(
            "-v",
            "--verbose",
            dest="verbose_after",
            action="count",
            default=0,
            help="log INFO (-v) or DEBUG (-vv)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agentorch` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    args.verbose += getattr(args, "verbose_after", 0)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        telemetry = install_sdk_from_env()  # OTLP export when the OTEL_* variables ask for it
    except ConfigError as e:
        print(f"Error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    finally:
        for provider in telemetry:
            provider.shutdown()  # flushes the spans and metrics still batched


if __name__ == "__main__":
    sys.exit(main())
