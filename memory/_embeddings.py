"""Embeddings: the shipped `HashEmbeddings`, and one adapter over LangChain and Chroma ones."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from langchain_core.embeddings import Embeddings

from agentorch._errors import ConfigError

__all__ = ["HashEmbeddings", "Embedder", "EmbeddingUnavailableError", "resolve_embedder"]

logger = logging.getLogger("agentorch.memory")

_WORD = re.compile(r"\w+", re.UNICODE)


class EmbeddingUnavailableError(ConfigError):
    """The embedding could not be loaded (typically Chroma's default model while offline)."""


@lru_cache(maxsize=200_000)
def _feature(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


class HashEmbeddings(Embeddings):
    """Deterministic, dependency-free lexical embeddings (the "hashing trick").

    Each lower-cased word and each pair of adjacent words is hashed to one of `dim` signed
    buckets; the vector is L2-normalized, so cosine similarity measures shared words and
    phrases. No model, no network: the same text gives the same vector on every machine.

    >>> emb = HashEmbeddings(dim=64)
    >>> len(emb.embed_query("The Q3 report is due on 14 March."))
    64
    """

    def __init__(self, dim: int = 512, *, pair_weight: float = 0.5) -> None:
        if not isinstance(dim, int) or dim < 8:
            raise ConfigError(f"`dim` must be an integer >= 8, got {dim!r}")
        self.dim = dim
        self.pair_weight = pair_weight

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        words = _WORD.findall(text.lower())
        for word in words:
            index, sign = _feature(word, self.dim)
            vector[index] += sign
        for first, second in zip(words, words[1:]):
            index, sign = _feature(f"{first} {second}", self.dim)
            vector[index] += sign * self.pair_weight
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:  # empty text: a fixed unit vector, so cosine distance stays defined
            vector[0] = 1.0
            return vector
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (the same function as documents: the space is symmetric)."""
        return self._embed(text)

    def __repr__(self) -> str:
        return f"HashEmbeddings(dim={self.dim})"


def _as_vectors(raw: Any) -> list[list[float]]:
    return [[float(x) for x in vector] for vector in raw]


class Embedder:
    """One interface over a LangChain `Embeddings` or a Chroma embedding function.

    `name` and `dim` identify the embedding; a collection records them when created.
    """

    def __init__(self, embedding: Any, name: str) -> None:
        self._embedding = embedding
        self.name = name
        self.dim = len(self.embed_query("dimension probe"))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed documents for storage."""
        if not texts:
            return []
        if isinstance(self._embedding, Embeddings):
            return _as_vectors(self._embedding.embed_documents(list(texts)))
        return _as_vectors(self._embedding(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (Chroma functions with a query mode use it)."""
        if isinstance(self._embedding, Embeddings):
            return [float(x) for x in self._embedding.embed_query(text)]
        embed_query = getattr(self._embedding, "embed_query", None)
        if callable(embed_query):
            return _as_vectors(embed_query(input=[text]))[0]
        return _as_vectors(self._embedding([text]))[0]


def _langchain_name(embedding: Embeddings) -> str:
    cls = type(embedding)
    if isinstance(embedding, HashEmbeddings):
        return "agentorch.HashEmbeddings"
    model = getattr(embedding, "model", None) or getattr(embedding, "model_name", None)
    base = f"{cls.__module__}.{cls.__qualname__}"
    return f"{base}:{model}" if isinstance(model, str) else base


def _chroma_name(function: Any) -> str:
    name_method = getattr(function, "name", None)
    name = name_method() if callable(name_method) else type(function).__qualname__
    try:
        with warnings.catch_warnings():  # Chroma warns when a function lacks get_config
            warnings.simplefilter("ignore", DeprecationWarning)
            config = function.get_config()
    except Exception:  # not every Chroma function implements get_config
        config = {}
    model = config.get("model_name") if isinstance(config, dict) else None
    return f"chroma:{name}:{model}" if model else f"chroma:{name}"


def resolve_embedder(embedding: Any | None) -> Embedder:
    """Wrap `embedding`; with `None`, load Chroma's default (all-MiniLM-L6-v2 ONNX) model.

    Raises `EmbeddingUnavailableError` when the default cannot load (it is downloaded on first
    use, which fails offline) and `ConfigError` when `embedding` is not an embedding.
    """
    if embedding is None:
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        function = DefaultEmbeddingFunction()
        try:
            return Embedder(function, _chroma_name(function))
        except Exception as e:
            raise EmbeddingUnavailableError(
                f"Chroma's default embedding (all-MiniLM-L6-v2, downloaded on first use) could "
                f"not be loaded: {type(e).__name__}: {e}. Pass `embedding=` explicitly, e.g. "
                "`embedding=HashEmbeddings()` from agentorch.memory (offline, deterministic) or "
                "any LangChain `Embeddings` / Chroma embedding function."
            ) from e
    if isinstance(embedding, Embeddings):
        return Embedder(embedding, _langchain_name(embedding))
    if callable(embedding):
        return Embedder(embedding, _chroma_name(embedding))
    raise ConfigError(
        f"`embedding` must be a LangChain `Embeddings` or a Chroma embedding function, "
        f"got {embedding!r}"
    )
