"""Value types of the memory layer: record kinds, stored records and search hits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["RecordKind", "RECORD_KINDS", "SearchMode", "MemoryRecord", "MemoryHit"]

RecordKind = Literal["goal", "result", "feedback", "summary", "note", "document"]
"""What a record holds: a run's goal, an accepted sub-task result or final answer, critic
feedback, a summary of older records, a free-form note, or (a chunk of) a document."""

RECORD_KINDS: frozenset[str] = frozenset(get_args(RecordKind))

SearchMode = Literal["hybrid", "vector", "lexical"]
"""hybrid: the vector and lexical scores of each candidate, each rescaled to [0, 1] over the
query's candidates, averaged; vector: embedding similarity only; lexical: SQLite FTS5 bm25
only."""


@dataclass(frozen=True, kw_only=True)
class MemoryRecord:
    """One stored record, re-joined from its chunks when it was long."""

    id: str
    """Record id; pass it to `ChromaMemory.get`."""
    text: str
    """The full text (chunks re-joined)."""
    kind: str
    """One of `RECORD_KINDS`."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """namespace, kind, thread_id, run_id, agent, subtask_id, created_at, tokens, and for
    summaries `covers` (JSON list of ids) and `summary_level`, plus the caller's own keys."""

    @property
    def created_at(self) -> float:
        """Unix time the record was written."""
        return float(self.metadata.get("created_at", 0.0))

    @property
    def tokens(self) -> int:
        """Token count of the full text, with the memory's token counter."""
        return int(self.metadata.get("tokens", 0))


@dataclass(frozen=True, kw_only=True)
class MemoryHit(MemoryRecord):
    """A search result: a record and how well it matched.

    `score` is higher-is-better: cosine similarity in "vector" mode, bm25 relevance in
    "lexical" mode, and in "hybrid" mode the mean of the two, each min-max rescaled over the
    query's candidates (0 to 1).
    """

    score: float
