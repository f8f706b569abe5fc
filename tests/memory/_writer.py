"""Subprocess helper for the durability tests: write N records to a memory and exit."""

from __future__ import annotations

import sys

from agentorch.memory import ChromaMemory, HashEmbeddings

if __name__ == "__main__":
    target, namespace, tag, count, batch = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
        int(sys.argv[5]),
    )
    embedding = HashEmbeddings(dim=64)
    if target.startswith("http"):
        memory = ChromaMemory.from_url(target, namespace=namespace, embedding=embedding)
    else:
        memory = ChromaMemory(target, namespace=namespace, embedding=embedding)
    for start in range(0, count, batch):
        memory.add_documents(
            [
                (f"{tag} record {i} holds token {tag}x{i}.", {"writer": tag})
                for i in range(start, min(count, start + batch))
            ]
        )
    print(memory.count({"writer": tag}))
