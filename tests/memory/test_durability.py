"""Records survive a restart; two processes writing one store lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentorch.memory import ChromaMemory, HashEmbeddings

WRITER = str(Path(__file__).with_name("_writer.py"))


def _write_concurrently(target: str, namespace: str, count: int, batch: int) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, WRITER, target, namespace, tag, str(count), str(batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("alpha", "beta")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        assert int(out.strip().splitlines()[-1]) == count


def _check_all_present(memory: ChromaMemory, count: int) -> None:
    assert memory.count() == 2 * count
    assert memory.count({"writer": "alpha"}) == count
    for tag, i in (("alpha", 0), ("beta", count - 1), ("beta", count // 2)):
        hits = memory.search(f"{tag}x{i}", k=1, mode="lexical")
        assert [h.text for h in hits] == [f"{tag} record {i} holds token {tag}x{i}."]
        vector = memory.search(f"{tag} record {i} holds token {tag}x{i}.", k=1, mode="vector")
        assert vector[0].text == hits[0].text


def test_records_survive_a_process_restart(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    code = (
        "from agentorch.memory import ChromaMemory, HashEmbeddings\n"
        f"m = ChromaMemory({str(path)!r}, namespace='keep', embedding=HashEmbeddings(dim=64))\n"
        "m.add('The vault code is 7712.', kind='note', thread_id='t1')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    memory = ChromaMemory(path, namespace="keep", embedding=HashEmbeddings(dim=64))
    hits = memory.search("vault code", k=1)
    assert [h.text for h in hits] == ["The vault code is 7712."]
    assert hits[0].metadata["thread_id"] == "t1"


def test_two_processes_writing_one_path_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    reader = ChromaMemory(path, namespace="shared", embedding=HashEmbeddings(dim=64))
    assert reader.count() == 0  # opened before the writers: must still see their records
    _write_concurrently(str(path), "shared", count=400, batch=20)
    _check_all_present(reader, 400)


@pytest.mark.slow
def test_two_processes_writing_one_path_lose_nothing_at_scale(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    _write_concurrently(str(path), "shared", count=3000, batch=50)
    _check_all_present(ChromaMemory(path, namespace="shared", embedding=HashEmbeddings(dim=64)), 3000)


@pytest.mark.slow
def test_two_processes_writing_one_server_lose_nothing(chroma_server: str) -> None:
    reader = ChromaMemory.from_url(chroma_server, namespace="dur-shared", embedding=HashEmbeddings(dim=64))
    _write_concurrently(chroma_server, "dur-shared", count=1000, batch=50)
    _check_all_present(reader, 1000)
