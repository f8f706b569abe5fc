"""Child process for test_memory_isolation: upsert shared records and write its own.

    python _memory_writer.py PATH TAG SHARED OWN

Writes records `shared-0..SHARED-1` (same ids and texts in every writer: an idempotent
re-remember racing another process) interleaved with `TAG-0..OWN-1`, then prints its count.
"""

from __future__ import annotations

import sys

from agentorch.memory import ChromaMemory, HashEmbeddings

if __name__ == "__main__":
    path, tag, shared, own = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    memory = ChromaMemory(path, namespace="race", embedding=HashEmbeddings(dim=32))
    items = [(f"shared-{i}", f"Shared fact {i} about token s{i}x.") for i in range(shared)]
    items += [(f"{tag}-{i}", f"{tag} fact {i} about token {tag}{i}x.") for i in range(own)]
    items.sort(key=lambda item: int(item[0].rsplit("-", 1)[1]))  # interleave shared and own
    for rid, text in items:
        memory.add(text, id=rid, kind="note")
    print(memory.count())
