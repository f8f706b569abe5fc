"""Fixtures: one memory factory per backend (ephemeral, persistent, Chroma server)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentorch.memory import ChromaMemory, HashEmbeddings

MemoryFactory = Callable[..., ChromaMemory]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chroma_cli() -> str:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `chroma run` server on a free loopback port; stopped by its PID afterwards."""
    import chromadb

    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(
        [_chroma_cli(), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((data / "server.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(params=["ephemeral", "persistent", pytest.param("server", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_memory(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> MemoryFactory:
    """Build memories that share storage (same path / server / ephemeral store) per test."""
    unique = f"t{os.getpid()}-{abs(hash(request.node.nodeid)) % 10**8}"
    shared: dict[str, Any] = {}

    def make(namespace: str = "default", *, embedding: Any = None, **options: Any) -> ChromaMemory:
        embedding = embedding if embedding is not None else HashEmbeddings(dim=256)
        if backend == "ephemeral":
            if "backend" not in shared:
                first = ChromaMemory.ephemeral(embedding=embedding, namespace=namespace, **options)
                shared["backend"] = first._backend
                return first
            return ChromaMemory(
                namespace=namespace, embedding=embedding, _backend=shared["backend"], **options
            )
        if backend == "persistent":
            return ChromaMemory(tmp_path / "mem", namespace=namespace, embedding=embedding, **options)
        url = request.getfixturevalue("chroma_server")
        return ChromaMemory.from_url(url, namespace=f"{unique}-{namespace}", embedding=embedding, **options)

    return make


@pytest.fixture
def memory(make_memory: MemoryFactory) -> ChromaMemory:
    return make_memory()
