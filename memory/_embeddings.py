"""Embeddings: the shipped `HashEmbeddings`, and one adapter over LangChain and Chroma ones."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

from langchain_core.embeddings import Embeddings

from agentorch._errors import ConfigError
from agentorch.memory._lexical import STOPWORDS

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


HASH_VERSIONS = (1, 2)
"""Versions of `HashEmbeddings`: each gives different vectors, so each has its own name."""


class HashEmbeddings(Embeddings):
    """Deterministic, dependency-free lexical embeddings (the "hashing trick").

    Version 2 (the default) hashes, into `dim` signed buckets, each content word (English stop
    words left out), the character 3- to 5-grams of each word with boundary marks (fastText's
    sub-word features, so "married" and "marriage" share most of their features), and each
    pair of adjacent content words. Term counts are damped (1 + log tf) and each word's
    n-grams together weigh as much as the word itself. The vector is L2-normalized, so cosine
    similarity measures shared words, word parts and phrases. Version 1 (words and word pairs
    only) stays selectable for collections written with it: `HashEmbeddings(version=1)`.
    No model, no network: the same text gives the same vector on every machine.

    >>> emb = HashEmbeddings(dim=64)
    >>> len(emb.embed_query("The Q3 report is due on 14 March."))
    64
    """

    def __init__(self, dim: int = 512, *, pair_weight: float = 0.5, version: int = 2) -> None:
        if not isinstance(dim, int) or dim < 8:
            raise ConfigError(f"`dim` must be an integer >= 8, got {dim!r}")
        if version not in HASH_VERSIONS:
            raise ConfigError(f"`version` must be one of {HASH_VERSIONS}, got {version!r}")
        self.dim = dim
        self.pair_weight = pair_weight
        self.version = version

    @property
    def embedding_name(self) -> str:
        """The name a collection records; version 1 keeps the name it always had."""
        return "agentorch.HashEmbeddings" + ("" if self.version == 1 else f"-v{self.version}")

    def _features(self, text: str) -> dict[str, float]:
        words = _WORD.findall(text.lower())
        if self.version == 1:
            weights: dict[str, float] = {}
            for word in words:
                weights[word] = weights.get(word, 0.0) + 1.0
            for first, second in pairwise(words):
                pair = f"{first} {second}"
                weights[pair] = weights.get(pair, 0.0) + self.pair_weight
            return weights
        words = [w for w in words if w not in STOPWORDS] or words
        counts: dict[str, int] = {}
        for term in [*words, *(f"{a} {b}" for a, b in pairwise(words))]:
            counts[term] = counts.get(term, 0) + 1
        weights = {}
        for term, count in counts.items():
            weight = 1.0 + math.log(count)
            if " " in term:
                weights[term] = weights.get(term, 0.0) + weight * self.pair_weight
                continue
            weights[term] = weights.get(term, 0.0) + weight
            grams = _char_ngrams(term)
            for gram in grams:  # a word's n-grams together weigh as much as the word
                weights[gram] = weights.get(gram, 0.0) + weight / math.sqrt(len(grams))
        return weights

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for term, weight in self._features(text).items():
            index, sign = _feature(term, self.dim)
            vector[index] += sign * weight
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
        return f"HashEmbeddings(dim={self.dim}, version={self.version})"


@lru_cache(maxsize=100_000)
def _char_ngrams(word: str) -> tuple[str, ...]:
    """Character 3- to 5-grams of `<word>` (the marks tell prefixes and suffixes apart);
    none for words of one or two letters, which the word feature already covers."""
    if len(word) < 3:
        return ()
    marked = f"<{word}>"
    return tuple(f"#{marked[i : i + n]}" for n in (3, 4, 5) for i in range(len(marked) - n + 1))


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
        return embedding.embedding_name
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
        f"`embedding` must be a LangChain `Embeddings` or a Chroma embedding function, got {embedding!r}"
    )
