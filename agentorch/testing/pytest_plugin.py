"""The agentorch pytest plugin (registered through the `pytest11` entry point).

- Opt-in (`--agentorch-block-requests`, or the ini option `agentorch_block_requests = true`):
  sets `AGENTORCH_BLOCK_MODEL_REQUESTS=1` (unless already set) and guards the openai client, so
  no test reaches a real model by accident. Installing agentorch changes nothing in other
  projects' test runs unless they ask for it.
- Fixtures: `scripted_model` (build `ScriptedChatModel`s), `openai_server` (a local
  OpenAI-compatible server, stopped after the test), `run_eval_suite` (run a suite, get a
  `SuiteResult`).
- With `--agentorch-suites DIR` (or the ini option `agentorch_suites`), every YAML suite under
  DIR is collected: one test item per case.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentorch.testing._block import BLOCK_ENV, install_openai_guard

_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agentorch")
    group.addoption(
        "--agentorch-suites",
        action="append",
        default=[],
        metavar="PATH",
        help="collect agentorch eval suites (YAML) under PATH, one test per case",
    )
    group.addoption(
        "--agentorch-block-requests",
        action="store_true",
        default=False,
        help="block real model requests (openai clients may reach loopback hosts only)",
    )
    parser.addini(
        "agentorch_block_requests",
        type="bool",
        default=False,
        help="block real model requests, as --agentorch-block-requests",
    )
    parser.addini(
        "agentorch_suites",
        type="paths",
        default=[],
        help="directories or files of agentorch eval suites to collect",
    )


_SUITE_ROOTS = pytest.StashKey[list[Path]]()
"""The suite folders and files to collect (from `--agentorch-suites` and the ini option)."""


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("agentorch_block_requests") or config.getini("agentorch_block_requests"):
        os.environ.setdefault(BLOCK_ENV, "1")
        install_openai_guard()
    roots = [Path(p).resolve() for p in config.getoption("agentorch_suites")]
    roots += [Path(p).resolve() for p in config.getini("agentorch_suites")]
    config.stash[_SUITE_ROOTS] = roots
    for root in config.getoption("agentorch_suites"):
        if root not in config.args:  # make sure pytest walks the suite folder
            config.args.append(root)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    roots: list[Path] = parent.config.stash.get(_SUITE_ROOTS, [])
    if file_path.suffix not in _SUFFIXES or not roots:
        return None
    resolved = file_path.resolve()
    if any(resolved == r or r in resolved.parents for r in roots):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    """A YAML suite file: one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        from agentorch.evals import load_suite

        suite = load_suite(self.path)
        for case in suite.cases:
            yield CaseItem.from_parent(self, name=case.id, suite=suite, case=case)


class CaseFailed(Exception):
    """A case's scorers did not all pass."""


class CaseItem(pytest.Item):
    """One eval case run as a test."""

    def __init__(self, *, suite: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.case = case
        for tag in case.tags:
            self.add_marker(tag)

    def runtest(self) -> None:
        from agentorch.evals._runner import arun_case, run_blocking

        result = run_blocking(arun_case(self.suite, self.case))
        if not result.passed:
            lines = [f"{s.name}: {s.detail}" for s in result.scores if not s.passed]
            if result.error:
                lines.append(f"error: {result.error}")
            raise CaseFailed(
                f"case {result.key} {result.outcome} (status {result.status})\n  " + "\n  ".join(lines)
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"agentorch eval case {self.suite.name}::{self.case.id}"


@pytest.fixture
def scripted_model() -> Callable[..., Any]:
    """Build a `ScriptedChatModel`: `scripted_model({"planner": [plan], ...}, latency=0)`."""
    from agentorch.llms import ScriptedChatModel

    def make(script: Any, **options: Any) -> ScriptedChatModel:
        return ScriptedChatModel(script, **options)

    return make


@pytest.fixture
def openai_server() -> Iterator[Callable[..., Any]]:
    """Start a local OpenAI-compatible server: `server = openai_server(["Hello!"])`;
    `server.base_url` for the model (in async tests, a `from_env` model: see `OpenAIServer`).
    Stopped after the test."""
    from agentorch.testing._openai_server import OpenAIServer

    started: list[OpenAIServer] = []

    def start(script: Any, **options: Any) -> OpenAIServer:
        server = OpenAIServer(script, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def run_eval_suite() -> Callable[..., Any]:
    """Run an eval suite (a `Suite` or a YAML path): `run_eval_suite("evals/x.yaml").passed`."""
    from agentorch.evals import run_suite

    return run_suite
