"""A local stand-in for the LangSmith API: answers `GET /info`, accepts run uploads
(`POST /runs/multipart`, `/runs/batch`, `/runs`, `PATCH /runs/{id}`) and decodes the runs the
SDK sends, so tests can look at the trace tree offline."""

from __future__ import annotations

import gzip
import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


class LangSmithSink:
    """Collects runs by id, merging creates (`post`) and updates (`patch`)."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.paths: list[str] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                sink.paths.append("GET " + self.path)
                if self.path.startswith("/info"):
                    self._reply({"version": "0.0.0-test", "batch_ingest_config": {
                        "use_multipart_endpoint": True, "scale_up_qsize_trigger": 1000,
                        "scale_up_nthreads_limit": 1, "scale_down_nempty_trigger": 4,
                        "size_limit": 100, "size_limit_bytes": 20_971_520}})
                else:
                    self._reply({})

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                return _decompress(raw, self.headers.get("Content-Encoding", ""))

            def do_POST(self) -> None:  # noqa: N802
                sink.paths.append("POST " + self.path)
                body = self._body()
                if self.path.startswith("/runs/multipart"):
                    sink._multipart(self.headers.get("Content-Type", ""), body)
                elif self.path.startswith("/runs/batch"):
                    data = json.loads(body)
                    for run in data.get("post", []) + data.get("patch", []):
                        sink._merge(run)
                elif self.path.rstrip("/") == "/runs":
                    sink._merge(json.loads(body))
                self._reply({})

            def do_CONNECT(self) -> None:  # noqa: N802 - used as an HTTPS proxy: record, refuse
                sink.paths.append("CONNECT " + self.path)
                self.send_response(403)
                self.end_headers()

            def do_PATCH(self) -> None:  # noqa: N802
                sink.paths.append("PATCH " + self.path)
                run = json.loads(self._body())
                run.setdefault("id", self.path.rsplit("/", 1)[-1])
                sink._merge(run)
                self._reply({})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LangSmithSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

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
