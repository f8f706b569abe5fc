"""An inter-process readers/writer lock on a file (fcntl on POSIX, msvcrt on Windows).

Chroma's embedded client is not safe for several processes writing the same path: measured
with chromadb 1.5.9, three processes upserting concurrently left an HNSW index that fails with
"Error getting embedding". Writes therefore take this lock exclusively, reads take it shared,
and a process reopens its client when another process has written since (see `_backends`).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FileLock"]


class FileLock:
    """`exclusive()` / `shared()` context managers over a lock file, also serializing threads."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread_lock = threading.RLock()
        self._file = open(path, "a+b")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock alone, against threads and other processes."""
        with self._thread_lock:
            self._acquire(shared=False)
            try:
                yield
            finally:
                self._release()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock with other readers (threads of this process are serialized)."""
        with self._thread_lock:
            self._acquire(shared=True)
            try:
                yield
            finally:
                self._release()

    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

        def _acquire(self, *, shared: bool) -> None:
            import msvcrt

            self._file.seek(0)
            msvcrt.locking(self._file.fileno(), msvcrt.LK_LOCK, 1)  # no shared mode on Windows

        def _release(self) -> None:
            import msvcrt

            self._file.seek(0)
            msvcrt.locking(self._file.fileno(), msvcrt.LK_UNLCK, 1)

    else:

        def _acquire(self, *, shared: bool) -> None:
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)

        def _release(self) -> None:
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file."""
        self._file.close()

    def __repr__(self) -> str:
        return f"FileLock({os.fspath(self._path)!r})"
