"""Test helpers for agentorch users: no accidental network, local servers, pytest fixtures.

- `block_model_requests()`: a context manager that makes real model clients raise.
- `OpenAIServer`: a local OpenAI-compatible HTTP server answering from a script.
- The pytest plugin (`agentorch.testing.pytest_plugin`, loaded automatically) provides the
  `scripted_model`, `openai_server` and `run_eval_suite` fixtures and collects eval suites.
"""

from agentorch.testing._block import block_model_requests, install_openai_guard
from agentorch.testing._openai_server import Fault, OpenAIServer, ToolCall, ToolCalls

__all__ = [
    "Fault",
    "OpenAIServer",
    "ToolCall",
    "ToolCalls",
    "block_model_requests",
    "install_openai_guard",
]
