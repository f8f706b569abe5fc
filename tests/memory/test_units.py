"""Names, embeddings, chunking and the public surface."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

import agentorch.memory as memory_pkg
from agentorch._errors import ConfigError
from agentorch._memory import TeamMemory
from agentorch.memory import (
    ChromaMemory,
    EmbeddingUnavailableError,
    HashEmbeddings,
    approximate_tokens,
    validate_namespace,
)
from agentorch.memory._ranking import diversify
from agentorch.memory._tokens import join_chunks, split_text


def test_exported_names() -> None:
    assert sorted(memory_pkg.__all__) == sorted(
        [
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
    )
    for name in memory_pkg.__all__:
        assert getattr(memory_pkg, name) is not None


def test_chroma_memory_satisfies_the_team_contract() -> None:
    assert isinstance(ChromaMemory.ephemeral(embedding=HashEmbeddings()), TeamMemory)


@pytest.mark.parametrize(
    ("namespace", "problem"),
    [
        ("", "is empty"),
        ("a" * 129, "129 characters"),
        ("acme/research", "path separator"),
        ("acme\\x", "path separator"),
        ("a..b", "'..'"),
        ("bad\x00name", "control character"),
        ("naïve", "Chroma does not allow"),
        ("-lead", "Chroma does not allow"),
        ("has space", "Chroma does not allow"),
    ],
)
def test_invalid_namespaces_say_what_is_allowed(namespace: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as info:
        ChromaMemory.ephemeral(embedding=HashEmbeddings(), namespace=namespace)
    assert "allowed: 1-128 characters of letters, digits" in str(info.value)


@pytest.mark.parametrize("namespace", ["a", "acme-research", "team_1.v2", "X" * 128])
def test_valid_namespaces(namespace: str) -> None:
    assert validate_namespace(namespace) == namespace


def test_hash_embeddings_are_deterministic_normalized_and_lexical() -> None:
    emb = HashEmbeddings(dim=256)
    a, b, c = emb.embed_documents(
        ["Alice likes green tea", "alice LIKES green tea!", "The server port is 5433"]
    )
    assert a == b == emb.embed_query("Alice likes green tea")
    assert len(a) == 256 and math.isclose(sum(x * x for x in a), 1.0)
    cos = sum(x * y for x, y in zip(a, c, strict=True))
    assert abs(cos) < 0.3
    near = emb.embed_query("Alice likes tea")
    assert sum(x * y for x, y in zip(a, near, strict=True)) > 0.6
    assert emb.embed_query("") != [0.0] * 256
    with pytest.raises(ConfigError):
        HashEmbeddings(dim=2)


def test_default_embedding_offline_says_how_to_choose_another(monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

    def offline(self: object, input: object) -> object:
        raise OSError("Name or service not known")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", offline)
    with pytest.raises(EmbeddingUnavailableError, match=r"embedding=HashEmbeddings\(\)"):
        ChromaMemory.ephemeral()


def test_chroma_embedding_functions_are_accepted() -> None:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class Tiny(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            self._inner = HashEmbeddings(dim=32)

        def __call__(self, input: Documents) -> Embeddings:
            return self._inner.embed_documents(list(input))  # type: ignore[return-value]

        @staticmethod
        def name() -> str:
            return "tiny"

    memory = ChromaMemory.ephemeral(embedding=Tiny())
    assert memory.embedding_name == "chroma:tiny"
    rid = memory.add("Chroma functions work too.")
    assert memory.search("chroma functions", k=1, mode="vector")[0].id == rid


def test_bad_embedding_and_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="embedding"):
        ChromaMemory.ephemeral(embedding="not an embedding")
    with pytest.raises(ConfigError, match="chunk_overlap"):
        ChromaMemory.ephemeral(embedding=HashEmbeddings(), chunk_tokens=64, chunk_overlap=40)
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    with pytest.raises(ConfigError, match="kind"):
        memory.add("x", kind="secret")
    with pytest.raises(ConfigError, match="reserved"):
        memory.add("x", metadata={"thread_id": "t"})
    with pytest.raises(ConfigError, match="str, int, float or bool"):
        memory.add("x", metadata={"tags": ["a"]})
    with pytest.raises(ConfigError, match="url"):
        ChromaMemory.from_url("localhost:8000", embedding=HashEmbeddings())
    with pytest.raises(ConfigError, match="`chunk_tokens` must be an integer >= 16, got 8"):
        ChromaMemory.ephemeral(embedding=HashEmbeddings(), chunk_tokens=8, chunk_overlap=0)
    with pytest.raises(ConfigError, match="chunk_overlap"):
        ChromaMemory.ephemeral(embedding=HashEmbeddings(), chunk_tokens=64, chunk_overlap=-1)
    for k in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="`k` must be a positive integer"):
            memory.search("x", k=k)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="`mode` must be one of"):
        memory.search("x", mode="fuzzy")  # type: ignore[arg-type]
    for which in ({}, {"thread_id": "t", "run_id": "r"}):
        with pytest.raises(ConfigError, match="exactly one of"):
            memory.forget(**which)
    for dim, version in ((4, 2), (64, 3)):
        with pytest.raises(ConfigError, match="`dim`|`version`"):
            HashEmbeddings(dim=dim, version=version)


def test_chunks_overlap_and_rejoin_exactly() -> None:
    text = " ".join(f"Sentence {i} is about topic {i % 5}." for i in range(120))
    chunks = split_text(text, chunk_tokens=40, overlap=10, count=approximate_tokens)
    assert len(chunks) > 5
    assert all(approximate_tokens(c.text) <= 40 for c in chunks)
    assert all(b.start < a.end for a, b in pairwise(chunks))  # they overlap
    assert all(c.text.rstrip().endswith(".") for c in chunks)  # cut between sentences
    assert join_chunks(list(reversed(chunks))) == text


def test_custom_token_counter_is_used() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(), token_counter=lambda t: len(t.split()))
    rid = memory.add("one two three four")
    assert memory.get(rid).tokens == 4  # type: ignore[union-attr]


def test_a_lexical_index_from_before_stemming_is_reindexed(tmp_path: Path) -> None:
    import sqlite3

    from agentorch.memory._lexical import LexicalIndex

    path = str(tmp_path / "old.sqlite3")
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE docs (rowid INTEGER PRIMARY KEY, coll TEXT NOT NULL, id TEXT NOT NULL, "
        "digest TEXT NOT NULL, UNIQUE (coll, id));"
        "CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = 'unicode61');"
        "INSERT INTO docs VALUES (1, 'c', 'greta', 'd1');"
        "INSERT INTO fts (rowid, text) VALUES (1, 'Greta lives in Bergen.');"
    )
    db.commit()
    db.close()
    index = LexicalIndex(path)
    assert [i for i, _ in index.search("c", "where does Greta live", 5)] == ["greta"]
    index.close()


def test_readme_memory_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    section = (Path(__file__).resolve().parents[2] / "docs" / "memory.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(example, "README-memory", "exec"), {})
    first, count = capsys.readouterr().out.splitlines()
    assert first.startswith("The Q3 report is due on 14 March. ")
    assert count == "3"


def test_repeating_a_word_weighs_it_more_not_less() -> None:
    emb = HashEmbeddings()
    once, thrice = emb.embed_query("tea and coffee"), emb.embed_query("tea tea tea and coffee")
    tea = emb.embed_query("tea")
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert dot(thrice, tea) > dot(once, tea) > 0


def test_a_forgotten_namespace_can_be_written_again() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    memory.add("old note about tea")
    assert memory.forget(namespace=memory.namespace) == 1
    rid = memory.add("new note about coffee")
    assert [h.id for h in memory.search("coffee", k=1)] == [rid]
    assert memory.count() == 1


def test_close_stops_the_search_worker_and_the_memory_still_works() -> None:
    import threading

    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("agentorch-memory")}

    before = workers()
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=256))
    memory.add("The Q3 report is due on 14 March.")
    assert memory.search("Q3 report", k=1)[0].text.startswith("The Q3 report")
    mine = workers() - before
    assert len(mine) == 1  # hybrid search ran its vector side in the store's worker
    memory.close()
    assert not any(t.is_alive() for t in mine)
    memory.close()  # closing twice is harmless
    memory.add("Lunch is at noon.")  # a closed memory still works, with a new worker
    assert memory.search("lunch", k=1)[0].text == "Lunch is at noon."
    memory.close()


def test_diversify_moves_copies_down_keeps_scores_and_orders_the_unpicked_by_relevance() -> None:
    # a and a2 are copies (a2 older), b is unlike both, c is opposite to a (cosine -1: no
    # redundancy, not a bonus), d is the least relevant.
    ranking = [("a", 1.0), ("a2", 0.95), ("b", 0.7), ("c", 0.6), ("d", 0.1)]
    vectors = {"a": (1, 0), "a2": (1, 0), "b": (0, 1), "c": (-1, 0), "d": (0, 1)}
    created = {"a": 5.0, "a2": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    out = diversify(ranking, 0.0, vectors, created, picks=3)
    assert [i for i, _ in out] == ["a", "b", "c", "a2", "d"]
    assert dict(out) == dict(ranking)


def test_diversify_takes_the_newest_among_ties_and_does_not_penalize_a_newer_repeat() -> None:
    ranking = [("old", 1.0), ("new", 0.99), ("other", 0.8)]
    vectors = {"old": (1, 0), "new": (1, 0), "other": (0, 1)}
    # within the tolerance: the newer one first, then the older copy is redundant
    assert [i for i, _ in diversify(ranking, 0.02, vectors, {"old": 1, "new": 2, "other": 0}, 3)] == [
        "new",
        "other",
        "old",
    ]
    # outside it: the older one first, and its newer repeat (an update) keeps its place
    assert [i for i, _ in diversify(ranking, 0.0, vectors, {"old": 1, "new": 2, "other": 0}, 3)] == [
        "old",
        "new",
        "other",
    ]
