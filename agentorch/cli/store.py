"""The CLI's run store: a LangGraph SQLite checkpoint file (`--checkpoints PATH`).

The file holds LangGraph's own tables, written by `AsyncSqliteSaver`, and one small table of
ours, `agentorch_cli_threads`: how the command started each thread (the team reference and its
options), so `agentorch resume THREAD` rebuilds the same team without being told again.
Listing reads checkpoints through the saver's public API only.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Interrupt

from agentorch._engine.approvals import waiting_interrupts
from agentorch._errors import ConfigError
from agentorch._sync import run_sync

__all__ = ["Origin", "RunRow", "open_checkpoints", "save_origin", "load_origin", "list_runs", "thread_status"]

_ORIGINS_TABLE = "agentorch_cli_threads"
_ROOT_NS = ""  # the graph's own checkpoints (not a subgraph's)


@dataclass(frozen=True)
class Origin:
    """How the command started a thread: `command` is "run" or "demo"; `team` the `--team`
    reference (file paths made absolute); `options` the command's team options."""

    command: str
    team: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRow:
    """One thread of a checkpoint file, as `agentorch runs` lists it."""

    thread_id: str
    goal: str
    status: str
    """The run's status; "interrupted" (waiting for a person) or "unfinished" (stopped by a
    failure or a crash, or still running) when it has none yet."""
    rounds: int
    waiting: int
    """Approvals the run waits for."""
    updated: datetime
    team: str
    """The team's name."""
    started_by: str
    """How the command started it (`run <team ref>`, `demo`), or "" (from Python)."""


@contextlib.contextmanager
def open_checkpoints(path: str | Path, *, create: bool) -> Iterator[AsyncSqliteSaver]:
    """An `AsyncSqliteSaver` on `path`, open for the block, on the loop agentorch's sync API
    runs on (so `team.stream`, `team.result` and the saver share it)."""
    file = Path(path)
    if not create and not file.is_file():
        raise ConfigError(
            f"No checkpoint file `{file}`; start a run with "
            f"`agentorch run GOAL --checkpoints {file}` to create it."
        )
    if file.is_dir():
        raise ConfigError(f"`--checkpoints {file}` is a directory; give a file name such as `runs.sqlite`.")
    stack = contextlib.AsyncExitStack()
    try:
        saver = run_sync(stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(file))))
        run_sync(saver.setup())
    except sqlite3.Error as e:
        run_sync(stack.aclose())
        raise ConfigError(f"`{file}` is not a usable SQLite checkpoint file: {e}.") from None
    try:
        yield saver
    finally:
        run_sync(stack.aclose())


def _origins(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {_ORIGINS_TABLE} "
        "(thread_id TEXT PRIMARY KEY, origin TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    return conn


def save_origin(path: str | Path, thread_id: str, origin: Origin) -> None:
    """Remember how the command started `thread_id`."""
    record = json.dumps({"command": origin.command, "team": origin.team, "options": origin.options})
    with contextlib.closing(_origins(path)) as conn, conn:
        conn.execute(
            f"INSERT OR REPLACE INTO {_ORIGINS_TABLE} VALUES (?, ?, ?)",
            (thread_id, record, datetime.now().astimezone().isoformat()),
        )


def load_origin(path: str | Path, thread_id: str) -> Origin | None:
    """How the command started `thread_id`, or None (a thread started from Python)."""
    with contextlib.closing(_origins(path)) as conn:
        row = conn.execute(
            f"SELECT origin FROM {_ORIGINS_TABLE} WHERE thread_id = ?", (thread_id,)
        ).fetchone()
    if row is None:
        return None
    raw = json.loads(row[0])
    return Origin(command=raw["command"], team=raw.get("team", ""), options=raw.get("options", {}))


def _root(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": _ROOT_NS}}


def _status(latest: Any) -> tuple[str, int]:
    """A thread's status from its latest checkpoint, and how many approvals it waits for."""
    waiting = _waiting(latest.pending_writes or [])
    status = latest.checkpoint.get("channel_values", {}).get("status")
    return str(status or ("interrupted" if waiting else "unfinished")), waiting


async def thread_status(saver: AsyncSqliteSaver, thread_id: str) -> str | None:
    """The status of the run on `thread_id` (see `RunRow.status`), or None if there is none."""
    latest = await saver.aget_tuple(_root(thread_id))
    return None if latest is None else _status(latest)[0]


async def list_runs(saver: AsyncSqliteSaver, path: str | Path) -> list[RunRow]:
    """Every thread of the file, most recently updated first."""
    # every run starts with one "input" checkpoint (step -1): one per thread to find them all
    thread_ids: list[str] = []
    async for t in saver.alist(None, filter={"step": -1}):
        tid = t.config["configurable"]["thread_id"]
        if t.config["configurable"].get("checkpoint_ns", _ROOT_NS) == _ROOT_NS and tid not in thread_ids:
            thread_ids.append(tid)
    rows = []
    for tid in thread_ids:
        latest = await saver.aget_tuple(_root(tid))
        if latest is None:
            continue
        values = latest.checkpoint.get("channel_values", {})
        status, waiting = _status(latest)
        origin = load_origin(path, tid)
        started_by = f"{origin.command} {origin.team}".strip() if origin is not None else ""
        rows.append(
            RunRow(
                thread_id=tid,
                goal=str(values.get("goal", "")),
                status=status,
                rounds=int(values.get("round", 0) or 0),
                waiting=waiting,
                updated=datetime.fromisoformat(latest.checkpoint["ts"]),
                team=str(latest.metadata.get("agentorch_team", "")),
                started_by=started_by,
            )
        )
    return sorted(rows, key=lambda r: r.updated, reverse=True)


def _waiting(pending_writes: list[Any]) -> int:
    """How many interrupts of a checkpoint's pending writes still wait for an answer: the
    core's rule (`waiting_interrupts`) over those writes' interrupts, each once (a sub-task's
    pause is written by its own task and again by the dispatch node that raised it)."""
    interrupts: dict[str, Interrupt] = {}
    for _task_id, _channel, value in pending_writes:
        if isinstance(value, (list, tuple)):
            interrupts.update((v.id, v) for v in value if isinstance(v, Interrupt))
    return len(waiting_interrupts(interrupts.values(), pending_writes))
