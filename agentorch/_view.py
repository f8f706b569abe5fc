"""Terminal views of a running team: a live rich tree, plain lines, or a JSON event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.text import Text
from rich.tree import Tree

from agentorch._events import Event
from agentorch._types import Plan

__all__ = ["LiveView", "PlainView", "JsonView", "event_to_json"]

_ICONS = {"waiting": "·", "done": "✓", "failed": "✗", "skipped": "–", "revised": "↻"}
_STYLES = {"waiting": "dim", "done": "green", "failed": "red", "skipped": "yellow",
           "revised": "magenta", "running": "cyan"}


def event_to_json(ev: Event) -> dict[str, Any]:
    """A JSON-ready copy of an event (pydantic values dumped)."""
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if hasattr(v, "model_dump"):
            out[k] = v.model_dump(mode="json")
        elif isinstance(v, list):
            out[k] = [x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in v]
        else:
            out[k] = v
    return out


@dataclass
class _Row:
    agent: str
    depends_on: list[str]
    state: str = "waiting"
    duration: float = 0.0
    tokens: int = 0
    attempts: int = 0
    started: float = 0.0


@dataclass
class _Board:
    """What the views show, folded from events."""

    plan: Plan | None = None
    rows: dict[str, _Row] = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)
    answer: str = ""
    status: str = ""
    notes: list[str] = field(default_factory=list)

    def apply(self, ev: Event) -> None:
        kind = ev["type"]
        if kind in ("plan_created", "replanned"):
            plan: Plan = ev["plan"]  # type: ignore[typeddict-item]
            old = self.rows
            self.plan = plan
            self.rows = {
                st.id: old.get(st.id, _Row(agent=st.agent, depends_on=list(st.depends_on)))
                for st in plan.subtasks
            }
            if kind == "replanned":
                self.notes.append(f"round {ev['round']}: replanned")  # type: ignore[typeddict-item]
        elif kind == "subtask_started":
            row = self.rows.get(ev["subtask_id"])  # type: ignore[typeddict-item]
            if row:
                row.state, row.started = "running", time.monotonic()
        elif kind == "subtask_finished":
            row = self.rows.get(ev["subtask_id"])  # type: ignore[typeddict-item]
            if row:
                row.state = ev["status"]  # type: ignore[typeddict-item]
                row.duration = ev["duration"]  # type: ignore[typeddict-item]
                row.tokens += ev["tokens"]  # type: ignore[typeddict-item]
                row.attempts += 1
        elif kind == "critic_verdict":
            v = ev["verdict"]  # type: ignore[typeddict-item]
            line = f"round {ev['round']}: critic → {v.decision}"  # type: ignore[typeddict-item]
            if v.revise:
                line += f" {', '.join(v.revise)}"
            if v.feedback:
                line += f" — {v.feedback}"
            self.verdicts.append(line)
            for sid in v.revise:
                if sid in self.rows:
                    self.rows[sid].state = "revised"
        elif kind == "interrupted":
            for i in ev["interrupts"]:  # type: ignore[typeddict-item]
                self.notes.append(f"waiting for approval: {i.kind} ({i.id})")
        elif kind == "final":
            self.answer, self.status = ev["answer"], ev["status"]  # type: ignore[typeddict-item]


class LiveView:
    """A live rich view: the plan as a tree with each sub-task's state, verdicts, the answer."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.board = _Board()

    def _render(self) -> Group:
        b = self.board
        title = f"Plan{'' if b.plan is None else f' ({len(b.rows)} sub-tasks)'}"
        tree = Tree(Text(title, style="bold"))
        for sid, row in b.rows.items():
            deps = f" ← {', '.join(row.depends_on)}" if row.depends_on else ""
            detail = ""
            if row.state == "running":
                detail = f" {time.monotonic() - row.started:.1f}s"
            elif row.attempts:
                detail = f" {row.duration:.2f}s · {row.tokens} tok"
                if row.attempts > 1:
                    detail += f" · {row.attempts} attempts"
            label = Text.assemble(
                (f"{sid}", "bold"), f" [{row.agent}]", (deps, "dim"), (detail, "dim")
            )
            if row.state == "running":
                tree.add(Spinner("dots", text=label, style=_STYLES["running"]))
            else:
                tree.add(Text.assemble((_ICONS[row.state] + " ", _STYLES[row.state]), label))
        parts: list[Any] = [tree]
        parts.extend(Text(line, style="magenta") for line in b.verdicts + b.notes)
        if b.status:
            parts.append(Panel(b.answer or "(no answer)", title=f"answer · {b.status}"))
        return Group(*parts)

    def consume(self, events: Iterable[Event]) -> None:
        with Live(self._render(), console=self.console, refresh_per_second=10) as live:
            for ev in events:
                self.board.apply(ev)
                live.update(self._render())


class PlainView:
    """One line per event, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def consume(self, events: Iterable[Event]) -> None:
        for ev in events:
            self.out.write(_line(ev) + "\n")
            self.out.flush()


class JsonView:
    """One JSON object per event (JSON Lines), for tools."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def consume(self, events: Iterable[Event]) -> None:
        for ev in events:
            self.out.write(json.dumps(event_to_json(ev)) + "\n")
            self.out.flush()


def _line(ev: Event) -> str:
    kind = ev["type"]
    if kind in ("plan_created", "replanned"):
        plan: Plan = ev["plan"]  # type: ignore[typeddict-item]
        tasks = "; ".join(
            f"{st.id}[{st.agent}]" + (f"<-{','.join(st.depends_on)}" if st.depends_on else "")
            for st in plan.subtasks
        )
        return f"{kind} round={ev['round']}: {tasks}"  # type: ignore[typeddict-item]
    if kind == "subtask_started":
        return f"started {ev['subtask_id']} [{ev['agent']}] attempt={ev['attempt']}"  # type: ignore[typeddict-item]
    if kind == "subtask_finished":
        return (f"finished {ev['subtask_id']} [{ev['agent']}] {ev['status']} "  # type: ignore[typeddict-item]
                f"{ev['duration']:.2f}s {ev['tokens']} tokens")  # type: ignore[typeddict-item]
    if kind == "critic_verdict":
        v = ev["verdict"]  # type: ignore[typeddict-item]
        return f"critic round={ev['round']}: {v.decision} {v.revise or ''} {v.feedback}".rstrip()  # type: ignore[typeddict-item]
    if kind == "interrupted":
        return "interrupted: " + ", ".join(f"{i.kind} {i.id}" for i in ev["interrupts"])  # type: ignore[typeddict-item]
    return f"final status={ev['status']}\n{ev['answer']}"  # type: ignore[typeddict-item]
