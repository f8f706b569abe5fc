"""Where records live: an ephemeral, persistent or server Chroma client, plus its lexical index.

- ephemeral: `EphemeralClient` (one per process in Chroma, so each memory gets its own
  collection prefix) and an in-memory FTS5 index.
- persistent: `PersistentClient(path)`; the FTS5 index is a file next to Chroma's. Writes hold an
  exclusive file lock, reads a shared one, and each write bumps a generation file; a process
  that sees a new generation reopens its client, because Chroma's in-process HNSW index does
  not see (and would overwrite) another process's writes.
- server (`HttpClient`) or a client the caller passed in: the server is the only source of
  truth, so the lexical index is an in-memory cache synced from the collection before every
  lexical search: every write replaces a change token in the collection's metadata, so an
  unchanged collection costs one request; after a change only chunks written since the last
  sync are read, and the whole id list only on the first sync or after a delete. Two processes
  sharing a server therefore both see each other's lexical hits and deletes.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import chromadb

from agentorch.memory._lexical import LexicalIndex
from agentorch.memory._locking import FileLock

__all__ = ["Backend", "PersistentBackend", "open_persistent", "backend_for_client"]

logger = logging.getLogger("agentorch.memory")

BackendKind = Literal["ephemeral", "persistent", "server"]
LEXICAL_FILE = "agentorch-lexical.sqlite3"
LOCK_FILE = "agentorch.lock"
GENERATION_FILE = "agentorch.generation"


class Backend:
    """One Chroma client, its lexical index, and the locking its kind of storage needs."""

    def __init__(
        self,
        client: Any,
        lexical: LexicalIndex,
        *,
        kind: BackendKind,
        prefix: str = "agentorch",
        syncs_lexical: bool = False,
    ) -> None:
        self.client = client
        self.lexical = lexical
        self.kind: BackendKind = kind
        self.prefix = prefix
        self.syncs_lexical = syncs_lexical
        """True when the lexical index is a cache that must be synced from Chroma."""
        self._lock = threading.RLock()
        self.collections: dict[str, Any] = {}
        """Collection handles by name, valid until the client is reopened."""
        self.lexical_sync: dict[str, tuple[str | None, float]] = {}
        """Per collection: the change token and newest write time the lexical cache has seen
        (server backends; see `ChromaMemory._sync_lexical`)."""

    @contextmanager
    def read(self) -> Iterator[Any]:
        """Use the client for reading."""
        with self._lock:
            yield self.client

    @contextmanager
    def write(self) -> Iterator[Any]:
        """Use the client for writing."""
        with self._lock:
            yield self.client


class PersistentBackend(Backend):
    """A `PersistentClient` safe to share between processes (see the module docstring)."""

    def __init__(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        self.path = path
        self._file_lock = FileLock(os.path.join(path, LOCK_FILE))
        self._generation_path = os.path.join(path, GENERATION_FILE)
        with self._file_lock.exclusive():
            self._generation = self._read_generation()
            client = chromadb.PersistentClient(path=path)
            lexical = LexicalIndex(os.path.join(path, LEXICAL_FILE))
        super().__init__(client, lexical, kind="persistent")

    def _read_generation(self) -> str:
        try:
            with open(self._generation_path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _refresh(self) -> None:
        generation = self._read_generation()
        if generation != self._generation:
            logger.debug("another process wrote %s; reopening the Chroma client", self.path)
            self.client.close()
            self.client = chromadb.PersistentClient(path=self.path)
            self.collections.clear()
            self._generation = generation

    @contextmanager
    def read(self) -> Iterator[Any]:
        with self._file_lock.shared():
            self._refresh()
            yield self.client

    @contextmanager
    def write(self) -> Iterator[Any]:
        with self._file_lock.exclusive():
            self._refresh()
            try:
                yield self.client
            finally:
                generation = f"{os.getpid()}-{uuid.uuid4().hex}"
                tmp = f"{self._generation_path}.{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(generation)
                os.replace(tmp, self._generation_path)
                self._generation = generation


_PERSISTENT: dict[str, PersistentBackend] = {}
_PERSISTENT_LOCK = threading.Lock()


def open_persistent(path: str | os.PathLike[str]) -> PersistentBackend:
    """The process-wide backend for a path, so memories on one path share client and lock."""
    key = os.path.realpath(os.fspath(path))
    with _PERSISTENT_LOCK:
        if key not in _PERSISTENT:
            _PERSISTENT[key] = PersistentBackend(key)
        return _PERSISTENT[key]


def open_ephemeral() -> Backend:
    """A fresh in-memory store; its collections are private to this backend."""
    return Backend(
        chromadb.EphemeralClient(),
        LexicalIndex(None),
        kind="ephemeral",
        prefix=f"agentorch-e{uuid.uuid4().hex[:10]}",
    )


def open_server(host: str, port: int, *, ssl: bool, headers: dict[str, str] | None) -> Backend:
    """A Chroma server; the lexical index is a synced in-memory cache."""
    client = chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers)
    return Backend(client, LexicalIndex(None), kind="server", syncs_lexical=True)


def backend_for_client(client: Any) -> Backend:
    """Wrap a Chroma client the caller made; persistent clients get the multi-process lock."""
    settings = client.get_settings()
    if settings.is_persistent and settings.persist_directory:
        return open_persistent(settings.persist_directory)
    kind: BackendKind = "server" if "fastapi" in str(settings.chroma_api_impl).lower() else "ephemeral"
    return Backend(client, LexicalIndex(None), kind=kind, syncs_lexical=True)
