"""Checkpoint savers named by a string: `Team(checkpointer="runs.sqlite")` or a PostgreSQL URL.

LangGraph's async savers (`AsyncSqliteSaver`, `AsyncPostgresSaver`) are async context managers
whose connection belongs to the event loop that opened it, so a team run from sync code (on
agentorch's private loop) and from async code (on yours) could not share one. Its sync savers
(`SqliteSaver` on a `check_same_thread=False` connection, `PostgresSaver` on a thread-safe
connection pool) belong to no loop: the savers here are those, with the async methods LangGraph
calls run on worker threads (`asyncio.to_thread`). The team opens them when it is built and
closes them with `team.close()` (or `with team:` / at exit).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from agentorch._errors import ConfigError

__all__ = ["POSTGRES_SCHEMES", "saver_from_string", "close_saver"]

POSTGRES_SCHEMES = ("postgres://", "postgresql://")


class _AsyncOnThreads:
    """The async half of a saver, as its sync half run on a worker thread."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)  # type: ignore[attr-defined]

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))  # type: ignore[attr-defined]
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)  # type: ignore[attr-defined]

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)  # type: ignore[attr-defined]

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)  # type: ignore[attr-defined]

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return await asyncio.to_thread(
            lambda: self.get_delta_channel_history(config=config, channels=channels)  # type: ignore[attr-defined]
        )


class _FileSaver(_AsyncOnThreads, SqliteSaver):
    """`SqliteSaver` usable from any event loop."""


def saver_from_string(target: str) -> BaseCheckpointSaver[Any]:
    """A saver, open and set up, for `target`: a PostgreSQL URL (`postgresql://user@host/db`,
    needs the `postgres` extra) or a SQLite file path (created if missing). Raises
    `ConfigError` saying what is wrong."""
    if not target.strip():
        raise ConfigError("`checkpointer` is an empty string; give a file name such as 'runs.sqlite'.")
    if target.startswith(POSTGRES_SCHEMES):
        return _postgres(target)
    path = Path(target)
    if path.is_dir():
        raise ConfigError(
            f"`checkpointer={target!r}` is a directory; give a file name such as 'runs.sqlite'."
        )
    if not path.parent.is_dir():
        raise ConfigError(f"`checkpointer={target!r}`: the folder `{path.parent}` does not exist.")
    conn = sqlite3.connect(target, check_same_thread=False)
    saver = _FileSaver(conn)
    try:
        saver.setup()
    except sqlite3.Error as e:
        conn.close()
        raise ConfigError(f"`checkpointer={target!r}` is not a usable SQLite checkpoint file: {e}.") from None
    return saver


def _postgres(url: str) -> BaseCheckpointSaver[Any]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise ConfigError(
            'A PostgreSQL checkpointer needs the `postgres` extra: pip install -e ".[postgres]" '
            "from a checkout (or `langgraph-checkpoint-postgres` and `psycopg[binary,pool]`)."
        ) from None

    class _PostgresSaver(_AsyncOnThreads, PostgresSaver):
        """`PostgresSaver` on a connection pool, usable from any event loop."""

    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        min_size=1,
        open=False,
    )
    try:
        pool.open(wait=True, timeout=15)
        saver = _PostgresSaver(pool)
        saver.setup()
    except Exception as e:
        pool.close()
        where = url.split("@")[-1]  # never the password
        raise ConfigError(
            f"Cannot use the PostgreSQL database at `{where}`: {type(e).__name__}: {e}"
        ) from None
    return saver


def close_saver(saver: BaseCheckpointSaver[Any]) -> None:
    """Close what `saver_from_string` opened (a SQLite connection or a connection pool)."""
    conn = getattr(saver, "conn", None)
    if conn is not None:
        conn.close()
