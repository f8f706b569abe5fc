"""Memory isolation beyond tests/memory: reads by id, filters and deletes never cross a
namespace; any string is either a safe namespace or refused; two processes racing to upsert
the same records (as two resumes re-remembering one run would) plus their own lose nothing and
duplicate nothing."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as s

from agentorch import ConfigError
from agentorch.memory import ChromaMemory, HashEmbeddings, validate_namespace

WRITER = str(Path(__file__).with_name("_memory_writer.py"))


@given(s.text(max_size=140) | s.text(string.ascii_letters + "._-/\\", max_size=12))
@settings(max_examples=500, deadline=None)
def test_any_string_is_a_safe_namespace_or_refused(name: str) -> None:
    try:
        ok = validate_namespace(name)
    except ConfigError as e:
        assert repr(name) in str(e) and "allowed:" in str(e)
        return
    assert ok == name and 1 <= len(name) <= 128
    assert not any(c in name for c in "/\\") and ".." not in name
    assert all(c in string.ascii_letters + string.digits + "._-" for c in name)
    assert name[0].isalnum() and name[-1].isalnum()


def test_namespaces_do_not_share_ids_filters_or_deletes(tmp_path: Path) -> None:
    emb = HashEmbeddings(dim=64)
    acme = ChromaMemory(tmp_path / "m", namespace="acme", embedding=emb)
    globex = ChromaMemory(tmp_path / "m", namespace="globex", embedding=emb)
    secret = acme.add("Acme vault code 7712.", thread_id="t1", id="same-id")
    own = globex.add("Globex parking rules.", thread_id="t1", id="same-id")
    assert secret == own == "same-id"  # the same id, in two namespaces, is two records

    assert globex.get("same-id").text == "Globex parking rules."
    assert acme.get("same-id").text == "Acme vault code 7712."
    assert [r.text for r in globex.records(where={"namespace": "acme"})] == []
    assert [r.text for r in globex.records(ids=["same-id"])] == ["Globex parking rules."]
    for mode in ("vector", "lexical", "hybrid"):
        hits = globex.search("vault code 7712", k=5, mode=mode, where={"thread_id": "t1"})
        assert all("7712" not in h.text for h in hits)

    assert globex.forget(thread_id="t1") == 1  # its own record only
    assert acme.count() == 1 and acme.get("same-id").text == "Acme vault code 7712."
    assert [h.text for h in acme.search("vault code 7712", k=1, mode="lexical")] == ["Acme vault code 7712."]
    assert globex.search("vault code 7712", k=5, mode="lexical") == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_processes_upserting_the_same_records_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = tmp_path / "race"
    shared, own = 500, 750  # 2,000 records from 2,500 writes
    procs = [
        subprocess.Popen(
            [sys.executable, WRITER, str(path), tag, str(shared), str(own)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("alpha", "beta")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, err[-3000:]
    memory = ChromaMemory(path, namespace="race", embedding=HashEmbeddings(dim=32))
    records = memory.records()
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) == shared + 2 * own == memory.count()
    assert {i for i in ids if i.startswith("shared-")} == {f"shared-{i}" for i in range(shared)}
    for tag in ("alpha", "beta"):
        assert sum(i.startswith(f"{tag}-") for i in ids) == own
    # the lexical index holds each record once, too
    for probe in ("s0x", f"s{shared - 1}x", "alpha7x", f"beta{own - 1}x"):
        hits = memory.search(probe, k=3, mode="lexical")
        assert len(hits) == 1 and probe in hits[0].text
