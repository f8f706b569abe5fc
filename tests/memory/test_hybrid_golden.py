"""Search returns exactly the recorded results: a guard against changes that were not meant
to alter rankings.

`hybrid_golden.json` holds the ranked ids and scores of hybrid, vector and lexical searches over
a seeded store. The vector and lexical rows date from before the latency work of issue 15 and
the hybrid rows from when hybrid search became redundancy-aware (`diversify`). A change that
reorders or skips work must leave them identical; a change meant to alter the ranking
regenerates the file on purpose: `python tests/memory/test_hybrid_golden.py`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from agentorch.memory import ChromaMemory, HashEmbeddings
from agentorch.memory._schema import new_record

GOLDEN = Path(__file__).with_name("hybrid_golden.json")
PEOPLE = ["Ana", "Kofi", "Yuki", "Lars", "Mira", "Omar", "Priya", "Tomas"]
THINGS = ["car", "bicycle", "invoice", "report", "garden", "kitchen", "laptop", "ticket", "lease"]
VERBS = ["repaired", "lent", "sent", "paid", "moved", "cleaned", "booked", "sold", "lost"]
PLACES = ["Oslo", "Perth", "Lagos", "Lima", "Kyoto", "Quebec"]


def _store() -> tuple[ChromaMemory, list[tuple[str, int, dict[str, Any] | None]]]:
    """A store of 400 short records and 6 long (chunked) ones, fixed creation times, and
    the searches to run: (query, k, where)."""
    rng = random.Random(15)
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(), chunk_tokens=32, chunk_overlap=4)
    records = []
    for i in range(400):
        who, whom = rng.sample(PEOPLE, 2)
        text = (
            f"{who} {rng.choice(VERBS)} the {rng.choice(THINGS)} for {whom} in {rng.choice(PLACES)} "
            f"on day {rng.randrange(30)}."
        )
        if i % 50 == 7:  # exact repeats, later: ties the search breaks newest first
            text = records[i - 5].text
        records.append(
            new_record(
                id=f"n{i}",
                text=text,
                namespace=memory.namespace,
                kind="note",
                metadata={"group": i % 3},
                created_at=1_000.0 + i,
            )
        )
    for j in range(6):
        body = " ".join(
            f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} the {rng.choice(THINGS)} in {rng.choice(PLACES)}."
            for _ in range(30)
        )
        records.append(
            new_record(
                id=f"long{j}",
                text=body,
                namespace=memory.namespace,
                kind="document",
                metadata={"group": j % 3},
                created_at=2_000.0 + j,
            )
        )
    memory.write_records(records)
    searches: list[tuple[str, int, dict[str, Any] | None]] = []
    for n in range(30):
        words = [rng.choice(PEOPLE), rng.choice(THINGS), rng.choice(PLACES + VERBS)]
        searches.append(
            (" ".join(words[: 1 + n % 3]), (1, 3, 10)[n % 3], {"group": 1} if n % 4 == 0 else None)
        )
    searches.append(("zzz nothing matches this", 5, None))
    return memory, searches


def _results() -> list[dict[str, Any]]:
    memory, searches = _store()
    out = []
    try:
        for query, k, where in searches:
            for mode in ("hybrid", "vector", "lexical"):
                hits = memory.search(query, k=k, where=where, mode=mode)  # type: ignore[arg-type]
                out.append(
                    {
                        "query": query,
                        "k": k,
                        "where": where,
                        "mode": mode,
                        "hits": [[h.id, round(h.score, 6), len(h.text)] for h in hits],
                    }
                )
    finally:
        memory.close()
    return out


def test_search_results_match_the_recorded_ones() -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = _results()
    assert [(r["query"], r["mode"]) for r in got] == [(r["query"], r["mode"]) for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert [h[0] for h in mine["hits"]] == [h[0] for h in theirs["hits"]], mine["query"]
        assert [h[2] for h in mine["hits"]] == [h[2] for h in theirs["hits"]], mine["query"]
        assert [h[1] for h in mine["hits"]] == pytest.approx([h[1] for h in theirs["hits"]], abs=1e-5)


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(_results(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
