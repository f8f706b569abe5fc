"""Shared test setup: no real model requests, ever."""

import os

os.environ.setdefault("AGENTORCH_BLOCK_MODEL_REQUESTS", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")
