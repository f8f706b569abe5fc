"""The "Seeing the team work" page's example (docs/observability.md) runs after the README's
quick start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_seeing_the_team_work_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = (README.parent / "docs" / "observability.md").read_text(encoding="utf-8")
    quick_start = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(quick_start + example, "README-seeing", "exec"), {})
    assert (tmp_path / "run.json").is_file()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count('class="node"') == 2 and "cost:" in page
    cost, planner_tokens = capsys.readouterr().out.splitlines()[-1].split()
    assert float(cost) > 0 and int(planner_tokens) > 0
