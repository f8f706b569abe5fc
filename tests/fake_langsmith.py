"""A local stand-in for the LangSmith API, shared by every test that talks to LangSmith.

It answers `GET /info`; creates datasets, examples, experiments (sessions) and feedback as the
SDK's evaluation upload expects; accepts run uploads (`POST /runs/multipart`, `/runs/batch`,
`/runs`, `PATCH /runs/{id}`) and decodes them into `runs`, so tests can look at the trace tree
offline. Every request is recorded; as an HTTPS proxy (`CONNECT`) it records and refuses.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NOW = "2026-01-01T00:00:00+00:00"
INFO = {
    "version": "0.10.0",
    "batch_ingest_config": {
        "use_multipart_endpoint": True,
        "size_limit": 100,
        "size_limit_bytes": 20_971_520,
        "scale_up_nthreads_limit": 1,
        "scale_up_qsize_trigger": 1000,
        "scale_down_nempty_trigger": 4,
    },
}


class FakeLangSmith:
    """`with FakeLangSmith() as fake:` point `LANGSMITH_ENDPOINT` (or a proxy) at `fake.url`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        """(method, path, JSON body or raw bytes), in arrival order."""
        self.runs: dict[str, dict[str, Any]] = {}
        """Uploaded runs by id, creates and updates merged."""
        self.datasets: dict[str, dict[str, Any]] = {}
        self.examples: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLangSmith:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self, method: str | None = None) -> list[str]:
        """Paths requested (with `method` only, if given)."""
        return [p for m, p, _ in self.requests if method is None or m == method]

    def answer(self, method: str, path: str, body: Any, content_type: str) -> tuple[int, Any]:
        route = path.split("?")[0].rstrip("/")
        if route.endswith("/info"):
            return 200, INFO
        if route.endswith("/runs/multipart"):
            self._multipart(content_type, body)
        elif route.endswith("/runs/batch"):
            for run in body.get("post", []) + body.get("patch", []):
                self._merge(run)
        elif method == "POST" and route.endswith("/runs"):
            self._merge(body)
        elif method == "PATCH" and "/runs/" in route:
            self._merge({"id": route.rsplit("/", 1)[-1], **body})
        elif method == "GET" and route.endswith("/datasets"):
            name = path.split("name=")[-1].split("&")[0] if "name=" in path else None
            return 200, [d for d in self.datasets.values() if name is None or d["name"] == name]
        elif method == "POST" and route.endswith("/datasets"):
            d = {
                "id": str(uuid.uuid4()),
                "name": body["name"],
                "description": body.get("description"),
                "created_at": NOW,
                "modified_at": NOW,
                "data_type": "kv",
                "tenant_id": str(uuid.uuid4()),
            }
            self.datasets[d["id"]] = d
            return 200, d
        elif method == "POST" and route.endswith("/examples/bulk"):
            self.examples.extend(body)
            return 200, [{"id": str(uuid.uuid4()), **e} for e in body]
        elif method == "GET" and "examples" in route:
            return 200, []
        elif method == "POST" and route.endswith("/sessions"):
            return 200, {
                "id": str(uuid.uuid4()),
                "name": body.get("name"),
                "start_time": NOW,
                "tenant_id": str(uuid.uuid4()),
                "reference_dataset_id": body.get("reference_dataset_id"),
            }
        elif method == "POST" and route.endswith("/feedback"):
            return 200, {
                "id": body.get("id") or str(uuid.uuid4()),
                "run_id": body.get("run_id"),
                "key": body.get("key"),
                "score": body.get("score"),
                "created_at": NOW,
                "modified_at": NOW,
            }
        else:
            return 202, {}
        return 200, {}

    def _merge(self, run: dict[str, Any]) -> None:
        with self._lock:
            self.runs.setdefault(str(run["id"]), {}).update(run)

    def _multipart(self, content_type: str, body: bytes) -> None:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            kind, _, rest = name.partition(".")  # post.<id>, patch.<id>, post.<id>.inputs, ...
            run_id, _, field = rest.partition(".")
            if kind not in ("post", "patch") or not run_id:
                continue
            payload = part.get_payload(decode=True) or b""
            try:
                value = json.loads(payload)
            except ValueError:
                continue
            self._merge({"id": run_id, **({field: value} if field else value)})


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


def _handler(fake: FakeLangSmith) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Quiet: tests read `fake.requests`."""

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = _decompress(
                self.rfile.read(length) if length else b"", self.headers.get("content-encoding", "")
            )
            content_type = self.headers.get("content-type", "")
            body: Any = raw
            if "json" in content_type or not content_type.startswith("multipart"):
                try:
                    body = json.loads(raw) if raw else {}
                except (json.JSONDecodeError, UnicodeDecodeError):
                    body = raw
            fake.requests.append((method, self.path, body))
            status, data = fake.answer(method, self.path, body, content_type)
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_CONNECT(self) -> None:
            fake.requests.append(("CONNECT", self.path, None))
            self.send_response(403)
            self.end_headers()

    return Handler
