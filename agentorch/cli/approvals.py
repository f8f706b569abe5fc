"""Answering a paused run from the command line: asking a person in a terminal, or reading
`agentorch resume --approve/--deny/--edit` flags, and saying how to continue.

Answers take the shapes `Team.resume(decisions=...)` accepts: for a plan True, False or an
edited plan (validated here first, so a bad edit is asked again instead of failing the resume);
for a tool call `{"approved": bool, "by": name}` or `{"args": {...}, "by": name}`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentorch._engine import approvals
from agentorch._engine.runs import edited_plan
from agentorch._errors import ConfigError
from agentorch._team import Team
from agentorch._types import PendingInterrupt, Quote

__all__ = ["ALL", "ask", "from_flags", "show_waiting", "short_id"]

ALL = "*"
"""The value of a bare `--approve` / `--deny`: every approval not decided by id."""

_CHOICES = "[a]pprove, [d]eny, [e]dit, [q]uit (decide later)"


def short_id(p: PendingInterrupt) -> str:
    """The interrupt id as shown; any unique prefix of it is accepted."""
    return p.id[:8]


def _show(p: PendingInterrupt, console: Console, n: int, total: int) -> None:
    count = f" ({n} of {total})" if total > 1 else ""
    if p.kind == "plan":
        plan = p.payload.get("plan") or {}
        console.print(f"Approve the plan{count}? [{short_id(p)}]", markup=False, style="bold")
        table = Table("id", "agent", "depends on", "description")
        for st in plan.get("subtasks", []):
            table.add_row(st["id"], st["agent"], ", ".join(st.get("depends_on", [])), st["description"])
        console.print(table)
        if p.payload.get("quote"):
            console.print("quote: " + Quote.model_validate(p.payload["quote"]).describe(), markup=False)
    else:
        pl = p.payload
        console.print(
            f"Approve a tool call{count}? [{short_id(p)}] `{pl.get('tool')}` for sub-task "
            f"`{pl.get('subtask_id')}` (agent `{pl.get('agent')}`)",
            markup=False,
            style="bold",
        )
        console.print("arguments: " + json.dumps(pl.get("args", {}), ensure_ascii=False), markup=False)


def _approve(p: PendingInterrupt, yes: bool, by: str) -> Any:
    return yes if p.kind == "plan" else {"approved": yes, "by": by}


def _edited(p: PendingInterrupt, text: str, team: Team, by: str) -> Any:
    """The answer an edit gives, or ConfigError saying what is wrong with it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"That is not valid JSON: {e}.") from None
    if p.kind == "tool":
        if not isinstance(value, dict):
            raise ConfigError(
                f'Tool arguments must be a JSON object like {{"name": value}}, got {text.strip()!r}.'
            )
        # checked against the tool's schema now (`approvals.answer_for`), so a bad edit is
        # asked again instead of failing the resume
        tool = approvals.tool_lookup({a.name: a.tools for a in team.agents})(p)
        approvals.answer_for(p, {"args": value}, tool=tool)
        return {"args": value, "by": by}
    return edited_plan(value, team.agent_names, team.max_subtasks)


def _editable(p: PendingInterrupt) -> str:
    return json.dumps(p.payload.get("plan" if p.kind == "plan" else "args", {}), indent=2, ensure_ascii=False)


def _edit_text(p: PendingInterrupt, console: Console, read: Callable[[str], str]) -> str:
    """The person's edit: in `$VISUAL`/`$EDITOR` when set, else typed as one line of JSON."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    what = "plan" if p.kind == "plan" else "arguments"
    if not editor:
        console.print(
            f"Type the {what} as JSON on one line (set $EDITOR to edit in an editor):", markup=False
        )
        console.print(json.dumps(json.loads(_editable(p)), ensure_ascii=False), markup=False, style="dim")
        return read("> ")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"agentorch-{what}.json"
        path.write_text(_editable(p) + "\n", encoding="utf-8")
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except OSError as e:
            raise ConfigError(f"Cannot start the editor `{editor}` ($EDITOR): {e.strerror or e}.") from None
        if done.returncode != 0:
            raise ConfigError(
                f"The editor `{editor}` exited with status {done.returncode}; nothing was changed."
            )
        return path.read_text(encoding="utf-8")


def ask(
    pending: Sequence[PendingInterrupt],
    team: Team,
    console: Console,
    *,
    by: str,
    read: Callable[[str], str] | None = None,
) -> dict[str, Any] | None:
    """Ask the person about each pending approval, one by one; the answers by interrupt id, or
    None when they quit (or end the input) to decide later."""
    read = read or (lambda prompt: console.input(prompt, markup=False))
    answers: dict[str, Any] = {}
    for n, p in enumerate(pending, 1):
        _show(p, console, n, len(pending))
        while p.id not in answers:
            try:
                choice = read(f"{_CHOICES}? ").strip().lower()
                if choice in ("a", "approve", "y", "yes"):
                    answers[p.id] = _approve(p, True, by)
                elif choice in ("d", "deny", "n", "no"):
                    answers[p.id] = _approve(p, False, by)
                elif choice in ("e", "edit"):
                    answers[p.id] = _edited(p, _edit_text(p, console, read), team, by)
                elif choice in ("q", "quit"):
                    return None
                else:
                    console.print(f"Please answer with a, d, e or q, not {choice!r}.", markup=False)
            except ConfigError as e:
                console.print(f"{e} Try again.", style="red", markup=False)
            except (EOFError, KeyboardInterrupt):
                console.print()
                return None
    return answers


def _match(pending: Sequence[PendingInterrupt], prefix: str) -> PendingInterrupt:
    found = [p for p in pending if p.id.startswith(prefix)] if prefix else []
    if len(found) == 1:
        return found[0]
    waiting = ", ".join(f"{short_id(p)} ({p.kind})" for p in pending)
    problem = "matches several approvals" if found else "matches no waiting approval"
    raise ConfigError(f"`{prefix}` {problem}; the run waits for: {waiting}.")


def from_flags(
    pending: Sequence[PendingInterrupt],
    team: Team,
    *,
    approve: Sequence[str] = (),
    deny: Sequence[str] = (),
    edit: Sequence[Sequence[str]] = (),
    by: str,
) -> dict[str, Any]:
    """The answers `--approve [ID]`, `--deny [ID]` and `--edit ID JSON|@FILE` give, one for
    every pending approval; ConfigError when one is left undecided or decided twice."""
    if ALL in approve and ALL in deny:
        raise ConfigError("Use a bare `--approve` or a bare `--deny`, not both; name ids to mix them.")
    answers: dict[str, Any] = {}

    def decide(p: PendingInterrupt, answer: Any) -> None:
        if p.id in answers:
            raise ConfigError(f"Approval `{short_id(p)}` is decided twice; give one answer per id.")
        answers[p.id] = answer

    for prefix, text in edit:
        p = _match(pending, prefix)
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"Cannot read `{text[1:]}` for --edit: {e.strerror or e}.") from None
        decide(p, _edited(p, text, team, by))
    for flags, yes in ((approve, True), (deny, False)):
        for prefix in flags:
            if prefix != ALL:
                p = _match(pending, prefix)
                decide(p, _approve(p, yes, by))
    rest = [p for p in pending if p.id not in answers]
    for flags, yes in ((approve, True), (deny, False)):
        if ALL in flags:
            for p in rest:
                answers[p.id] = _approve(p, yes, by)
    undecided = [short_id(p) for p in pending if p.id not in answers]
    if undecided:
        raise ConfigError(
            f"No answer for {', '.join(undecided)}: add `--approve ID`, `--deny ID` or "
            "`--edit ID JSON` for each, or a bare `--approve`/`--deny` for all the rest."
        )
    return answers


def show_waiting(
    pending: Sequence[PendingInterrupt],
    console: Console,
    *,
    thread_id: str,
    checkpoints: str | None,
    prefix: str = "",
) -> None:
    """Say what the run waits for and the commands that continue it (`prefix`: settings the
    resumed run needs again, e.g. `AGENTORCH_MODEL=scripted `)."""
    console.print(f"The run on thread {thread_id} is waiting for approval:", markup=False, style="yellow")
    for p in pending:
        if p.kind == "plan":
            ids = ", ".join(st["id"] for st in (p.payload.get("plan") or {}).get("subtasks", []))
            console.print(f"  {short_id(p)}  plan: {ids}", markup=False)
        else:
            pl = p.payload
            args = json.dumps(pl.get("args", {}), ensure_ascii=False)
            console.print(
                f"  {short_id(p)}  tool {pl.get('tool')}({args}) for {pl.get('subtask_id')} [{pl.get('agent')}]",
                markup=False,
            )
    if checkpoints is None:
        console.print(
            "Its checkpoints are in memory and end with this process: run it again with "
            "`--checkpoints FILE` to answer later, or in a terminal to be asked.",
            markup=False,
        )
        return
    base = f"{prefix}agentorch resume {shlex.quote(thread_id)} --checkpoints {shlex.quote(checkpoints)}"
    example = pending[0]
    # the value as it stands, so the line works when pasted (change it first to edit)
    edit_value = json.dumps(
        example.payload.get("plan" if example.kind == "plan" else "args", {}), ensure_ascii=False
    )
    console.print("Continue with one of:", markup=False)
    console.print(f"  {base} --approve", markup=False)
    console.print(f"  {base} --deny", markup=False)
    console.print(
        f"  {base} --edit {short_id(example)} {shlex.quote(edit_value)}",
        markup=False,
    )
    console.print(f"  {base}    (in a terminal: asks)", markup=False)
