"""One conformance suite for every backend: ephemeral, persistent and a Chroma server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentorch._errors import ConfigError
from agentorch._types import SubTaskResult, Verdict
from agentorch.memory import ChromaMemory, HashEmbeddings
from agentorch.memory._schema import new_record

MemoryFactory = Callable[..., ChromaMemory]

FACTS = [
    ("The Q3 report is due on 14 March.", {"source": "email"}),
    ("Alice Moreau prefers green tea over coffee.", {"source": "chat"}),
    ("The staging database runs on port 5433.", {"source": "wiki"}),
    ("Invoice 88231 was paid by Globex on 2 February.", {"source": "email"}),
]


def _seed(memory: ChromaMemory) -> list[str]:
    return [memory.add(text, metadata=meta) for text, meta in FACTS]


def test_add_search_returns_the_matching_record_first(memory: ChromaMemory) -> None:
    ids = _seed(memory)
    hits = memory.search("when is the Q3 report due?", k=3)
    assert hits[0].id == ids[0]
    assert hits[0].text == "The Q3 report is due on 14 March."
    assert hits[0].kind == "note"
    assert hits[0].metadata["source"] == "email"
    assert hits[0].score > hits[1].score
    assert memory.count() == 4


@pytest.mark.parametrize("mode", ["vector", "lexical", "hybrid"])
def test_every_mode_finds_an_exact_number(memory: ChromaMemory, mode: str) -> None:
    ids = _seed(memory)
    hits = memory.search("invoice 88231", k=2, mode=mode)
    assert hits[0].id == ids[3]


def test_where_filters_on_metadata(memory: ChromaMemory) -> None:
    _seed(memory)
    memory.add("A reminder about the Q3 report.", kind="feedback")
    hits = memory.search("Q3 report", k=5, where={"source": "email"})
    assert {h.metadata["source"] for h in hits} == {"email"}
    assert len(hits) == 2
    only_feedback = memory.search("Q3 report", k=5, where={"kind": "feedback"})
    assert [h.text for h in only_feedback] == ["A reminder about the Q3 report."]


def test_long_documents_are_chunked_and_rejoined(make_memory: MemoryFactory) -> None:
    memory = make_memory(chunk_tokens=40, chunk_overlap=8)
    long_text = " ".join(f"Section {i} describes gadget model X{i * 13}." for i in range(60))
    doc_id, short_id = memory.add_documents([(long_text, {"title": "manual"}), "A short one."])
    assert memory.count() == 2
    record = memory.get(doc_id)
    assert record is not None and record.text == long_text
    assert record.metadata["title"] == "manual" and record.kind == "document"
    hit = memory.search("gadget model X390", k=1)[0]
    assert hit.id == doc_id and hit.text == long_text
    assert memory.get(short_id).text == "A short one."  # type: ignore[union-attr]


def test_same_id_replaces_the_record(make_memory: MemoryFactory) -> None:
    memory = make_memory(chunk_tokens=40, chunk_overlap=8)
    long_text = " ".join(f"Line {i} mentions the old plan." for i in range(40))
    memory.add(long_text, id="plan")
    memory.add("The new plan is short.", id="plan")
    assert memory.count() == 1
    assert memory.get("plan").text == "The new plan is short."  # type: ignore[union-attr]
    assert [h.id for h in memory.search("old mentions line", k=5, mode="lexical")] == []


def test_rewriting_records_in_a_batch_leaves_no_old_chunks(make_memory: MemoryFactory) -> None:
    memory = make_memory(chunk_tokens=40, chunk_overlap=8)
    long_text = " ".join(f"Line {i} mentions the old plan." for i in range(40)) + " Zeppelin ends it."
    longer_text = " ".join(f"Row {i} describes the new budget." for i in range(60))
    memory.add("A short first version of the budget.", id="budget")
    memory.add(long_text, id="plan")
    memory.add_documents(["An unrelated note about lunch."])
    # one batch: a new record, a one-chunk record grown to many, a long one shrunk to fewer
    memory.write_records(
        [
            new_record(id="fresh", text="A brand new record.", namespace=memory.namespace, kind="note"),
            new_record(id="budget", text=longer_text, namespace=memory.namespace, kind="note"),
            new_record(
                id="plan", text=long_text[: len(long_text) // 3], namespace=memory.namespace, kind="note"
            ),
        ]
    )
    assert memory.count() == 4
    assert memory.get("budget").text == longer_text  # type: ignore[union-attr]
    assert memory.get("plan").text == long_text[: len(long_text) // 3]  # type: ignore[union-attr]
    assert [h.id for h in memory.search("short first version", k=5, mode="lexical")] == []
    assert [h.id for h in memory.search("zeppelin", k=5, mode="lexical")] == []


def test_forget_thread_and_run(memory: ChromaMemory) -> None:
    memory.add("Thread one fact about llamas.", thread_id="t1", run_id="r1")
    memory.add("Thread one second fact about llamas.", thread_id="t1", run_id="r2")
    memory.add("Thread two fact about llamas.", thread_id="t2", run_id="r3")
    assert memory.forget(run_id="r2") == 1
    assert memory.count() == 2
    assert memory.forget(thread_id="t1") == 1
    assert [h.text for h in memory.search("llamas", k=5)] == ["Thread two fact about llamas."]
    assert [h.text for h in memory.search("llamas", k=5, mode="lexical")] == ["Thread two fact about llamas."]
    with pytest.raises(ConfigError, match="exactly one"):
        memory.forget(thread_id="t2", run_id="r3")


def test_namespaces_are_isolated(make_memory: MemoryFactory) -> None:
    acme = make_memory("acme")
    globex = make_memory("globex")
    acme.add("Acme's secret launch code is 4471.")
    globex.add("Globex likes blue widgets.")
    for mode in ("vector", "lexical", "hybrid"):
        assert [h.text for h in globex.search("secret launch code 4471", k=5, mode=mode)] == [
            "Globex likes blue widgets."
        ] or globex.search("secret launch code 4471", k=5, mode=mode) == []
    assert globex.count() == 1 and acme.count() == 1
    assert globex.forget(namespace=acme.namespace) == 1
    assert acme.count() == 0 and globex.count() == 1
    acme.add("Acme starts over.")
    assert [h.text for h in acme.search("starts over", k=5)] == ["Acme starts over."]


def test_reopening_with_another_embedding_is_an_error(make_memory: MemoryFactory) -> None:
    make_memory("emb", embedding=HashEmbeddings(dim=256)).add("hello")
    with pytest.raises(ConfigError, match="HashEmbeddings.*dimension 256.*dimension 128"):
        make_memory("emb", embedding=HashEmbeddings(dim=128))


def test_second_memory_on_same_store_sees_records(make_memory: MemoryFactory) -> None:
    writer = make_memory("shared")
    reader = make_memory("shared")
    writer.add("Bob's birthday is on 9 July.")
    assert [h.text for h in reader.search("Bob birthday", k=1, mode="lexical")] == [
        "Bob's birthday is on 9 July."
    ]
    writer.forget(thread_id="none")  # deleting nothing is fine
    assert reader.count() == 1


async def test_remember_run_is_idempotent_and_recalled_by_next_run(memory: ChromaMemory) -> None:
    results = {
        "research-1": SubTaskResult(
            subtask_id="research-1", agent="researcher", output="Competitor Initech cut prices by 12% in May."
        ),
        "write-1": SubTaskResult(
            subtask_id="write-1", agent="writer", output="", status="failed", error="timeout"
        ),
    }
    verdicts = [
        Verdict(decision="revise", feedback="Cite the month of the price cut.", revise=["research-1"]),
        Verdict(decision="accept"),
    ]
    for _ in range(2):  # a resumed run stores the same records again
        await memory.aremember_run(
            goal="Analyse Initech pricing",
            thread_id="th-1",
            run_id="run-1",
            results=results,
            verdicts=verdicts,
            answer="Initech is undercutting us by 12%.",
        )
    kinds = sorted(r.kind for r in await memory.arecords())
    assert kinds == ["feedback", "goal", "result", "result"]
    recalled = await memory.arecall("How did Initech change its pricing?", thread_id="th-2", budget=400)
    assert "Competitor Initech cut prices by 12% in May." in recalled
    assert 'agent="researcher"' in recalled
    assert memory.count_tokens(recalled) <= 400
    assert await memory.arecall("anything", thread_id="x", budget=5) == ""


async def test_async_variants(memory: ChromaMemory) -> None:
    rid = await memory.aadd("Async facts are stored too.", kind="note", thread_id="a")
    assert [h.id for h in await memory.asearch("async facts", k=1)] == [rid]
    assert await memory.acount({"thread_id": "a"}) == 1
    assert await memory.aforget(thread_id="a") == 1


@pytest.mark.parametrize("mode", ["vector", "lexical", "hybrid"])
def test_a_newer_statement_outranks_the_one_it_supersedes(memory: ChromaMemory, mode: str) -> None:
    memory.add("Aiko said: the train was late again this week.")
    older = memory.add("Update: Aiko relocated again and now lives in Perth.")
    memory.add("Mateo said: the weather was grey all week.")
    newer = memory.add("Update: Aiko relocated again and now lives in Oslo.")
    hits = memory.search("Which city does Aiko live in now?", k=3, mode=mode)
    ids = [h.id for h in hits]
    assert ids.index(newer) < ids.index(older)  # the query cannot tell them apart: newest first


def test_a_better_match_still_beats_a_newer_one(memory: ChromaMemory) -> None:
    exact = memory.add("Supplier S5 quoted 65 euros for part P5.")
    memory.add("Supplier S6 quoted 78 euros for part P6.")
    for mode in ("vector", "lexical", "hybrid"):
        assert memory.search("quote for part P5 from supplier S5", k=2, mode=mode)[0].id == exact


def test_lexical_search_stems_and_skips_stop_words(memory: ChromaMemory) -> None:
    lives = memory.add("Greta lives in Bergen.")
    memory.add("The report is in the drawer of the desk.")
    hits = memory.search("where does Greta live?", k=2, mode="lexical")
    assert [h.id for h in hits] == [lives]  # "live" ~ "lives"; "where"/"does" match nothing
    assert memory.search("the", k=1, mode="lexical")  # a query of stop words alone still works
