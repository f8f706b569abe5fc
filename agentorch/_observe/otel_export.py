"""The OpenTelemetry SDK for `agentorch` CLI commands, set up from the standard `OTEL_*`
environment variables: traces and metrics. The library itself only uses the API (`otel`,
`metrics`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from agentorch._errors import ConfigError

try:
    from opentelemetry import metrics, trace
except ImportError:  # the `otel` extra is not installed
    trace = metrics = None  # type: ignore[assignment]

log = logging.getLogger("agentorch")

__all__ = ["install_sdk_from_env"]

_EXPORTERS = ("otlp", "console", "none")


def install_sdk_from_env() -> list[Any]:
    """Install the OpenTelemetry SDK for traces and for metrics when the standard environment
    variables ask for an exporter, for the `agentorch` CLI; the providers installed (call their
    `shutdown()` at exit to flush).

    Asks for one: `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` (`otlp`, `console`, `none`,
    comma-separated) or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, or the signal's own
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`). `OTEL_SDK_DISABLED=true` or a
    provider already installed (`opentelemetry-instrument`) leaves everything as it is. The SDK
    and exporters read the other standard variables themselves (headers, timeout,
    `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, sampling, batching, the metric export
    interval). A variable agentorch cannot honour raises `ConfigError` saying what to change.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    wanted = {signal: _exporter_names(signal) for signal in ("traces", "metrics")}
    if not any(wanted.values()):
        return []
    if trace is None:
        raise ConfigError(
            "OTEL_* variables ask for telemetry export, but OpenTelemetry is not installed: "
            'pip install "agentorch[otel]".'
        )
    try:
        from opentelemetry.sdk.resources import Resource
    except ImportError:
        raise ConfigError(
            'OTEL_* variables ask for telemetry export: pip install "agentorch[otel]" '
            "(the OpenTelemetry SDK and OTLP exporter)."
        ) from None
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "agentorch"}))
    installed = []
    # a provider installed already (e.g. by opentelemetry-instrument) is kept
    if wanted["traces"] and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        installed.append(_tracer_provider(wanted["traces"], resource))
    if wanted["metrics"] and type(metrics.get_meter_provider()).__module__.startswith(
        "opentelemetry.metrics"
    ):
        installed.append(_meter_provider(wanted["metrics"], resource))
    return installed


def _exporter_names(signal: str) -> list[str]:
    """The exporters `OTEL_{SIGNAL}_EXPORTER` (or an OTLP endpoint) asks for, "none" left out."""
    var = f"OTEL_{signal.upper()}_EXPORTER"
    names = [n.strip().lower() for n in os.environ.get(var, "").split(",") if n.strip()]
    endpoint = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not names and endpoint:
        names = ["otlp"]
    unknown = [n for n in names if n not in _EXPORTERS]
    if unknown:
        raise ConfigError(
            f"{var}={os.environ[var]!r}: agentorch knows {', '.join(_EXPORTERS)}, not {', '.join(unknown)}."
        )
    return [n for n in names if n != "none"]


def _tracer_provider(names: list[str], resource: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=resource)
    for name in names:
        # stdout carries the run's own output (--json): the console exporter writes to stderr
        exporter = _otlp_exporter("traces") if name == "otlp" else ConsoleSpanExporter(out=sys.stderr)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("OpenTelemetry: exporting spans with %s", ", ".join(names))
    return provider


def _meter_provider(names: list[str], resource: Any) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    readers = [
        PeriodicExportingMetricReader(
            _otlp_exporter("metrics") if name == "otlp" else ConsoleMetricExporter(out=sys.stderr)
        )
        for name in names
    ]
    provider = MeterProvider(resource=resource, metric_readers=readers)
    metrics.set_meter_provider(provider)
    log.info("OpenTelemetry: exporting metrics with %s", ", ".join(names))
    return provider


def _otlp_exporter(signal: str) -> Any:
    protocol = (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    try:
        if protocol == "http/protobuf":
            if signal == "traces":
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                return OTLPSpanExporter()
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            return OTLPMetricExporter()
        if protocol == "grpc":
            if signal == "traces":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                    OTLPSpanExporter as GrpcSpanExporter,
                )

                return GrpcSpanExporter()
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            return GrpcMetricExporter()
    except ImportError as e:
        raise ConfigError(
            f"The OTLP exporter for protocol {protocol!r} is not installed ({e.name}): "
            'pip install "agentorch[otel]" for http/protobuf, or '
            "opentelemetry-exporter-otlp-proto-grpc for grpc."
        ) from None
    raise ConfigError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: use http/protobuf or grpc."
    )
