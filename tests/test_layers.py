"""The layers of the package (CONTRIBUTING, "Layout") hold: the engine imports neither rendering
nor the CLI, observability imports neither, and `import agentorch` needs no presentation package
and no optional extra."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import agentorch

PACKAGE = Path(agentorch.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def _offenders(sub: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _modules(sub):
        bad = sorted(m for m in _imports(path) if m.startswith(forbidden))
        if bad:
            found[str(path.relative_to(PACKAGE))] = bad
    return found


PRESENTATION = ("agentorch._render", "agentorch.cli", "rich")


@pytest.mark.parametrize("layer", ["_engine", "_observe"])
def test_the_engine_and_observability_import_neither_rendering_nor_the_cli(layer: str) -> None:
    assert _modules(layer), f"no modules found under agentorch/{layer}"
    assert _offenders(layer, PRESENTATION) == {}


@pytest.mark.parametrize("layer", ["_engine", "_observe"])
def test_nothing_below_the_facade_imports_team(layer: str) -> None:
    # the engine reads a team's frozen settings (`Team.settings()`), never the `Team`
    assert _offenders(layer, ("agentorch._team",)) == {}


def test_only_rendering_and_the_cli_import_rich() -> None:
    users = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(m == "rich" or m.startswith("rich.") for m in _imports(p))
    }
    assert users, "rich is used by the terminal views"
    assert all(u.startswith(("_render", "cli")) for u in users), users


# packages agentorch must not need at import time: presentation and every optional extra
_BLOCKED = (
    "rich",
    "mcp",
    "langchain_mcp_adapters",
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "a2a",
    "ag_ui",
    "starlette",
    "sse_starlette",
    "uvicorn",
)

_CHILD = f"""
import importlib.abc, sys
BLOCKED = {_BLOCKED!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
            raise ImportError(f"blocked by the layer test: {{name}}")
        return None
sys.meta_path.insert(0, Block())
import agentorch
from agentorch import Team, Agent, tool
from agentorch.llms import ScriptedChatModel
team = Team(agents=[Agent(name="w", role="Writes")], llm=ScriptedChatModel({{
    "planner": [{{"subtasks": [{{"id": "a", "description": "write", "agent": "w"}}]}}],
    "w": ["text"], "critic": [{{"decision": "accept"}}], "synthesizer": ["answer"]}}))
print(team.run("goal").answer)
print(sorted(m for m in sys.modules if m.startswith(("agentorch._render", "agentorch.cli"))))
"""


def test_a_team_runs_without_rich_and_without_any_optional_extra() -> None:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["answer", "[]"]
