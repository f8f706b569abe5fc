"""Edges a mutation sample showed no test noticed: paging past `MAX_BATCH`, the token
arithmetic of context assembly, the default `k` of search, and `forget` across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import chromadb
import pytest

from agentorch._types import SubTask, SubTaskResult
from agentorch.memory import ChromaMemory, HashEmbeddings
from agentorch.memory import _store as store


def _chars(text: str) -> int:
    """A token counter with no rounding: one token per character."""
    return len(text)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chroma calls page by 3 records, so ten records take four pages."""
    monkeypatch.setattr(store, "MAX_BATCH", 3)
    return 3


def _lexical_ids(memory: ChromaMemory, query: str) -> list[str]:
    return [h.id for h in memory.search(query, k=3, mode="lexical")]


def test_writes_and_lexical_syncs_page_through_more_than_one_batch(small_batches: int) -> None:
    client = chromadb.EphemeralClient()
    namespace = f"paging-{id(client)}"
    writer = ChromaMemory(
        client=client, namespace=namespace, embedding=HashEmbeddings(dim=64), chunk_tokens=16, chunk_overlap=2
    )
    long = " ".join(f"filler{j}" for j in range(60))
    for i in range(10):  # each record takes several chunks: more chunks than a batch per record
        writer.add(f"record {i} says oldword{i}. {long}", id=f"r{i}")
    assert writer.count() == 10
    assert all(_lexical_ids(writer, f"oldword{i}") == [f"r{i}"] for i in range(10))

    # a second client's lexical cache starts empty: its first sync reads every page
    reader = ChromaMemory(client=client, namespace=namespace, embedding=HashEmbeddings(dim=64))
    assert all(_lexical_ids(reader, f"oldword{i}") == [f"r{i}"] for i in range(10))

    # shorter new versions leave no chunk of the old ones, on every page of records
    for i in range(10):
        writer.add(f"record {i} says newword{i}", id=f"r{i}")
    assert writer.search("filler7", k=3, mode="lexical") == []
    assert reader.search("filler7", k=3, mode="lexical") == []
    assert all(_lexical_ids(reader, f"newword{i}") == [f"r{i}"] for i in range(10))

    # same number of chunks, new texts: only the incremental sync runs, and it pages too
    for i in range(10):
        writer.add(f"record {i} says lastword{i}", id=f"r{i}")
    assert all(_lexical_ids(reader, f"lastword{i}") == [f"r{i}"] for i in range(10))


def test_search_returns_five_hits_unless_told_otherwise() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=64))
    memory.add_documents([f"the invoice {i} mentions apples" for i in range(8)])
    assert len(memory.search("apples")) == 5
    assert len(memory.search("apples", mode="lexical")) == 5
    assert len(memory.search("apples", k=7)) == 7


async def test_asearch_returns_five_hits_unless_told_otherwise() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=64))
    memory.add_documents([f"the invoice {i} mentions apples" for i in range(8)])
    assert len(await memory.asearch("apples")) == 5


def test_forget_is_seen_by_another_process_that_has_the_store_open(tmp_path: Path) -> None:
    memory = ChromaMemory(tmp_path / "mem", embedding=HashEmbeddings(dim=64))
    memory.add("the launch code is swordfish", thread_id="old")
    memory.add("the meeting moved to Tuesday", thread_id="keep")
    assert memory.count() == 2
    code = (
        "import sys\n"
        "from agentorch.memory import ChromaMemory, HashEmbeddings\n"
        "m = ChromaMemory(sys.argv[1], embedding=HashEmbeddings(dim=64))\n"
        "print(m.forget(thread_id='old'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "mem")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    # this process saw the store before the other one wrote; it must not serve stale records
    assert memory.count() == 1
    assert [h.text for h in memory.search("launch code swordfish", k=3)] == ["the meeting moved to Tuesday"]
    # and writing after it neither brings the forgotten record back nor loses the new one
    memory.add("the launch is on Friday", thread_id="new")
    for mode in ("vector", "hybrid", "lexical"):
        found = [h.text for h in memory.search("launch code swordfish", k=3, mode=mode)]
        assert "the launch code is swordfish" not in found and "the launch is on Friday" in found, mode
    again = ChromaMemory(tmp_path / "mem", embedding=HashEmbeddings(dim=64))
    assert again.count() == 2


# -- context assembly: every token of the budget is accounted for, separators included -----

GOAL = "Write the brief"
SUBTASK = SubTask(id="brief", description="Write the brief", agent="writer", depends_on=["a", "b"])


class Summaries:
    """The summarizer role: a fixed short text, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, text: str, max_tokens: int) -> str:
        self.calls += 1
        return "short"


def _dependencies() -> dict[str, SubTaskResult]:
    return {
        d: SubTaskResult(subtask_id=d, agent="researcher", output=f"Finding {d}: " + "x" * 200)
        for d in ("a", "b")
    }


async def _context(memory: ChromaMemory, budget: int, summarize: Summaries | None = None) -> str:
    return await memory.aassemble_context(
        goal=GOAL,
        subtask=SUBTASK,
        dependencies=_dependencies(),
        thread_id="t",
        budget=budget,
        summarize=summarize or Summaries(),
    )


async def test_a_budget_of_exactly_the_full_context_shows_everything_and_one_less_does_not() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=64), token_counter=_chars)
    full = await _context(memory, 100_000)
    assert "Finding a" in full and "Finding b" in full and "omitted" not in full
    exact = await _context(memory, len(full))
    assert exact == full  # blocks and the separators between them: nothing counted twice
    summaries = Summaries()
    tight = await _context(memory, len(full) - 1, summaries)
    assert len(tight) <= len(full) - 1  # separators count too
    assert tight != full and summaries.calls >= 1


async def test_a_budget_too_small_for_anything_gives_an_empty_context() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=64), token_counter=_chars)
    memory.add("the Q3 report is due on 14 March", thread_id="t")
    assert await _context(memory, 10) == ""
    assert await memory.arecall("Q3 report", thread_id="t", budget=10) == ""
    assert "14 March" in await memory.arecall("Q3 report", thread_id="t", budget=10_000)


# -- replies: the record written just after a strong match -------------------------------


def _dialogue(memory: ChromaMemory, private: bool = False) -> None:
    turns = [
        ("Ana: How was your week?", "chat"),
        ("Kofi: Busy, I had three deadlines at work.", "chat"),
        ("Ana: Did you finally go to the pottery class you wanted to try?", "chat"),
        ("Kofi: Yes, last Saturday! I made a lopsided bowl.", "secret" if private else "chat"),
        ("Ana: Nice. My sister moved to Lisbon in June.", "chat"),
    ]
    filler = [(f"Kofi: The train to work was late again on day {i}.", "chat") for i in range(40)]
    for text, tag in filler + turns + filler:
        memory.add(text, metadata={"tag": tag})


def test_a_reply_that_shares_no_word_with_the_question_is_found_by_hybrid_search() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    _dialogue(memory)
    question = "When did the friend of Ana go to the pottery class?"
    hybrid = [h.text for h in memory.search(question, k=3)]
    assert hybrid[0].startswith("Ana: Did you finally go to the pottery class")
    assert "Kofi: Yes, last Saturday! I made a lopsided bowl." in hybrid
    # the lift is hybrid's: the plain lexical side does not see the reply
    assert "Kofi: Yes, last Saturday! I made a lopsided bowl." not in [
        h.text for h in memory.search(question, k=3, mode="lexical")
    ]


def test_a_reply_lifted_by_its_question_still_obeys_where() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    _dialogue(memory, private=True)
    hits = memory.search("When did the friend of Ana go to the pottery class?", k=5, where={"tag": "chat"})
    assert hits and all(h.metadata["tag"] == "chat" for h in hits)


def test_lift_replies_is_a_floor_not_a_sum() -> None:
    from agentorch.memory._ranking import REPLIES, lift_replies

    ranking = [("q", 1.0), ("a", 0.9), ("b", 0.2)]
    lifted = lift_replies(ranking, {"q": "b", "a": "x"})
    assert lifted == [("q", 1.0), ("a", 0.9), ("b", REPLIES * 1.0), ("x", REPLIES * 0.9)]
    # a record that matches better by itself keeps its own score and place
    assert lift_replies([("q", 1.0), ("r", 0.8)], {"q": "r"}) == [("q", 1.0), ("r", 0.8)]
    assert lift_replies([], {}) == []


def test_the_lexical_index_returns_the_single_best_match_when_asked_for_one() -> None:
    from agentorch.memory._lexical import LexicalIndex, LexicalRow

    index = LexicalIndex()
    index.upsert("c", [LexicalRow("a", "apples and pears", "1"), LexicalRow("b", "apples", "2")])
    assert [i for i, _ in index.search("c", "apples", 1)] == ["b"]  # the shorter text ranks first
    assert [i for i, _ in index.search("c", "pears", 1, ids=["a"])] == ["a"]
    assert index.search("c", "apples", 0) == []


def test_a_client_sees_another_clients_deletes_in_its_lexical_results() -> None:
    client = chromadb.EphemeralClient()
    namespace = f"deletes-{id(client)}"
    writer = ChromaMemory(client=client, namespace=namespace, embedding=HashEmbeddings(dim=64))
    reader = ChromaMemory(client=client, namespace=namespace, embedding=HashEmbeddings(dim=64))
    for i in range(30):
        writer.add(f"apple apple apple {i}", thread_id="old")
    kept = [writer.add(f"an apple among pears, plums and figs {i}", thread_id="new") for i in range(5)]
    assert len(reader.search("apple", k=5, mode="lexical")) == 5  # the reader's cache is synced
    assert writer.forget(thread_id="old") == 30
    # the deleted records were the best bm25 matches: a cache that kept them would fill its
    # candidates with them and find nothing
    assert sorted(h.id for h in reader.search("apple", k=5, mode="lexical")) == sorted(kept)
