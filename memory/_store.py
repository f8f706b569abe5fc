"""`ChromaMemory`: records in Chroma plus a lexical index, hybrid search, and the team contract."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from chromadb.errors import NotFoundError

from agentorch._errors import ConfigError
from agentorch.memory import _backends
from agentorch.memory._embeddings import Embedder, resolve_embedder
from agentorch.memory._lexical import LexicalRow
from agentorch.memory._names import validate_namespace
from agentorch.memory._ranking import (
    TIES,
    cosines,
    diversify,
    fuse_scores,
    fused_tolerance,
    lift_replies,
    tie_groups,
)
from agentorch.memory._schema import (
    CHUNK_COUNT,
    CHUNK_INDEX,
    CHUNK_KEYS,
    CHUNK_START,
    CREATED_AT,
    DIGEST,
    KIND,
    PARENT_ID,
    TOKENS,
    WRITTEN_AT,
    NewRecord,
    new_record,
    now,
)
from agentorch.memory._tokens import Chunk, TokenCounter, approximate_tokens, join_chunks, split_text
from agentorch.memory._types import MemoryHit, MemoryRecord, SearchMode

if TYPE_CHECKING:
    from agentorch._memory import Summarize
    from agentorch._types import SubTask, SubTaskResult, Verdict

__all__ = ["ChromaMemory", "DEFAULT_HNSW"]

logger = logging.getLogger("agentorch.memory")
T = TypeVar("T")

DEFAULT_HNSW: dict[str, Any] = {
    "space": "cosine",
    "ef_search": 500,
    "ef_construction": 200,
    "max_neighbors": 32,
}
"""Chroma's HNSW defaults measured recall@10 of 0.52 at 10k vectors; these gave 1.00."""

EMBEDDING_KEY = "agentorch_embedding"
DIMENSION_KEY = "agentorch_dimension"
CHANGE_KEY = "agentorch_change"
"""Collection metadata: a random token every write replaces, so a client whose lexical cache
saw this token knows nothing changed since, without listing the collection."""
CLOCK_SKEW = 300.0
"""Seconds: an incremental sync re-reads chunks written this long before the newest it saw,
so writers whose clocks lag by up to this much are not missed."""
MAX_BATCH = 5000  # Chroma's limit is 5461 records per call
_MODES = ("hybrid", "vector", "lexical")
_NOTHING: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": []}


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _public(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in CHUNK_KEYS}


def _and(*clauses: Mapping[str, Any] | None) -> dict[str, Any] | None:
    present = [dict(c) for c in clauses if c]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


def _assemble(rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, MemoryRecord]:
    """Group chunk rows (id, text, metadata) by record and re-join each record's text."""
    grouped: dict[str, list[tuple[Chunk, Mapping[str, Any]]]] = {}
    for _, text, meta in rows:
        start = int(meta.get(CHUNK_START, 0))
        grouped.setdefault(str(meta[PARENT_ID]), []).append((Chunk(start, start + len(text), text), meta))
    out: dict[str, MemoryRecord] = {}
    for parent, parts in grouped.items():
        meta = next((m for _, m in parts if m.get(CHUNK_INDEX) == 0), parts[0][1])
        out[parent] = MemoryRecord(
            id=parent,
            text=join_chunks([c for c, _ in parts]),
            kind=str(meta.get(KIND, "")),
            metadata=_public(meta),
        )
    return out


class ChromaMemory:
    """Team memory on Chroma: embedded and persistent, in memory, or on a Chroma server.

    Each namespace is its own Chroma collection, so a namespace never sees another's records.
    Long texts are split into overlapping chunks and re-joined on retrieval. Search fuses the
    embedding ranking with an SQLite FTS5 bm25 ranking (a convex combination of normalized
    scores, see `fuse_scores`).

    >>> from agentorch.memory import ChromaMemory, HashEmbeddings
    >>> memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    >>> rid = memory.add("The Q3 report is due on 14 March.", metadata={"source": "email"})
    >>> memory.search("when is the Q3 report due?", k=1)[0].text
    'The Q3 report is due on 14 March.'

    Sync methods do the work; the `a`-prefixed ones run them in a worker thread, since
    Chroma's client is synchronous. Library code never prints; it logs to "agentorch.memory".
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ".agentorch/memory",
        namespace: str = "default",
        *,
        embedding: Any | None = None,
        client: Any | None = None,
        chunk_tokens: int = 256,
        chunk_overlap: int = 32,
        token_counter: TokenCounter | None = None,
        hnsw: Mapping[str, Any] | None = None,
        _backend: _backends.Backend | None = None,
    ) -> None:
        """Open (or create) the namespace's collection at `path`, or on `client` if given.

        `embedding`: a LangChain `Embeddings` or Chroma embedding function; `None` means
        Chroma's default model, which needs a download (pass `HashEmbeddings()` offline).
        `hnsw` overrides entries of `DEFAULT_HNSW`. Raises `ConfigError` on a bad namespace,
        bad chunk sizes, or a collection written by a different embedding.
        """
        self.namespace = validate_namespace(namespace)
        if not isinstance(chunk_tokens, int) or chunk_tokens < 16:
            raise ConfigError(f"`chunk_tokens` must be an integer >= 16, got {chunk_tokens!r}")
        if not isinstance(chunk_overlap, int) or not 0 <= chunk_overlap < chunk_tokens // 2:
            raise ConfigError(
                f"`chunk_overlap` must be an integer in [0, chunk_tokens/2), got {chunk_overlap!r}"
            )
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.count_tokens: TokenCounter = token_counter or approximate_tokens
        self._hnsw = {**DEFAULT_HNSW, **dict(hnsw or {})}
        self._embedder: Embedder = resolve_embedder(embedding)
        if _backend is not None:
            self._backend = _backend
        elif client is not None:
            self._backend = _backends.backend_for_client(client)
        else:
            self._backend = _backends.open_persistent(path)
        self._name = self._collection_name(self.namespace)
        self._pool: ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()
        with self._backend.write() as chroma:
            self._collection(chroma)

    @classmethod
    def ephemeral(
        cls, *, embedding: Any | None = None, namespace: str = "default", **options: Any
    ) -> ChromaMemory:
        """An in-memory memory for tests and notebooks; private to this object."""
        return cls(namespace=namespace, embedding=embedding, _backend=_backends.open_ephemeral(), **options)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "default",
        embedding: Any | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> ChromaMemory:
        """A memory on a Chroma server, e.g. `from_url("http://127.0.0.1:8000")`."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"`url` must look like 'http://host:port', got {url!r}")
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        backend = _backends.open_server(
            parsed.hostname, port, ssl=ssl, headers=dict(headers) if headers else None
        )
        return cls(namespace=namespace, embedding=embedding, _backend=backend, **options)

    def __repr__(self) -> str:
        return (
            f"ChromaMemory(namespace={self.namespace!r}, backend={self._backend.kind!r}, "
            f"embedding={self._embedder.name!r})"
        )

    @property
    def embedding_name(self) -> str:
        """Name of the embedding, as recorded in the collection."""
        return self._embedder.name

    # -- collections ------------------------------------------------------------------------

    def _collection_name(self, namespace: str) -> str:
        return f"{self._backend.prefix}-{namespace}"

    def _collection(self, chroma: Any) -> Any:
        cached = self._backend.collections.get(self._name)
        if cached is not None:
            return self._checked(cached)
        try:
            collection = chroma.get_collection(self._name)
        except NotFoundError:
            try:
                collection = chroma.create_collection(
                    self._name,
                    configuration={"hnsw": self._hnsw},
                    metadata={EMBEDDING_KEY: self._embedder.name, DIMENSION_KEY: self._embedder.dim},
                    embedding_function=None,
                )
            except Exception:  # another process created it first
                collection = chroma.get_collection(self._name)
        self._backend.collections[self._name] = self._checked(collection)
        return collection

    def _checked(self, collection: Any) -> Any:
        """`collection`, if the embedding that wrote it is ours; `ConfigError` otherwise."""
        meta = collection.metadata or {}
        stored = (meta.get(EMBEDDING_KEY), meta.get(DIMENSION_KEY))
        if stored[0] is not None and stored != (self._embedder.name, self._embedder.dim):
            hint = ""
            if str(stored[0]).startswith("agentorch.HashEmbeddings"):
                version = str(stored[0]).rpartition("-v")[2] if "-v" in str(stored[0]) else "1"
                hint = f" (`embedding=HashEmbeddings(dim={stored[1]}, version={version})`)"
            raise ConfigError(
                f"namespace {self.namespace!r} was written with embedding {stored[0]!r} "
                f"(dimension {stored[1]}), but this memory uses {self._embedder.name!r} "
                f"(dimension {self._embedder.dim}); open it with the same `embedding=`{hint}, "
                "or use another namespace"
            )
        return collection

    def _run(self, write: bool, operation: Callable[[Any], T]) -> T:
        """Run `operation(collection)` under the backend's lock; retry once if the collection
        was deleted under us (e.g. `forget(namespace=)` from another process)."""
        for attempt in (1, 2):
            with self._backend.write() if write else self._backend.read() as chroma:
                try:
                    return operation(self._collection(chroma))
                except NotFoundError:
                    self._backend.collections.pop(self._name, None)
                    self._backend.lexical_sync.pop(self._name, None)
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    # -- writing ----------------------------------------------------------------------------

    def add(
        self,
        text: str,
        *,
        kind: str = "note",
        metadata: Mapping[str, Any] | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        agent: str | None = None,
        subtask_id: str | None = None,
        id: str | None = None,
    ) -> str:
        """Store `text` and return its id. An existing record with the same `id` is replaced."""
        record = new_record(
            id=id or f"r-{uuid.uuid4().hex}",
            text=text,
            namespace=self.namespace,
            kind=kind,
            metadata=metadata,
            thread_id=thread_id,
            run_id=run_id,
            agent=agent,
            subtask_id=subtask_id,
        )
        self.write_records([record])
        return record.id

    def add_documents(
        self, documents: Sequence[str | tuple[str, Mapping[str, Any]]], *, kind: str = "document"
    ) -> list[str]:
        """Store documents (texts, or (text, metadata) pairs); long ones are chunked."""
        records = []
        for item in documents:
            text, metadata = (item, None) if isinstance(item, str) else item
            records.append(
                new_record(
                    id=f"r-{uuid.uuid4().hex}",
                    text=text,
                    namespace=self.namespace,
                    kind=kind,
                    metadata=metadata,
                )
            )
        self.write_records(records)
        return [r.id for r in records]

    def write_records(self, records: Sequence[NewRecord]) -> None:
        """Upsert assembled records (see `new_record`): chunk, embed, index, store."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        written_at = now()
        for record in records:
            chunks = split_text(
                record.text,
                chunk_tokens=self.chunk_tokens,
                overlap=self.chunk_overlap,
                count=self.count_tokens,
            )
            tokens = self.count_tokens(record.text)
            for index, chunk in enumerate(chunks):
                ids.append(record.id if len(chunks) == 1 else f"{record.id}#{index}")
                texts.append(chunk.text)
                metas.append(
                    {
                        **record.metadata,
                        TOKENS: tokens,
                        PARENT_ID: record.id,
                        CHUNK_INDEX: index,
                        CHUNK_COUNT: len(chunks),
                        CHUNK_START: chunk.start,
                        DIGEST: _digest(chunk.text),
                        WRITTEN_AT: written_at,
                    }
                )
        if not ids:
            return
        embeddings = self._embedder.embed_documents(texts)  # outside the lock: may be slow
        parents = list(dict.fromkeys(r.id for r in records))
        lexical_rows = [LexicalRow(i, t, m[DIGEST]) for i, t, m in zip(ids, texts, metas, strict=True)]

        def write(collection: Any) -> None:
            stale = self._stale_chunks(collection, parents, set(ids))
            if stale:  # a shorter new version of a record leaves no orphan chunks
                collection.delete(ids=stale)
                self._backend.lexical.delete(self._name, stale)
            # lexical first: a crash in between leaves an index row that search ignores,
            # because lexical hits are always looked up in Chroma
            self._backend.lexical.upsert(self._name, lexical_rows)
            for start in range(0, len(ids), MAX_BATCH):
                end = start + MAX_BATCH
                collection.upsert(
                    ids=ids[start:end],
                    documents=texts[start:end],
                    embeddings=embeddings[start:end],
                    metadatas=metas[start:end],
                )
            self._announce_change(collection)

        self._run(True, write)
        logger.debug("stored %d records (%d chunks) in %s", len(parents), len(ids), self._name)

    @staticmethod
    def _stale_chunks(collection: Any, parents: list[str], keep: set[str]) -> list[str]:
        """Ids of stored chunks of the records `parents` that are not in `keep` (a shorter
        new version of a record must leave no orphan chunks).

        A stored record always has its first chunk, whose id is the record's (one chunk) or
        the record's plus "#0", so one read by id tells which records exist: new records,
        the usual case, cost no metadata query (looking chunks up by `parent_id` is what
        made adding slow on a large store). Only existing records are looked up that way."""
        known = set(parents)
        probe = [i for p in parents for i in (p, f"{p}#0")]
        existing: set[str] = set()
        for start in range(0, len(probe), MAX_BATCH):
            got = collection.get(ids=probe[start : start + MAX_BATCH], include=["metadatas"])
            existing.update(p for m in got["metadatas"] if (p := str(m.get(PARENT_ID))) in known)
        found = [p for p in parents if p in existing]
        stale: list[str] = []
        for start in range(0, len(found), MAX_BATCH):
            chunks = collection.get(where={PARENT_ID: {"$in": found[start : start + MAX_BATCH]}}, include=[])
            stale.extend(i for i in chunks["ids"] if i not in keep)
        return stale

    # -- reading ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        where: Mapping[str, Any] | None = None,
        *,
        mode: SearchMode = "hybrid",
    ) -> list[MemoryHit]:
        """The `k` records that best match `query`, best first, filtered by Chroma `where`.

        >>> memory.search("Q3 report", k=3, where={"kind": "note"})  # doctest: +SKIP
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"`k` must be a positive integer, got {k!r}")
        if mode not in _MODES:
            raise ConfigError(f"`mode` must be one of {_MODES}, got {mode!r}")
        pool = max(4 * k, 20)
        vector = self._embedder.embed_query(query) if mode != "lexical" else None

        def search(collection: Any) -> list[MemoryHit]:
            if mode != "vector" and self._backend.syncs_lexical:
                self._sync_lexical(collection)  # before either side reads the lexical index
            if mode == "vector":
                ranking = self._vector_ranking(collection, vector or [], pool, where)
                return self._hits(collection, tie_groups(ranking, *TIES["vector"]), k)
            rows: dict[str, tuple[str, str, Mapping[str, Any]]] = {}
            if mode == "lexical":
                ranking, _ = self._lexical_ranking(collection, query, pool, where, rows)
                return self._hits(collection, tie_groups(ranking, *TIES["lexical"]), k, rows)
            # hybrid: Chroma's vector query releases the GIL, so it runs in a worker thread
            # while this one ranks by bm25 and reads the lexical candidates' embeddings
            embeddings: dict[str, Any] = {}
            pending = self._workers().submit(self._vector_ranking, collection, vector or [], pool, where)
            try:
                lexical, order = self._lexical_ranking(collection, query, pool, where, rows, embeddings)
            except BaseException:
                futures.wait([pending])
                raise
            ranking, tie = self._fused(query, vector or [], pending.result(), lexical, embeddings, order)
            candidates = {i for i, _ in ranking}  # passed `where`
            following = self._backend.lexical.following(self._name, [i for i, _ in ranking[:pool]])
            ranking = lift_replies(ranking, following)
            # the best `pool` are re-ranked for redundancy, which needs their embeddings and
            # creation times; texts are read with them (one read, and most of them win). A
            # lifted reply was never filtered: `where` applies here
            best = ranking[:pool]
            if best:
                got = collection.get(
                    ids=[i for i, _ in best],
                    where=dict(where) if where else None,
                    include=["documents", "metadatas", "embeddings"],
                )
                for i, d, m, e in zip(
                    got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
                ):
                    rows[i], embeddings[i] = (i, d, m), e
            best = [e for e in best if e[0] in rows]  # deleted since it was ranked: skipped
            created = {i: float(rows[i][2].get(CREATED_AT, 0.0)) for i, _ in best}
            diverse = diversify(best, tie, embeddings, created, k)
            rest = [e for e in ranking[pool:] if e[0] in candidates]
            return self._hits(collection, [[e] for e in [*diverse, *rest]], k, rows)

        return self._run(False, search)

    def _workers(self) -> ThreadPoolExecutor:
        """The store's worker thread for the vector side of hybrid search (see `close`)."""
        with self._workers_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentorch-memory")
            return self._pool

    @staticmethod
    def _vector_ranking(
        collection: Any, vector: list[float], pool: int, where: Mapping[str, Any] | None
    ) -> list[tuple[str, float]]:
        """The `pool` chunks nearest to `vector` passing `where`, with cosine similarities.
        Only ids and distances are read (with texts and metadata the query costs twice as
        much): the rest is read by id, for the winners only."""
        found = collection.query(
            query_embeddings=[vector],
            n_results=pool,
            where=dict(where) if where else None,
            include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def _fused(
        self,
        query: str,
        vector: list[float],
        vector_ranking: list[tuple[str, float]],
        lexical_ranking: list[tuple[str, float]],
        embeddings: Mapping[str, Any],
        lexical_ids: Sequence[str],
    ) -> tuple[list[tuple[str, float]], float]:
        """`fuse_scores` over the union of both sides' candidates (the vector side's in its
        order, then `lexical_ids`), and its tie tolerance (`fused_tolerance`); each side's
        missing scores are computed, not guessed, so a record found by one side is judged
        by both."""
        vec, lex = dict(vector_ranking), dict(lexical_ranking)
        only_lexical = [i for i in lex if i not in vec]
        if only_lexical:
            vec.update(zip(only_lexical, cosines(vector, [embeddings[i] for i in only_lexical]), strict=True))
        only_vector = [i for i in vec if i not in lex]
        if only_vector:
            lex.update(self._backend.lexical.search(self._name, query, len(only_vector), ids=only_vector))
        ids = list(dict.fromkeys([*(i for i, _ in vector_ranking), *lexical_ids]))
        return fuse_scores(vec, lex, ids), fused_tolerance(vec, lex, ids)

    def _lexical_ranking(
        self,
        collection: Any,
        query: str,
        pool: int,
        where: Mapping[str, Any] | None,
        rows: dict[str, tuple[str, str, Mapping[str, Any]]],
        embeddings: dict[str, Any] | None = None,
    ) -> tuple[list[tuple[str, float]], list[str]]:
        """bm25 ranking of the best `pool` chunks that are in Chroma and pass `where`, and the
        ids of every candidate that passed in Chroma's order. Their texts and metadata are
        read into `rows`, or, given `embeddings`, only their embeddings into it (hybrid
        search scores them, and reads texts for its winners only)."""
        # a selective filter is applied after ranking, so look deeper when there is one
        found = self._backend.lexical.search(self._name, query, pool * 10 if where else pool)
        if not found:
            return [], []
        got = collection.get(
            ids=[i for i, _ in found],
            where=dict(where) if where else None,
            include=["documents", "metadatas"] if embeddings is None else ["embeddings"],
        )
        if embeddings is None:
            rows.update(
                (i, (i, d, m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )
        else:
            embeddings.update(zip(got["ids"], got["embeddings"], strict=True))
        present = set(got["ids"])
        return [(i, s) for i, s in found if i in present][:pool], list(got["ids"])

    def _announce_change(self, collection: Any) -> None:
        """Tell other clients of a server that this collection changed (see `CHANGE_KEY`)."""
        if self._backend.syncs_lexical:
            collection.modify(metadata={**(collection.metadata or {}), CHANGE_KEY: uuid.uuid4().hex})

    def _sync_lexical(self, collection: Any) -> None:
        """Bring the local lexical cache in line with the server: same ids, same texts.

        Nothing is read when the collection's change token is the one seen last time. After
        a change, only chunks written since the last sync (less `CLOCK_SKEW`) are read; the
        whole id list is read only on the first sync and when the counts differ (a delete).
        """
        token = (self._backend.client.get_collection(self._name).metadata or {}).get(CHANGE_KEY)
        state = self._backend.lexical_sync.get(self._name)
        if state is not None and token is not None and state[0] == token:
            return
        if state is None:
            newest = self._sync_all(collection)
        else:
            newest = self._sync_since(collection, state[1] - CLOCK_SKEW)
            if collection.count() != self._backend.lexical.count(self._name):
                newest = max(newest, self._sync_all(collection))
        self._backend.lexical_sync[self._name] = (token, max(newest, state[1] if state else 0.0))

    def _sync_since(self, collection: Any, since: float) -> float:
        """Index chunks written at or after `since`; the newest write time seen."""
        newest = 0.0
        offset = 0
        while True:
            page = collection.get(
                where={WRITTEN_AT: {"$gte": since}},
                include=["documents", "metadatas"],
                limit=MAX_BATCH,
                offset=offset,
            )
            self._index_changed(page["ids"], page["documents"], page["metadatas"])
            newest = max([newest, *(float(m.get(WRITTEN_AT, 0.0)) for m in page["metadatas"])])
            if len(page["ids"]) < MAX_BATCH:
                return newest
            offset += MAX_BATCH

    def _index_changed(
        self, ids: Sequence[str], documents: Sequence[str], metadatas: Sequence[Mapping[str, Any]]
    ) -> None:
        local = self._backend.lexical.digests(self._name, ids)
        changed = [
            LexicalRow(i, d, str(m.get(DIGEST, "")))
            for i, d, m in zip(ids, documents, metadatas, strict=True)
            if local.get(i) != str(m.get(DIGEST, ""))
        ]
        if changed:
            self._backend.lexical.upsert(self._name, changed)
            logger.debug("lexical cache of %s: %d added/changed", self._name, len(changed))

    def _sync_all(self, collection: Any) -> float:
        """Compare every id and digest with the server; the newest write time seen."""
        remote: dict[str, str] = {}
        newest = 0.0
        offset = 0
        while True:
            page = collection.get(include=["metadatas"], limit=MAX_BATCH, offset=offset)
            for id_, meta in zip(page["ids"], page["metadatas"], strict=True):
                remote[id_] = str(meta.get(DIGEST, ""))
                newest = max(newest, float(meta.get(WRITTEN_AT, 0.0)))
            if len(page["ids"]) < MAX_BATCH:
                break
            offset += MAX_BATCH
        local = self._backend.lexical.digests(self._name)
        gone = [i for i in local if i not in remote]
        changed = [i for i, d in remote.items() if local.get(i) != d]
        if gone:
            self._backend.lexical.delete(self._name, gone)
            logger.debug("lexical cache of %s: %d removed", self._name, len(gone))
        for start in range(0, len(changed), MAX_BATCH):
            page = collection.get(ids=changed[start : start + MAX_BATCH], include=["documents", "metadatas"])
            self._index_changed(page["ids"], page["documents"], page["metadatas"])
        return newest

    def _hits(
        self,
        collection: Any,
        groups: list[list[tuple[str, float]]],
        k: int,
        rows: dict[str, tuple[str, str, Mapping[str, Any]]] | None = None,
    ) -> list[MemoryHit]:
        """The best `k` records of a chunk ranking cut into runs of ties (`groups`, best
        first), newest first within a run: a record counts once, at its best chunk. Texts and
        metadata not already in `rows` (id -> (id, text, metadata)) are read run by run, only
        until `k` records are known."""
        rows = {} if rows is None else rows
        scores: dict[str, float] = {}
        groups = list(groups)
        while groups and len(scores) < k:
            batch: list[list[tuple[str, float]]] = []
            wanted = k - len(scores)
            while groups and sum(len(g) for g in batch) < wanted:
                batch.append(groups.pop(0))
            unread = [i for g in batch for i, _ in g if i not in rows]
            got = collection.get(ids=unread, include=["documents", "metadatas"]) if unread else _NOTHING
            rows.update(
                (i, (i, d, m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )
            for group in batch:
                present = [e for e in group if e[0] in rows]  # deleted since it was ranked: skipped
                present.sort(key=lambda e: -float(rows[e[0]][2].get(CREATED_AT, 0.0)))
                for id_, score in present:
                    scores.setdefault(str(rows[id_][2][PARENT_ID]), score)
        best = list(scores)[:k]
        single = [r for r in rows.values() if r[2][PARENT_ID] in best and r[2][CHUNK_COUNT] == 1]
        multi = [p for p in best if not any(r[2][PARENT_ID] == p for r in single)]
        records = _assemble(single)
        if multi:
            got = collection.get(where={PARENT_ID: {"$in": multi}}, include=["documents", "metadatas"])
            records.update(_assemble(zip(got["ids"], got["documents"], got["metadatas"], strict=True)))
        return [
            MemoryHit(
                id=p,
                text=records[p].text,
                kind=records[p].kind,
                metadata=records[p].metadata,
                score=scores[p],
            )
            for p in best
            if p in records
        ]

    def records(
        self, where: Mapping[str, Any] | None = None, *, ids: Sequence[str] | None = None
    ) -> list[MemoryRecord]:
        """Whole records matching `where` (and `ids`, if given), oldest first."""
        id_filter = {PARENT_ID: {"$in": list(ids)}} if ids is not None else None
        if ids is not None and not ids:
            return []

        def get(collection: Any) -> list[MemoryRecord]:
            got = collection.get(where=_and(where, id_filter), include=["documents", "metadatas"])
            found = _assemble(zip(got["ids"], got["documents"], got["metadatas"], strict=True))
            return sorted(found.values(), key=lambda r: (r.created_at, r.id))

        return self._run(False, get)

    def get(self, id: str) -> MemoryRecord | None:
        """The record with this id, or `None`."""
        found = self.records(ids=[id])
        return found[0] if found else None

    def count(self, where: Mapping[str, Any] | None = None) -> int:
        """Number of records (not chunks) matching `where`."""
        return self._run(False, lambda c: len(c.get(where=_and(where, {CHUNK_INDEX: 0}), include=[])["ids"]))

    def forget(
        self, *, thread_id: str | None = None, run_id: str | None = None, namespace: str | None = None
    ) -> int:
        """Delete the records of one thread, one run, or a whole namespace; returns how many
        records were deleted. Give exactly one of the arguments."""
        given = [
            (k, v)
            for k, v in (("thread_id", thread_id), ("run_id", run_id), ("namespace", namespace))
            if v is not None
        ]
        if len(given) != 1:
            raise ConfigError("`forget` needs exactly one of `thread_id`, `run_id`, `namespace`")
        key, value = given[0]
        if key == "namespace":
            return self._forget_namespace(validate_namespace(value))

        def delete(collection: Any) -> int:
            got = collection.get(where={key: value}, include=["metadatas"])
            if got["ids"]:
                collection.delete(ids=got["ids"])
                self._backend.lexical.delete(self._name, got["ids"])
                self._announce_change(collection)
            return sum(1 for m in got["metadatas"] if m.get(CHUNK_INDEX) == 0)

        deleted = self._run(True, delete)
        logger.info("forgot %d records of %s=%r in %s", deleted, key, value, self._name)
        return deleted

    def _forget_namespace(self, namespace: str) -> int:
        name = self._collection_name(namespace)
        with self._backend.write() as chroma:
            try:
                collection = chroma.get_collection(name)
            except NotFoundError:
                return 0
            deleted = len(collection.get(where={CHUNK_INDEX: 0}, include=[])["ids"])
            chroma.delete_collection(name)
            self._backend.lexical.drop(name)
            self._backend.lexical_sync.pop(name, None)
            self._backend.collections.pop(name, None)
        logger.info("forgot namespace %r (%d records)", namespace, deleted)
        return deleted

    # -- async variants -----------------------------------------------------------------------

    async def aadd(self, text: str, **options: Any) -> str:
        """`add` in a worker thread."""
        return await asyncio.to_thread(lambda: self.add(text, **options))

    async def aadd_documents(
        self, documents: Sequence[str | tuple[str, Mapping[str, Any]]], **options: Any
    ) -> list[str]:
        """`add_documents` in a worker thread."""
        return await asyncio.to_thread(self.add_documents, documents, **options)

    async def awrite_records(self, records: Sequence[NewRecord]) -> None:
        """`write_records` in a worker thread."""
        await asyncio.to_thread(self.write_records, records)

    async def asearch(
        self, query: str, k: int = 5, where: Mapping[str, Any] | None = None, *, mode: SearchMode = "hybrid"
    ) -> list[MemoryHit]:
        """`search` in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, where, mode=mode)

    async def arecords(
        self, where: Mapping[str, Any] | None = None, *, ids: Sequence[str] | None = None
    ) -> list[MemoryRecord]:
        """`records` in a worker thread."""
        return await asyncio.to_thread(self.records, where, ids=ids)

    async def acount(self, where: Mapping[str, Any] | None = None) -> int:
        """`count` in a worker thread."""
        return await asyncio.to_thread(self.count, where)

    async def aforget(self, **which: str) -> int:
        """`forget` in a worker thread."""
        return await asyncio.to_thread(lambda: self.forget(**which))

    # -- the team contract (agentorch._memory.TeamMemory) -------------------------------------

    async def arecall(self, goal: str, *, thread_id: str, budget: int) -> str:
        """Relevant past records for planning `goal`, within `budget` tokens ("" if none)."""
        from agentorch.memory._context import recall

        return await recall(self, goal, thread_id=thread_id, budget=budget)

    async def aassemble_context(
        self,
        *,
        goal: str,
        subtask: SubTask,
        dependencies: Mapping[str, SubTaskResult],
        thread_id: str,
        budget: int,
        summarize: Summarize,
    ) -> str:
        """The data block for a specialist: dependency outputs, retrieved records and the
        thread's rolling summary, within `budget` tokens (see `agentorch.memory._context`)."""
        from agentorch.memory._context import assemble_context

        return await assemble_context(
            self,
            goal=goal,
            subtask=subtask,
            dependencies=dependencies,
            thread_id=thread_id,
            budget=budget,
            summarize=summarize,
        )

    async def aremember_run(
        self,
        *,
        goal: str,
        thread_id: str,
        run_id: str,
        results: Mapping[str, SubTaskResult],
        verdicts: Sequence[Verdict],
        answer: str,
    ) -> None:
        """Store the goal, accepted results, critic feedback and answer; idempotent per run."""
        from agentorch.memory._context import remember_run

        await remember_run(
            self,
            goal=goal,
            thread_id=thread_id,
            run_id=run_id,
            results=results,
            verdicts=verdicts,
            answer=answer,
        )

    def close(self) -> None:
        """Stop the search worker thread and release an ephemeral memory's collection
        (persistent and server data stay). A closed memory can still be used; a later hybrid
        search starts a new worker."""
        with self._workers_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self._backend.kind == "ephemeral" and self._backend.prefix != "agentorch":
            self._forget_namespace(self.namespace)
