"""The lexical side of hybrid search: an SQLite FTS5 index ranked by bm25.

Chroma ranks by embedding only; names, numbers and dates matter in agent memory, so every
chunk written to Chroma is also indexed here under the same id and deleted with it. Rows carry
the collection name, so one index file serves every namespace of a store.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["LexicalIndex", "LexicalRow"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    coll TEXT NOT NULL,
    id TEXT NOT NULL,
    digest TEXT NOT NULL,
    UNIQUE (coll, id)
);
CREATE INDEX IF NOT EXISTS docs_order ON docs (coll, rowid);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, tokenize = 'porter unicode61');
"""
_TOKENIZER = "porter unicode61"
# Function words carry no subject; with OR semantics they only pull in noise. English only:
# in other languages every word is kept, which is bm25's default behaviour.
STOPWORDS = frozenset(
    """
a an and are as at be been being but by can could did do does doing for from had has have
having he her hers him his how i if in into is it its me my no nor not now of off on or our
ours she should so than that the their theirs them then there these they this those to too
very was we were what when where which while who whom why will with would you your yours
""".split()
)


@dataclass(frozen=True)
class LexicalRow:
    """One chunk to index: its Chroma id, its text, and a digest of the text (for syncing)."""

    id: str
    text: str
    digest: str


class LexicalIndex:
    """FTS5 index of chunk texts per collection. `path=None` keeps it in memory.

    Thread-safe (one connection behind a lock); SQLite's own locking (WAL, busy timeout) makes
    a file index safe to share between processes.
    """

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, timeout=60.0)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._migrate_tokenizer()
        self._db.commit()

    def _migrate_tokenizer(self) -> None:
        """Re-index a file written with an older tokenizer (plain unicode61, no stemming)."""
        (sql,) = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'fts'"
        ).fetchone()
        if _TOKENIZER in sql:
            return
        rows = self._db.execute("SELECT rowid, text FROM fts").fetchall()
        self._db.execute("DROP TABLE fts")
        self._db.executescript(_SCHEMA)
        self._db.executemany("INSERT INTO fts (rowid, text) VALUES (?, ?)", rows)

    def upsert(self, coll: str, rows: Sequence[LexicalRow]) -> None:
        """Index `rows`, replacing rows with the same ids."""
        with self._lock, self._db:
            self._delete_locked(coll, [r.id for r in rows])
            for row in rows:
                cursor = self._db.execute(
                    "INSERT INTO docs (coll, id, digest) VALUES (?, ?, ?)",
                    (coll, row.id, row.digest),
                )
                self._db.execute("INSERT INTO fts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, row.text))

    def delete(self, coll: str, ids: Iterable[str]) -> None:
        """Remove the rows with these ids (unknown ids are ignored)."""
        with self._lock, self._db:
            self._delete_locked(coll, list(ids))

    def _delete_locked(self, coll: str, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            rowids = [
                r[0]
                for r in self._db.execute(
                    f"SELECT rowid FROM docs WHERE coll = ? AND id IN ({marks})", (coll, *batch)
                )
            ]
            if rowids:
                rmarks = ",".join("?" * len(rowids))
                self._db.execute(f"DELETE FROM fts WHERE rowid IN ({rmarks})", rowids)
                self._db.execute(f"DELETE FROM docs WHERE rowid IN ({rmarks})", rowids)

    def drop(self, coll: str) -> None:
        """Remove every row of a collection."""
        with self._lock, self._db:
            self._db.execute(
                "DELETE FROM fts WHERE rowid IN (SELECT rowid FROM docs WHERE coll = ?)", (coll,)
            )
            self._db.execute("DELETE FROM docs WHERE coll = ?", (coll,))

    def digests(self, coll: str, ids: Sequence[str] | None = None) -> dict[str, str]:
        """id -> digest of the indexed rows of a collection (of those with `ids`, if given)."""
        with self._lock:
            if ids is None:
                return dict(self._db.execute("SELECT id, digest FROM docs WHERE coll = ?", (coll,)))
            out: dict[str, str] = {}
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                out.update(
                    self._db.execute(
                        f"SELECT id, digest FROM docs WHERE coll = ? AND id IN "
                        f"({','.join('?' * len(batch))})",
                        (coll, *batch),
                    )
                )
            return out

    def count(self, coll: str) -> int:
        """Number of indexed rows of a collection."""
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM docs WHERE coll = ?", (coll,)).fetchone()
            return int(n)

    def search(
        self, coll: str, query: str, limit: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Best-matching ids and their bm25 relevance (higher is better), any query word
        matching (stop words left out unless the query has nothing else); stemmed, so "lives"
        matches "live". Query text is reduced to words, so FTS5 syntax in it is never
        interpreted. Among equal scores the most recently written rows come first. With
        `ids`, only those rows are scored (hybrid search fills in the lexical score of
        records only the vector side found)."""
        words = list(dict.fromkeys(_TOKEN.findall(query.lower())))
        words = [w for w in words if w not in STOPWORDS] or words
        if not words or limit <= 0 or (ids is not None and not ids):
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        only = ""
        if ids is not None:
            only = f" AND docs.id IN ({','.join('?' * len(ids))})"
        with self._lock:
            rows = self._db.execute(
                "SELECT docs.id, bm25(fts) AS rank FROM fts JOIN docs ON docs.rowid = fts.rowid "
                f"WHERE fts MATCH ? AND docs.coll = ?{only} ORDER BY rank, docs.rowid DESC LIMIT ?",
                (match, coll, *(ids or ()), limit),
            ).fetchall()
        return [(id_, -rank) for id_, rank in rows]

    def following(self, coll: str, ids: Sequence[str]) -> dict[str, str]:
        """id -> the id of the row written just after it in the collection, for those of `ids`
        that are indexed and not the last. A replaced row counts as written when replaced."""
        out: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                out.update(
                    (id_, after)
                    for id_, after in self._db.execute(
                        "SELECT d.id, (SELECT n.id FROM docs n WHERE n.coll = d.coll AND "
                        "n.rowid > d.rowid ORDER BY n.rowid LIMIT 1) FROM docs d "
                        f"WHERE d.coll = ? AND d.id IN ({','.join('?' * len(batch))})",
                        (coll, *batch),
                    )
                    if after is not None
                )
        return out

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
