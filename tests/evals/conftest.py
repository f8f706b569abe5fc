"""Shared helpers for the eval harness tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentorch.evals import Case, ModelSetup, Suite
from agentorch.graphs.research import demo_model

SUITES = Path(__file__).resolve().parents[2] / "evals" / "suites"


def demo_suite(*cases: Case, **options: Any) -> Suite:
    """A suite over the research team on its demo model."""
    options.setdefault("model", ModelSetup(factory=demo_model))
    return Suite(name=options.pop("name", "t"), team="research", cases=list(cases), **options)


@pytest.fixture
def write(tmp_path: Path):
    """Write a file under tmp_path and return its path."""

    def make(name: str, text: str | bytes) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    return make
