"""The Evals page (docs/evals.md) runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from agentorch.evals import run_suite
from agentorch.llms import ScriptedChatModel

PAGE = Path(__file__).resolve().parents[2] / "docs" / "evals.md"


def _section() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_the_yaml_example_is_a_passing_suite(tmp_path: Path) -> None:
    yaml_text = re.search(r"```yaml\n(.*?)```", _section(), re.S).group(1)
    path = tmp_path / "readme.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    result = run_suite(path)
    assert result.passed, [(s.name, s.detail) for c in result.cases for s in c.scores if not s.passed]
    assert {s.name for s in result.cases[0].scores} >= {"judge", "max_parallel", "dependents_wait"}


def _python_block(containing: str) -> str:
    return next(b for b in re.findall(r"```python\n(.*?)```", _section(), re.S) if containing in b)


def test_the_python_suite_example_runs() -> None:
    exec(compile(_python_block("Suite(**yaml.safe_load"), "README-evals-python", "exec"), {})


def test_the_pytest_example_runs() -> None:
    code = _python_block("def test_my_team")
    scope: dict[str, object] = {}
    exec(compile(code, "README-evals", "exec"), scope)
    scope["test_my_team"](lambda script, **kw: ScriptedChatModel(script, **kw))  # type: ignore[operator]
