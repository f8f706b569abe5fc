"""Hybrid search keeps what either side finds; HashEmbeddings versions; server cache sync."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from langchain_core.embeddings import Embeddings

from agentorch._errors import ConfigError
from agentorch.memory import ChromaMemory, HashEmbeddings

MemoryFactory = Callable[..., ChromaMemory]

CONCEPTS = {
    "doctor": "doctor",
    "physician": "doctor",
    "gp": "doctor",
    "ana": "ana",
    "weekend": "weekend",
    "saturday": "weekend",
    "door": "door",
    "code": "code",
    "lab": "lab",
    "zephyr": "lab",
}


class SynonymEmbeddings(Embeddings):
    """A tiny embedding that knows synonyms: counts of the concepts above, normalized.
    Words it does not know count towards one "other" axis."""

    axes = sorted(set(CONCEPTS.values())) + ["other"]

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * len(self.axes)
        for word in re.findall(r"\w+", text.lower()):
            concept = CONCEPTS.get(word)
            if concept is not None:
                vector[self.axes.index(concept)] += 1.0
        vector[-1] = 0.1  # every text has a little of "other", so none is the zero vector
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]


def test_hybrid_keeps_what_only_the_lexical_side_finds(make_memory: MemoryFactory) -> None:
    # The embedding only sees "door", "code" and "lab" (Zephyr is a lab), so every record
    # looks alike to it and the evidence, which does not say "code", least of all; only the
    # lexical side knows that the rare word "Zephyr" points at one record.
    memory = make_memory("lex", embedding=SynonymEmbeddings())
    for n in range(12):
        memory.add(f"The door code of lab {n} changed on Monday.")
    evidence = memory.add("Room Zephyr: the door opens with 4471 for the night shift.")
    query = "door code of Zephyr"
    assert evidence not in [h.id for h in memory.search(query, k=5, mode="vector")]
    assert memory.search(query, k=1, mode="lexical")[0].id == evidence
    assert evidence in [h.id for h in memory.search(query, k=3)]


def test_hybrid_keeps_what_only_the_vector_side_finds(make_memory: MemoryFactory) -> None:
    # Every record says "Ana"; only the embedding knows a physician is a doctor.
    memory = make_memory("vec", embedding=SynonymEmbeddings())
    for thing in (
        "bread",
        "a kite",
        "the fence",
        "soup",
        "a poem",
        "the car",
        "a chair",
        "the garden",
        "a cake",
        "the bike",
        "a scarf",
        "the shelf",
    ):
        memory.add(f"Ana fixed {thing} on the weekend.")
    evidence = memory.add(
        "Ana went to her GP, Dr Ruiz, who she has trusted with her health for many years now."
    )
    query = "Who is Ana's physician?"
    assert evidence not in [h.id for h in memory.search(query, k=5, mode="lexical")]
    assert memory.search(query, k=1, mode="vector")[0].id == evidence
    assert evidence in [h.id for h in memory.search(query, k=3)]


def test_hybrid_scores_are_normalized_and_best_first(memory: ChromaMemory) -> None:
    memory.add("The Q3 report is due on 14 March.")
    memory.add("Lunch moved to Thursday.")
    hits = memory.search("when is the Q3 report due", k=2)
    assert hits[0].text == "The Q3 report is due on 14 March."
    assert 0.0 <= hits[1].score <= hits[0].score <= 1.0


def test_hash_embeddings_v2_share_word_parts_and_skip_stop_words() -> None:
    v2, v1 = HashEmbeddings(dim=512), HashEmbeddings(dim=512, version=1)

    def cos(emb: HashEmbeddings, a: str, b: str) -> float:
        return sum(x * y for x, y in zip(emb.embed_query(a), emb.embed_query(b), strict=True))

    married = ("Priya is getting married in May", "the marriage of Priya")
    assert cos(v2, *married) > cos(v1, *married)
    assert v2.embed_query("Was it in the garden?") == v2.embed_query("garden")
    assert v2.embed_documents(["Same text, same vector."]) == v2.embed_documents(["Same text, same vector."])
    with pytest.raises(ConfigError, match="version"):
        HashEmbeddings(version=3)


def test_a_namespace_written_by_hash_v1_names_the_version_to_open_it(make_memory: MemoryFactory) -> None:
    make_memory("old", embedding=HashEmbeddings(dim=256, version=1)).add("hello")
    with pytest.raises(ConfigError, match=r"HashEmbeddings\(dim=256, version=1\)"):
        make_memory("old", embedding=HashEmbeddings(dim=256))
    reopened = make_memory("old", embedding=HashEmbeddings(dim=256, version=1))
    assert reopened.search("hello", k=1)[0].text == "hello"


def test_another_clients_writes_and_deletes_reach_the_lexical_side(make_memory: MemoryFactory) -> None:
    reader, writer = make_memory("sync"), make_memory("sync")
    reader.add("Zanzibar ferry leaves at 7.", thread_id="a")
    assert [h.text for h in reader.search("Zanzibar", k=5, mode="lexical")] == ["Zanzibar ferry leaves at 7."]
    writer.add("Zanzibar hotel is booked.", thread_id="b")
    rid = writer.add("Zanzibar visa expires soon.", thread_id="c")
    writer.add("Zanzibar visa renewed for a year.", id=rid, thread_id="c")  # replaced text
    assert sorted(h.text for h in reader.search("Zanzibar", k=5, mode="lexical")) == [
        "Zanzibar ferry leaves at 7.",
        "Zanzibar hotel is booked.",
        "Zanzibar visa renewed for a year.",
    ]
    writer.forget(thread_id="b")
    assert sorted(h.text for h in reader.search("Zanzibar", k=5, mode="lexical")) == [
        "Zanzibar ferry leaves at 7.",
        "Zanzibar visa renewed for a year.",
    ]
    assert reader.search("hotel booked", k=5, mode="lexical") == []


class TableEmbeddings(Embeddings):
    """Vectors given per text, so a test sets each record's cosine with the query exactly.
    Texts not in the table get one vector far from the query."""

    def __init__(self, table: dict[str, tuple[float, float, float]]) -> None:
        self.table = table

    def embed_query(self, text: str) -> list[float]:
        return list(self.table.get(text, (0.1, 0.0, math.sqrt(0.99))))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]


def _at_cosine(c: float) -> tuple[float, float, float]:
    """A unit vector whose cosine with the query vector (1, 0, 0) is `c`."""
    return (c, math.sqrt(1.0 - c * c), 0.0)


QUERY = "Where does Priya live?"
FILLER = [
    "Lunch moved to Thursday because of the new schedule.",
    "The printer on the second floor is out of toner.",
    "Quarterly planning starts next week with the finance team.",
]


def _two_statements(
    make_memory: MemoryFactory, older_cos: float, newer_cos: float
) -> tuple[str, str, ChromaMemory]:
    # Both statements match the query's words alike (the lexical side ties them); the
    # embedding puts the older one at `older_cos` and the newer one at `newer_cos`.
    older_text, newer_text = "Priya lives in Perth.", "Priya lives in Osaka."
    embedding = TableEmbeddings(
        {QUERY: (1.0, 0.0, 0.0), older_text: _at_cosine(older_cos), newer_text: _at_cosine(newer_cos)}
    )
    memory = make_memory("ties", embedding=embedding)
    for text in FILLER:
        memory.add(text)
    older = memory.add(older_text)
    newer = memory.add(newer_text)
    return older, newer, memory


def test_hybrid_ranks_newest_first_what_neither_side_tells_apart(make_memory: MemoryFactory) -> None:
    # 0.800 vs 0.795: closer than the vector side's own tie tolerance (0.01), and the lexical
    # side ties them too, so the later statement, which supersedes the earlier, comes first.
    older, newer, memory = _two_statements(make_memory, 0.800, 0.795)
    assert [h.id for h in memory.search(QUERY, k=2, mode="vector")] == [newer, older]
    assert [h.id for h in memory.search(QUERY, k=2)] == [newer, older]


def test_hybrid_keeps_a_clearly_better_match_above_a_newer_one(make_memory: MemoryFactory) -> None:
    # 0.80 vs 0.75: the vector side tells them apart and the lexical side has no preference,
    # so being newer does not lift the worse match above the better one.
    older, newer, memory = _two_statements(make_memory, 0.80, 0.75)
    assert [h.id for h in memory.search(QUERY, k=2, mode="vector")] == [older, newer]
    assert [h.id for h in memory.search(QUERY, k=2)] == [older, newer]


def test_hybrid_makes_room_for_the_second_half_of_an_answer(make_memory: MemoryFactory) -> None:
    # The answer needs two records: one says "Yuki" and "car", the other only "Yuki". Twelve
    # other people's cars and repeated small talk of Yuki's match the query as well as the
    # second half does; being near-copies of one another, they make room for it.
    memory = make_memory("two-part", embedding=HashEmbeddings())
    people = "Ana Kofi Lars Mira Omar Priya Tomas Greta Luca Dalia Farah Ines".split()
    for day, person in enumerate(people):
        memory.add(f"{person}'s car is in the garage until day {day}.")
    first = memory.add("Yuki's car is in the garage until Friday.")
    for _ in range(4):
        memory.add("Yuki said: I finally finished reading that long novel about the lighthouse keeper.")
    second = memory.add("Kofi is lending Yuki a bicycle for the week.")
    for _ in range(4):
        memory.add("Yuki said: the train was delayed twice this week.")
    hits = [h.id for h in memory.search("How will Yuki get around while the car is repaired?", k=5)]
    assert first in hits and second in hits


def _statements(
    make_memory: MemoryFactory, older_cos: float, newer_cos: float
) -> tuple[str, str, str, ChromaMemory]:
    # Two statements of where Priya lives (near-copies to the embedding) and a third record
    # the query matches as well on words, a little less on the embedding, unlike both.
    older_text, newer_text, other_text = (
        "Priya lives in Perth.",
        "Priya lives in Osaka.",
        "Priya lives near the harbour office.",
    )
    embedding = TableEmbeddings(
        {
            QUERY: (1.0, 0.0, 0.0),
            older_text: _at_cosine(older_cos),
            newer_text: _at_cosine(newer_cos),
            other_text: (0.7, -math.sqrt(0.51), 0.0),
        }
    )
    memory = make_memory("updates", embedding=embedding)
    for text in FILLER:
        memory.add(text)
    other = memory.add(other_text)
    older = memory.add(older_text)
    newer = memory.add(newer_text)
    return older, newer, other, memory


def test_hybrid_moves_an_older_statement_below_a_later_one_that_repeats_it(
    make_memory: MemoryFactory,
) -> None:
    older, newer, other, memory = _statements(make_memory, 0.80, 0.80)
    assert [h.id for h in memory.search(QUERY, k=3, mode="vector")] == [newer, older, other]
    assert [h.id for h in memory.search(QUERY, k=3)] == [newer, other, older]


def test_hybrid_keeps_a_later_statement_up_when_an_older_one_matches_better(
    make_memory: MemoryFactory,
) -> None:
    # The later statement resembles the older one, but it is more likely an update than a
    # repeat, so only its own relevance places it.
    older, newer, other, memory = _statements(make_memory, 0.85, 0.80)
    assert [h.id for h in memory.search(QUERY, k=3)] == [older, newer, other]
