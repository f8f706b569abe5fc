"""A local fake of the LangSmith API: enough for dataset, example, experiment, run and
feedback uploads. Records every request."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NOW = "2026-01-01T00:00:00+00:00"


class FakeLangSmith:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.datasets: dict[str, dict[str, Any]] = {}
        self.examples: list[dict[str, Any]] = []
        handler = _handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeLangSmith:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self, method: str) -> list[str]:
        return [p for m, p, _ in self.requests if m == method]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        route = path.split("?")[0]
        if route.endswith("/info"):
            return 200, {"version": "0.10.0", "batch_ingest_config": {"use_multipart_endpoint": True, "size_limit": 100, "size_limit_bytes": 20971520, "scale_up_nthreads_limit": 1, "scale_up_qsize_trigger": 1000, "scale_down_nempty_trigger": 4}}
        if method == "GET" and route.endswith("/datasets"):
            name = path.split("name=")[-1].split("&")[0] if "name=" in path else None
            return 200, [d for d in self.datasets.values() if name is None or d["name"] == name]
        if method == "POST" and route.endswith("/datasets"):
            d = {"id": str(uuid.uuid4()), "name": body["name"], "description": body.get("description"),
                 "created_at": NOW, "modified_at": NOW, "data_type": "kv", "tenant_id": str(uuid.uuid4())}
            self.datasets[d["id"]] = d
            return 200, d
        if method == "POST" and route.endswith("/examples/bulk"):
            self.examples.extend(body)
            return 200, [{"id": str(uuid.uuid4()), **e} for e in body]
        if method == "GET" and "examples" in route:
            return 200, []
        if method == "POST" and route.endswith("/sessions"):
            return 200, {"id": str(uuid.uuid4()), "name": body.get("name"), "start_time": NOW,
                         "tenant_id": str(uuid.uuid4()), "reference_dataset_id": body.get("reference_dataset_id")}
        if method == "POST" and route.endswith("/feedback"):
            return 200, {"id": body.get("id") or str(uuid.uuid4()), "run_id": body.get("run_id"),
                         "key": body.get("key"), "score": body.get("score"), "created_at": NOW, "modified_at": NOW}
        return 202, {}


def _handler(fake: FakeLangSmith) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = raw
            fake.requests.append((method, self.path, body))
            status, data = fake.answer(method, self.path, body if isinstance(body, (dict, list)) else {})
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._handle("PATCH")

    return Handler

