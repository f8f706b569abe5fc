"""Protocol servers (A2A, AG-UI) on 127.0.0.1, in a thread of the test process with uvicorn."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.scale.conftest import free_port, need_module


@pytest.fixture(autouse=True)
def _servers_installed() -> None:
    need_module("uvicorn", "a2a")


@contextmanager
def serving(make_app: Callable[[str], Any]) -> Iterator[str]:
    """Serve the ASGI app `make_app(base_url)` on a free loopback port while the block runs;
    the base URL."""
    import uvicorn

    port = free_port()
    app = make_app(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    else:
        raise RuntimeError("the test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
