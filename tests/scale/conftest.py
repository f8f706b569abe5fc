"""Servers the scale-out tests start on 127.0.0.1 and stop by PID: PostgreSQL, LangGraph Server.

A missing optional package or system binary skips its tests locally and fails them under
`CI=true` (CI installs every extra and runs scripts/setup-system.sh).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(ok: bool, what: str) -> None:
    """Skip (locally) or fail (CI=true) when a prerequisite is missing."""
    if ok:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {what}")
    pytest.skip(what)


def need_module(name: str, extra: str) -> None:
    need(
        importlib.util.find_spec(name) is not None, f'`{name}` is not installed (pip install -e ".[{extra}]")'
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_until(check: object, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start; log tail:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port (scripts/pg.sh does the work)."""
    need_module("langgraph.checkpoint.postgres", "postgres")
    need(_pg_bin() is not None, "PostgreSQL is not installed (run scripts/setup-system.sh as root)")
    data = tmp_path_factory.mktemp("pg")
    port = free_port()
    script = REPO / "scripts" / "pg.sh"
    out = subprocess.run(
        ["bash", str(script), "start", str(data), str(port)], capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh start failed:\n{out.stdout}\n{out.stderr}")
    url = out.stdout.strip().splitlines()[-1]
    try:
        yield url
    finally:
        subprocess.run(["bash", str(script), "stop", str(data)], capture_output=True, timeout=60)


# -- LangGraph Server ------------------------------------------------------------------------


def _langgraph_cli() -> str | None:
    beside = Path(sys.executable).with_name("langgraph")
    return str(beside) if beside.exists() else shutil.which("langgraph")


@pytest.fixture
def langgraph_server(tmp_path: Path) -> Iterator[str]:
    """`langgraph dev` (in-memory runtime) in the repo root, on a free port; the demo model."""
    need_module("langgraph_api", "server")
    need_module("langgraph_sdk", "server")
    cli = _langgraph_cli()
    need(cli is not None, 'the `langgraph` CLI is not installed (pip install -e ".[server]")')
    port = free_port()
    log = tmp_path / "langgraph-dev.log"
    env = {
        **os.environ,
        "AGENTORCH_MODEL": "scripted",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(cli), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        import urllib.request

        def ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=2) as r:
                return r.status == 200

        wait_until(ready, proc, log, 90)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


# -- Chroma server ---------------------------------------------------------------------------
# (the memory layer's own server tests live in tests/memory: conformance over a `chroma run`
# server, and two writer processes losing nothing in test_durability.py)


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    """`chroma run` on a free loopback port, stopped by its PID."""
    beside = Path(sys.executable).with_name("chroma")
    cli = str(beside) if beside.exists() else shutil.which("chroma")
    need(cli is not None, "the `chroma` CLI is not installed")
    port = free_port()
    log = tmp_path / "chroma.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(cli), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path / "chroma")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        import chromadb

        wait_until(lambda: chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat(), proc, log, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
