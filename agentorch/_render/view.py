"""Terminal views of a running team: a live rich tree, plain lines, or a JSON event stream.

All three consume the typed events of `Team.stream`; `LiveView` folds them into a board (the
plan, each sub-task's state, the critic's verdicts, the answer) and redraws it several times a
second, so running sub-tasks show a spinner and a growing clock. With `tokens=True` events, the
live board shows what each running sub-task is writing and the answer as it is written, and the
plain view prints the text as it comes (one writer at a time, see `PlainView`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from agentorch._engine.events import Event, Token, data_line, describe_event, event_to_json
from agentorch._plan import downstream_of
from agentorch._types import ModelPrice, Plan, RunResult, normalize_prices, price_for

__all__ = ["LiveView", "PlainView", "JsonView", "event_to_json", "describe_event", "usage_table"]

_ICONS = {"waiting": "·", "done": "✓", "failed": "✗", "skipped": "–", "revised": "↻"}
_STYLES = {
    "waiting": "dim",
    "done": "green",
    "failed": "red",
    "skipped": "yellow",
    "revised": "magenta",
    "running": "cyan",
}
_VERDICT_STYLES = {"accept": "green", "revise": "magenta", "replan": "yellow"}


@dataclass
class _Row:
    agent: str
    depends_on: list[str]
    state: str = "waiting"
    duration: float = 0.0
    tokens: int = 0
    attempts: int = 0
    started: float = 0.0
    cost: float | None = None
    model: str = ""
    data: dict[str, Any] | None = None
    writing: str = ""
    """What the running attempt's current model call has written so far (token events)."""
    call: str = ""
    """The model call `writing` belongs to."""


@dataclass
class _Board:
    """What the views show, folded from events."""

    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    plan: Plan | None = None
    round: int = 0
    rows: dict[str, _Row] = field(default_factory=dict)
    verdicts: list[tuple[int, Any]] = field(default_factory=list)
    answer: str = ""
    draft: str = ""
    """The answer as the synthesizer writes it (token events), until the run ends."""
    status: str = ""
    notes: list[str] = field(default_factory=list)
    tokens: int = 0
    cost: float = 0.0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def apply(self, ev: Event) -> None:
        # each branch tests `ev["type"]` itself, so type checkers narrow the event union
        if ev["type"] == "plan_created" or ev["type"] == "replanned":
            plan = ev["plan"]
            old = self.rows
            self.plan, self.round = plan, ev["round"]
            self.rows = {
                st.id: old.get(st.id, _Row(agent=st.agent, depends_on=list(st.depends_on)))
                for st in plan.subtasks
            }
            if ev["type"] == "replanned":
                self.notes.append(f"round {ev['round']}: replanned ({len(plan.subtasks)} sub-tasks)")
        elif ev["type"] == "token":
            self.write(ev)
        elif ev["type"] == "subtask_started":
            self.round = max(self.round, ev["round"])
            row = self.rows.get(ev["subtask_id"])
            if row:
                row.state, row.started = "running", time.monotonic()
                row.model = ev.get("model", "")
                row.writing = row.call = ""
        elif ev["type"] == "subtask_finished":
            row = self.rows.get(ev["subtask_id"])
            result = ev["result"]
            self.tokens += ev["tokens"]
            price = price_for(result.model, self.prices) if self.prices else None
            # `prices` given: they price the tokens; otherwise the cost recorded in the run
            money = price.cost(result.usage) if price is not None else result.usage.cost or None
            if money is not None:
                self.cost += money
            if row:
                row.state = ev["status"]
                row.writing = row.call = ""
                row.duration = ev["duration"]
                row.tokens += ev["tokens"]
                row.attempts += 1
                row.model = result.model
                row.data = result.data
                if money is not None:
                    row.cost = (row.cost or 0.0) + money
        elif ev["type"] == "critic_verdict":
            v = ev["verdict"]
            self.verdicts.append((ev["round"], v))
            if v.decision == "revise" and self.plan is not None:
                for sid in downstream_of(self.plan, v.revise) & self.rows.keys():
                    self.rows[sid].state = "revised" if sid in v.revise else "waiting"
        elif ev["type"] == "interrupted":
            for i in ev["interrupts"]:
                self.notes.append(f"waiting for approval: {i.kind} ({i.id})")
        elif ev["type"] == "final":
            self.answer, self.status = ev["answer"], ev["status"]
            self.finished = time.monotonic()

    def write(self, ev: Token) -> None:
        """Add a token to the text its writer is writing (a new call starts a new text)."""
        if ev["subtask_id"] is None:
            self.draft += ev["text"]
            return
        row = self.rows.get(ev["subtask_id"])
        if row is not None:
            if row.call != ev["message_id"]:
                row.writing, row.call = "", ev["message_id"]
            row.writing += ev["text"]

    def phase(self) -> str:
        """What the team is doing between sub-task events, for the spinner line."""
        if self.status:
            return ""
        if self.plan is None:
            return "planner is planning"
        if any(r.state == "running" for r in self.rows.values()):
            return ""
        if self.rows and all(r.state in ("done", "failed", "skipped") for r in self.rows.values()):
            if self.verdicts and self.verdicts[-1][0] >= self.round:
                return "synthesizer is writing the answer"
            return f"critic is reviewing round {self.round}"
        return "dispatching"


class LiveView:
    """A live rich view: the plan as a tree with each sub-task's state (waiting, running with a
    spinner and clock, done, failed, revised), duration, tokens and cost; the critic's verdicts;
    the answer. `prices` (model -> price per 1M tokens) adds cost."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        goal: str = "",
        prices: Mapping[str, Any] | None = None,
    ) -> None:
        self.console = console or Console()
        self.goal = goal
        self.board = _Board(prices=normalize_prices(prices))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._render()

    def _render(self) -> Group:
        b = self.board
        parts: list[Any] = []
        if self.goal:
            parts.append(Text.assemble(("Goal: ", "bold"), self.goal))
        if b.plan is None:
            parts.append(Spinner("dots", text=Text(b.phase() or "starting", style="cyan"), style="cyan"))
            return Group(*parts)
        title = Text.assemble(("Plan", "bold"), (f" · round {b.round} · {len(b.rows)} sub-tasks", "dim"))
        tree = Tree(title, guide_style="dim")
        id_w = max((len(s) for s in b.rows), default=0)
        agent_w = max((len(r.agent) for r in b.rows.values()), default=0) + 2
        for sid, row in b.rows.items():
            label = Text.assemble((sid.ljust(id_w), "bold"), " ", (f"[{row.agent}]".ljust(agent_w), "blue"))
            label.append(f"  {row.state:<8}", style=_STYLES[row.state])
            if row.model:
                label.append(f" {row.model}", style="blue")
            if row.state == "running":
                label.append(f" {time.monotonic() - row.started:5.1f}s", style="cyan")
            elif row.attempts:
                label.append(f" {row.duration:5.2f}s · {row.tokens:>5} tok", style="dim")
                if row.cost is not None:
                    label.append(f" · ${row.cost:.4f}", style="dim")
                if row.attempts > 1:
                    label.append(f" · {row.attempts} attempts", style="magenta")
            if row.depends_on:
                label.append(f"  ← {', '.join(row.depends_on)}", style="dim")
            if row.state == "running":
                node = tree.add(Spinner("dots", text=label, style=_STYLES["running"]))
                if row.writing:
                    node.add(Text(_tail(row.writing, 100), style="dim italic", no_wrap=True))
            else:
                node = tree.add(Text.assemble((_ICONS[row.state] + " ", _STYLES[row.state]), label))
                if row.data is not None and row.state == "done":
                    node.add(Text.assemble(("data ", "bold"), (data_line(row.data), "green")))
        parts.append(tree)
        for rnd, v in b.verdicts:
            line = Text.assemble(
                f"round {rnd} · critic → ", (v.decision, f"bold {_VERDICT_STYLES[v.decision]}")
            )
            if v.revise:
                line.append(f" {', '.join(v.revise)}")
            if v.feedback:
                line.append(f" — {v.feedback}", style="dim")
            parts.append(line)
        parts.extend(Text(note, style="yellow") for note in b.notes)
        phase = b.phase()
        if phase:
            parts.append(Spinner("dots", text=Text(phase, style="cyan"), style="cyan"))
        elapsed = (b.finished or time.monotonic()) - b.started
        footer = f"{elapsed:.1f}s · {b.tokens} sub-task tokens"
        if b.prices or b.cost:
            footer += f" · ${b.cost:.4f}"
        parts.append(Text(footer, style="dim"))
        if b.status:
            style = "green" if b.status == "completed" else "yellow" if b.status != "failed" else "red"
            parts.append(
                Panel(
                    b.answer or "(no answer)",
                    title=f"answer · {b.status}",
                    title_align="left",
                    border_style=style,
                )
            )
        elif b.draft:
            parts.append(Panel(b.draft, title="answer · writing", title_align="left", border_style="cyan"))
        return Group(*parts)

    def consume(self, events: Iterable[Event]) -> None:
        """Show `events` live until they end; the last frame stays on screen."""
        from rich.live import Live

        with Live(self, console=self.console, refresh_per_second=8, transient=False):
            for ev in events:
                self.board.apply(ev)


def _tail(text: str, width: int) -> str:
    """The end of `text` on one line, at most `width` characters."""
    line = " ".join(text.split())
    return line if len(line) <= width else "…" + line[-(width - 1) :]


def _of_subtask(subtask_id: str | None) -> Callable[[tuple[Any, ...]], bool]:
    """Selects the writers (role, sub-task, call) of one sub-task."""
    return lambda key: key[1] == subtask_id


@dataclass
class _Writer:
    """A model call writing text (token events), as the plain view follows it."""

    label: str
    held: list[str] = field(default_factory=list)
    done: bool = False


class PlainView:
    """One line per event, for logs and pipes; text the models write (token events) is printed
    as it comes, prefixed with who writes it (`tech[researcher]: `, `synthesizer: `).

    Sub-tasks running in parallel write at the same time: one writer has the floor and is
    printed live, the others' text is held and printed when they get the floor (in the order
    they started writing), so each text reads whole. An event's line that comes while the
    writer with the floor is in the middle of a line waits for that line's end."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._writers: dict[tuple[Any, ...], _Writer] = {}  # in the order they started writing
        self._open = False  # a line of the writer with the floor is being printed
        self._waiting: list[str] = []  # event lines held until that line ends
        self._answer_streamed = False

    def consume(self, events: Iterable[Event]) -> None:
        """Write one line per event (text as it comes) as it arrives."""
        for ev in events:
            if ev["type"] == "token":
                self._token(ev)
            else:
                if ev["type"] == "subtask_finished":
                    self._end(_of_subtask(ev["subtask_id"]))
                elif ev["type"] == "final" or ev["type"] == "interrupted":
                    self._end(lambda key: True)
                line = describe_event(ev)
                if ev["type"] == "final" and self._answer_streamed:
                    line = f"final status={ev['status']}"  # the answer was just printed
                if self._open:
                    self._waiting.append(line)
                else:
                    self.out.write(line + "\n")
            self.out.flush()

    def _token(self, ev: Token) -> None:
        key = (ev["role"], ev["subtask_id"], ev["message_id"])
        if key not in self._writers:
            # the writer's earlier calls have ended: its calls are made one after another
            self._end(lambda k: k[:2] == key[:2])
            label = "synthesizer" if ev["subtask_id"] is None else f"{ev['subtask_id']}[{ev['agent']}]"
            self._writers[key] = _Writer(label)
            self._answer_streamed |= ev["subtask_id"] is None
        writer = self._writers[key]
        if next(iter(self._writers)) != key:
            writer.held.append(ev["text"])
            return
        text = ev["text"]
        if self._waiting and "\n" in text:  # the line ends: the held event lines go first
            done, _, text = text.rpartition("\n")
            self._write_text(writer, done)
            self._close_line()
        if text:
            self._write_text(writer, text)

    def _write_text(self, writer: _Writer, text: str) -> None:
        if not self._open:
            self.out.write(f"{writer.label}: ")
            self._open = True
        self.out.write(text)

    def _end(self, ended: Callable[[tuple[Any, ...]], bool]) -> None:
        """Mark the writers `ended(key)` selects as done; pass the floor on."""
        for key, writer in self._writers.items():
            writer.done = writer.done or ended(key)
        while self._writers:
            key, first = next(iter(self._writers.items()))
            if first.held:  # its turn: what it wrote while another had the floor
                if not self._open:
                    self.out.write(f"{first.label}: ")
                    self._open = True
                self.out.write("".join(first.held))
                first.held = []
            if not first.done:
                return  # it goes on writing, live
            self._close_line()
            del self._writers[key]

    def _close_line(self) -> None:
        if self._open:
            self.out.write("\n")
            self._open = False
        for line in self._waiting:
            self.out.write(line + "\n")
        self._waiting = []


class JsonView:
    """One JSON object per event (JSON Lines), for tools."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def consume(self, events: Iterable[Event]) -> None:
        """Write one JSON object per event as it arrives."""
        for ev in events:
            self.out.write(json.dumps(event_to_json(ev), ensure_ascii=False) + "\n")
            self.out.flush()


def usage_table(result: RunResult, prices: Mapping[str, Any] | None = None) -> Table:
    """Usage per role/agent and per model, with cost: under `prices` when given (per model), or
    as recorded during the run under the team's prices (per role and model)."""
    table_prices = normalize_prices(prices)
    recorded = result.usage.cost() if result.usage.total.cost else None
    cost = result.usage.cost(table_prices) if table_prices else recorded
    title = f"status: {result.status} · rounds: {result.rounds}"
    if cost is not None:
        title += f" · cost: ${cost.total:.4f}"
        if cost.unpriced:
            title += f" (no price for {', '.join(cost.unpriced)})"
    table = Table(title=title)
    for col in ("role / model", "calls", "input", "output", "total"):
        table.add_column(col, justify="left" if col == "role / model" else "right")
    if cost is not None:
        table.add_column("cost", justify="right")

    def add(name: str, u: Any, money: str = "", **kw: Any) -> None:
        cells = [name, str(u.calls), str(u.input_tokens), str(u.output_tokens), str(u.total_tokens)]
        table.add_row(*cells, *([money] if cost is not None else []), **kw)

    for role, u in sorted(result.usage.by_role.items()):
        # re-priced runs of several models have no cost per role (tokens are kept per model)
        add(role, u, f"${cost.by_role[role]:.4f}" if cost and role in cost.by_role else "")
    add("total", result.usage.total, f"${cost.total:.4f}" if cost else "", style="bold", end_section=True)
    for model, u in sorted(result.usage.by_model.items()):
        money = f"${cost.by_model[model]:.4f}" if cost and model in cost.by_model else "–"
        add(f"model {model}", u, money, style="cyan")
    return table
