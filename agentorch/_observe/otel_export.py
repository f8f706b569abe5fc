"""The OpenTelemetry SDK for `agentorch` CLI commands, set up from the standard `OTEL_*`
environment variables. The library itself only uses the API (`_otel`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from agentorch._errors import ConfigError

try:
    from opentelemetry import trace
except ImportError:  # the `otel` extra is not installed
    trace = None  # type: ignore[assignment]

log = logging.getLogger("agentorch")

__all__ = ["install_sdk_from_env"]

_EXPORTERS = ("otlp", "console", "none")


def install_sdk_from_env() -> Any:
    """Install the OpenTelemetry SDK when the standard environment variables ask for an
    exporter, for the `agentorch` CLI; the installed `TracerProvider` (call its `shutdown()` at
    exit to flush) or None.

    Asks for one: `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`, comma-separated) or an
    OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    `OTEL_SDK_DISABLED=true` or a tracer provider already installed (`opentelemetry-instrument`)
    leaves everything as it is. The SDK and exporters read the other standard variables
    themselves (headers, timeout, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, sampling,
    batching). A variable agentorch cannot honour raises `ConfigError` saying what to change.
    """
    env = os.environ
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not names and endpoint:
        names = ["otlp"]
    if not names or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    unknown = [n for n in names if n not in _EXPORTERS]
    if unknown:
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER={env['OTEL_TRACES_EXPORTER']!r}: agentorch knows "
            f"{', '.join(_EXPORTERS)}, not {', '.join(unknown)}."
        )
    names = [n for n in names if n != "none"]
    if not names:
        return None
    if trace is None:
        raise ConfigError(
            "OTEL_* variables ask for trace export, but OpenTelemetry is not installed: "
            'pip install "agentorch[otel]".'
        )
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None  # installed already (e.g. by opentelemetry-instrument): keep it
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        raise ConfigError(
            'OTEL_* variables ask for trace export: pip install "agentorch[otel]" '
            "(the OpenTelemetry SDK and OTLP exporter)."
        ) from None
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "agentorch"}))
    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        elif name == "console":
            # stdout carries the run's own output (--json): spans go to stderr
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    trace.set_tracer_provider(provider)
    log.info("OpenTelemetry: exporting spans with %s", ", ".join(names))
    return provider


def _otlp_exporter() -> Any:
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    try:
        if protocol == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter()
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )

            return GrpcExporter()
    except ImportError as e:
        raise ConfigError(
            f"The OTLP exporter for protocol {protocol!r} is not installed ({e.name}): "
            'pip install "agentorch[otel]" for http/protobuf, or '
            "opentelemetry-exporter-otlp-proto-grpc for grpc."
        ) from None
    raise ConfigError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use http/protobuf or grpc."
    )
