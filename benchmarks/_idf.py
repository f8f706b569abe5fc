"""An experiment the memory benchmark measures: `HashEmbeddings` v2 with IDF learned from the
stored records, applied to the query only.

Every text the memory stores goes through `embed_documents`, which counts, per feature of
`HashEmbeddings` v2 (word, character n-gram, word pair), how many stored texts have it. The
stored vectors are plain v2 vectors, so they stay valid however the counts drift. A query's
features are weighted by their bm25 IDF, log(1 + (N - df + 0.5) / (df + 0.5)), and features no
stored text has are left out (they can only collide with other features in a bucket).

The counts live in this object only: they are lost on restart and not shared between
clients, which is why this is a benchmark row and not a library option (see README "Memory").
"""

from __future__ import annotations

import math

from langchain_core.embeddings import Embeddings

from agentorch.memory import HashEmbeddings
from agentorch.memory._embeddings import _feature

__all__ = ["QueryIdfHashEmbeddings"]


class QueryIdfHashEmbeddings(Embeddings):
    """`HashEmbeddings()` for documents; IDF-weighted features for queries."""

    def __init__(self) -> None:
        self._hash = HashEmbeddings()
        self._df: dict[str, int] = {}
        self._n = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        for text in texts:
            self._n += 1
            for feature in self._hash._features(text):
                self._df[feature] = self._df.get(feature, 0) + 1
        return self._hash.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * self._hash.dim
        for feature, weight in self._hash._features(text).items():
            df = self._df.get(feature, 0)
            if df == 0:
                continue
            index, sign = _feature(feature, self._hash.dim)
            vector[index] += sign * weight * math.log(1 + (self._n - df + 0.5) / (df + 0.5))
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return [v / norm for v in vector]
