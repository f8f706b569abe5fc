"""Two worker processes share one team memory through a Chroma server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = str(Path(__file__).with_name("_chroma_worker.py"))


def _run(url: str, namespace: str, goal: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, WORKER, url, namespace, goal], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_recalls_what_the_first_remembered(chroma_url: str) -> None:
    first = _run(chroma_url, "shared", "Brief on solid-state batteries for investors")
    assert first["status"] == "completed"
    assert "What the team remembers" not in first["planner_input"]  # nothing stored yet

    second = _run(chroma_url, "shared", "Update the solid-state battery brief")
    assert second["status"] == "completed"
    recalled = second["planner_input"].split("What the team remembers:", 1)
    assert len(recalled) == 2, second["planner_input"][:500]
    assert "dendrites" in recalled[1].lower() or "400-500 wh/kg" in recalled[1].lower()

    other = _run(chroma_url, "elsewhere", "Update the solid-state battery brief")
    assert "What the team remembers" not in other["planner_input"]  # namespaces stay apart
