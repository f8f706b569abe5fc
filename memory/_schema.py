"""Metadata keys stored with every Chroma record, and the record being written."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentorch._errors import ConfigError
from agentorch.memory._types import RECORD_KINDS

__all__ = [
    "NAMESPACE",
    "KIND",
    "THREAD_ID",
    "RUN_ID",
    "AGENT",
    "SUBTASK_ID",
    "CREATED_AT",
    "TOKENS",
    "COVERS",
    "SUMMARY_LEVEL",
    "PARENT_ID",
    "CHUNK_INDEX",
    "CHUNK_COUNT",
    "CHUNK_START",
    "DIGEST",
    "WRITTEN_AT",
    "RESERVED_KEYS",
    "CHUNK_KEYS",
    "NewRecord",
    "new_record",
    "covers_of",
    "now",
]

NAMESPACE = "namespace"
KIND = "kind"
THREAD_ID = "thread_id"
RUN_ID = "run_id"
AGENT = "agent"
SUBTASK_ID = "subtask_id"
CREATED_AT = "created_at"
TOKENS = "tokens"
COVERS = "covers"
"""On summaries: JSON list of the ids of the records (or summaries) they summarize."""
SUMMARY_LEVEL = "summary_level"
"""On summaries: 1 for a summary of records, n+1 for a summary including level-n summaries."""
PARENT_ID = "parent_id"
CHUNK_INDEX = "chunk_index"
CHUNK_COUNT = "chunk_count"
CHUNK_START = "chunk_start"
DIGEST = "digest"
WRITTEN_AT = "written_at"
"""When this chunk was last written (incremental sync of a server's lexical cache)."""

CHUNK_KEYS = frozenset({PARENT_ID, CHUNK_INDEX, CHUNK_COUNT, CHUNK_START, DIGEST, WRITTEN_AT})
RESERVED_KEYS = (
    frozenset(
        {NAMESPACE, KIND, THREAD_ID, RUN_ID, AGENT, SUBTASK_ID, CREATED_AT, TOKENS, COVERS, SUMMARY_LEVEL}
    )
    | CHUNK_KEYS
)

_clock_lock = threading.Lock()
_last_time = 0.0


def now() -> float:
    """Strictly increasing wall-clock time in this process, so records keep their order."""
    global _last_time
    with _clock_lock:
        _last_time = max(time.time(), _last_time + 1e-6)
        return _last_time


@dataclass(frozen=True)
class NewRecord:
    """A record about to be written: id, text and its full metadata (without chunk keys)."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def new_record(
    *,
    id: str,
    text: str,
    namespace: str,
    kind: str,
    metadata: Mapping[str, Any] | None = None,
    created_at: float | None = None,
    **fields: Any,
) -> NewRecord:
    """Validate and assemble a record; `fields` are reserved keys (thread_id, agent, ...)
    whose `None` values are left out (Chroma metadata cannot hold `None`)."""
    if not isinstance(text, str):
        raise ConfigError(f"record text must be a string, got {type(text).__name__}")
    if kind not in RECORD_KINDS:
        raise ConfigError(f"`kind` must be one of {sorted(RECORD_KINDS)}, got {kind!r}")
    if not isinstance(id, str) or not id or len(id) > 256:
        raise ConfigError(f"record `id` must be a non-empty string of at most 256 chars: {id!r}")
    user = dict(metadata or {})
    clash = sorted(RESERVED_KEYS & user.keys())
    if clash:
        raise ConfigError(f"metadata keys {clash} are reserved; pass them as arguments or rename them")
    for key, value in user.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"metadata {key!r}: {value!r} must map a string to a str, int, float or bool")
    out: dict[str, Any] = {**user, NAMESPACE: namespace, KIND: kind}
    out[CREATED_AT] = created_at if created_at is not None else now()
    for key, value in fields.items():
        if key not in RESERVED_KEYS:
            raise ConfigError(f"unknown record field {key!r}")
        if value is not None:
            out[key] = value
    return NewRecord(id=id, text=text, metadata=out)


def covers_of(metadata: Mapping[str, Any]) -> list[str]:
    """The ids a summary covers ([] for other records)."""
    raw = metadata.get(COVERS)
    return list(json.loads(raw)) if isinstance(raw, str) and raw else []
