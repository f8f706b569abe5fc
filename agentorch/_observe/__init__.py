"""Observability: run metadata for LangSmith and its guard, OpenTelemetry spans (API only), and
the OpenTelemetry SDK set-up the CLI uses."""
