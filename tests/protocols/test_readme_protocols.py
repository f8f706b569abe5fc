"""The A2A page's example (docs/protocols.md) runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:  # the page that holds the section once in the README
    return (README.parent / "docs" / "protocols.md").read_text(encoding="utf-8")


def test_the_a2a_example_runs_a_task_to_completion(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("a2a", reason='`a2a-sdk` is not installed (pip install -e ".[a2a]")')
    (example,) = re.findall(r"```python\n(.*?)```", _section("A2A, AG-UI and the live view"), re.S)
    exec(compile(example, "README-a2a", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["TASK_STATE_COMPLETED"]


def test_the_screenshot_of_the_live_view_is_in_the_docs() -> None:
    (image,) = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", _section("A2A, AG-UI and the live view"))
    assert (README.parent / "docs" / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
