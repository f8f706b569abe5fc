"""The CLI exports spans over real OTLP/HTTP to a receiver the test starts, beside LangSmith."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from agentorch import RunResult
from agentorch.cli import main
from tests.fake_langsmith import FakeLangSmith

README = Path(__file__).resolve().parents[2] / "README.md"


class OtlpReceiver:
    """`with OtlpReceiver() as rx:` an OTLP/HTTP trace and metrics endpoint on loopback at
    `rx.url`; the spans it received are in `rx.spans` (dicts: name, ids, parent, attributes,
    scope, resource), the metrics' data points in `rx.points` (dicts: name, unit, attributes,
    scope, value for sums, count and sum for histograms)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.points: list[dict[str, Any]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.paths.append(self.path)
                if self.path == "/v1/metrics":
                    metrics = ExportMetricsServiceRequest()
                    metrics.ParseFromString(body)
                    receiver.points.extend(_decode_metrics(metrics))
                    answer = ExportMetricsServiceResponse().SerializeToString()
                else:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    receiver.spans.extend(_decode(request))
                    answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _decode(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    out = []
    for rs in request.resource_spans:
        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    {
                        "name": s.name,
                        "trace": s.trace_id.hex(),
                        "id": s.span_id.hex(),
                        "parent": s.parent_span_id.hex() or None,
                        "start": s.start_time_unix_nano,
                        "end": s.end_time_unix_nano,
                        "attributes": {a.key: _value(a.value) for a in s.attributes},
                        "scope": ss.scope.name,
                        "resource": resource,
                    }
                )
    return out


def _decode_metrics(request: ExportMetricsServiceRequest) -> list[dict[str, Any]]:
    out = []
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                for p in getattr(m, kind).data_points:
                    point: dict[str, Any] = {
                        "name": m.name,
                        "unit": m.unit,
                        "scope": sm.scope.name,
                        "attributes": {a.key: _value(a.value) for a in p.attributes},
                    }
                    if kind == "histogram":
                        point.update(count=p.count, sum=p.sum)
                    else:
                        point["value"] = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                    out.append(point)
    return out


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "OTEL_")) and "PROXY" not in k.upper()
    }
    env.update(overrides)
    return env


@pytest.mark.slow
def test_the_cli_exports_a_run_over_otlp_http_and_to_langsmith_at_once(tmp_path: Path) -> None:
    record = tmp_path / "run.json"
    with OtlpReceiver() as otlp, FakeLangSmith() as langsmith:
        env = _env(
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
            OTEL_TRACES_EXPORTER="otlp,console",
            OTEL_SERVICE_NAME="agentorch-test",
            LANGSMITH_TRACING="true",
            LANGSMITH_API_KEY="test-key",
            LANGSMITH_ENDPOINT=langsmith.url,
        )
        command = ["demo", "--latency", "0", "--plain", "--thread-id", "t-cli", "--save", str(record)]
        out = subprocess.run(
            [sys.executable, "-m", "agentorch", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        runs = langsmith.runs
    result = RunResult.load(record)
    # the console exporter writes to stderr: stdout keeps the run's own output
    assert '"name": "invoke_workflow research"' in out.stderr
    assert "invoke_workflow" not in out.stdout and "final" in out.stdout
    assert set(otlp.paths) == {"/v1/traces", "/v1/metrics"}
    spans = [s for s in otlp.spans if s["scope"] == "agentorch"]
    assert {s["resource"]["service.name"] for s in spans} == {"agentorch-test"}
    (root,) = [s for s in spans if s["parent"] is None]
    assert root["name"] == "invoke_workflow research"
    assert root["attributes"]["agentorch.status"] == "completed"
    assert {s["trace"] for s in spans} == {root["trace"]}
    ids = {s["id"] for s in spans}
    assert all(s["parent"] in ids for s in spans if s is not root)
    for s in spans:
        assert s["attributes"]["agentorch.thread_id"] == "t-cli"
        assert s["attributes"]["agentorch.run_id"] == result.run_id
    by_id = {s["id"]: s for s in spans}
    for s in spans:  # a parent's time holds its children's (parallel researchers included)
        if s is not root:
            parent = by_id[s["parent"]]
            assert parent["start"] <= s["start"] <= s["end"] <= parent["end"], (parent["name"], s["name"])
    tools = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "execute_tool"]
    assert tools and {by_id[t["parent"]]["name"] for t in tools} == {"invoke_agent researcher"}
    calls = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert len(calls) == result.usage.total.calls
    assert sum(c["attributes"]["gen_ai.usage.input_tokens"] for c in calls) == result.usage.total.input_tokens
    assert {by_id[s["parent"]]["name"] for s in spans if s["name"].startswith("round ")} == {root["name"]}
    assert sorted(s["attributes"]["agentorch.round"] for s in spans if s["name"].startswith("round ")) == [
        1,
        2,
    ]
    # the metrics went with the spans, flushed at exit
    points = [p for p in otlp.points if p["scope"] == "agentorch"]
    total = result.usage.total
    for kind, tokens in (("input", total.input_tokens), ("output", total.output_tokens)):
        usage = [
            p
            for p in points
            if p["name"] == "gen_ai.client.token.usage" and p["attributes"]["gen_ai.token.type"] == kind
        ]
        assert {p["unit"] for p in usage} == {"{token}"}
        assert sum(p["count"] for p in usage) == total.calls and sum(p["sum"] for p in usage) == tokens
    (run,) = [p for p in points if p["name"] == "agentorch.runs"]
    assert run["value"] == 1 and run["attributes"] == {
        "gen_ai.workflow.name": "research",
        "agentorch.status": "completed",
    }
    finished = sum(p["count"] for p in points if p["name"] == "agentorch.subtask.duration")
    assert finished == len(result.history)
    tools = sum(p["value"] for p in points if p["name"] == "agentorch.tool.calls")
    assert tools == sum(len(a.tool_calls) for a in result.history) > 0
    # LangSmith got its trace as without OpenTelemetry: one root, the calls named by role
    assert [r["name"] for r in runs.values() if not r.get("parent_run_id")] == ["research"]
    names = {r["name"] for r in runs.values()}
    assert {"planner", "agent:researcher", "critic", "synthesizer", "search"} <= names


@pytest.mark.slow
def test_the_readme_example_traces_a_run_into_the_applications_provider() -> None:
    text = (README.parent / "docs" / "observability.md").read_text(encoding="utf-8")
    section = text.split("## OpenTelemetry", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    example += "print(result.usage.total.calls, sum(len(a.tool_calls) for a in result.history))\n"
    out = subprocess.run(
        [sys.executable, "-c", example], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    shown, counted = out.stdout.splitlines()
    calls, tools = counted.split()
    assert shown == f"{calls} model calls, {tools} tool calls" and int(tools) > 0


@pytest.mark.slow
def test_the_readme_metrics_example_counts_the_run() -> None:
    text = (README.parent / "docs" / "observability.md").read_text(encoding="utf-8")
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    out = subprocess.run(
        [sys.executable, "-c", example], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'completed': 1}"


def test_an_exporter_the_cli_cannot_honour_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    assert main(["demo", "--latency", "0", "--plain"]) == 2
    err = capsys.readouterr().err
    assert "OTEL_TRACES_EXPORTER='zipkin'" in err and "otlp, console, none" in err
