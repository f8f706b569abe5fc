"""The MCP page (docs/mcp.md) runs as written: its server file, then its team on that server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


@pytest.mark.slow
def test_the_readme_mcp_example_runs_a_team_on_the_example_server(tmp_path, monkeypatch, capfd) -> None:
    section = PAGE.read_text(encoding="utf-8")
    server, example = re.findall(r"```python\n(.*?)```", section, re.S)
    (tmp_path / "facts_server.py").write_text(server, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README-mcp", "exec"), {})
    assert capfd.readouterr().out.splitlines() == [
        "interrupted delete_note",
        "density [('lookup', 'Lithium-metal anodes reach 400-500 Wh/kg.', '')]",
        "tidy [('delete_note', 'deleted note q2', 'alice')]",
    ]
