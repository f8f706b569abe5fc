"""A real MCP server (tests/mcp/_server.py) over stdio and over streamable HTTP on 127.0.0.1.

The HTTP server is a process of its own on a free port, stopped by PID at teardown; the stdio
server is started by the MCP client for each call. A missing `mcp` extra skips these tests
locally and fails them under `CI=true`."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scale.conftest import free_port, need_module, stop, wait_until

SERVER = Path(__file__).with_name("_server.py")


@pytest.fixture(autouse=True)
def _mcp_installed() -> None:
    need_module("mcp", "mcp")
    need_module("langchain_mcp_adapters", "mcp")


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """The server's notes folder, holding one note: q3.txt."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "q3.txt").write_text("Q3 report due 14 March.")
    return folder


def serve_http(args: list[str], log: Path, port: int, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `python ARGS` and wait until it listens on 127.0.0.1:`port`."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, **kwargs)

    def listening() -> bool:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True

    try:
        wait_until(listening, proc, log, 60)
    except BaseException:
        stop(proc)
        raise
    return proc


class Facts:
    """The running facts server: its connection for `mcp_tools`, and its process (HTTP)."""

    def __init__(self, connection: dict[str, Any], proc: subprocess.Popen[bytes] | None) -> None:
        self.connection = connection
        self.proc = proc


@pytest.fixture(params=["stdio", "http"])
def facts(request: pytest.FixtureRequest, notes: Path, tmp_path: Path) -> Iterator[Facts]:
    if request.param == "stdio":
        yield Facts(
            {
                "transport": "stdio",
                "command": sys.executable,
                "args": [str(SERVER), "stdio"],
                "env": {"NOTES_DIR": str(notes)},
            },
            None,
        )
        return
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "NOTES_DIR": str(notes)}
    proc = serve_http([str(SERVER), "http", str(port)], tmp_path / "server.log", port, env=env)
    try:
        yield Facts({"transport": "streamable_http", "url": f"http://127.0.0.1:{port}/mcp"}, proc)
    finally:
        stop(proc)
