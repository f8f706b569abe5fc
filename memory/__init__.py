"""agentorch.memory: Chroma-backed team memory with hybrid search and budgeted context.

>>> from agentorch.memory import ChromaMemory, HashEmbeddings
>>> memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
>>> _ = memory.add("The Q3 report is due on 14 March.", kind="note")
>>> memory.search("Q3 report due", k=1)[0].kind
'note'
"""

from agentorch.memory._context import render_data
from agentorch.memory._embeddings import EmbeddingUnavailableError, HashEmbeddings
from agentorch.memory._minilm import MiniLMEmbeddings
from agentorch.memory._names import record_id, validate_namespace
from agentorch.memory._store import DEFAULT_HNSW, ChromaMemory
from agentorch.memory._tokens import TokenCounter, approximate_tokens
from agentorch.memory._types import RECORD_KINDS, MemoryHit, MemoryRecord, RecordKind, SearchMode

__all__ = [
    "ChromaMemory",
    "HashEmbeddings",
    "MiniLMEmbeddings",
    "MemoryHit",
    "MemoryRecord",
    "RecordKind",
    "RECORD_KINDS",
    "SearchMode",
    "TokenCounter",
    "EmbeddingUnavailableError",
    "DEFAULT_HNSW",
    "approximate_tokens",
    "render_data",
    "record_id",
    "validate_namespace",
]
