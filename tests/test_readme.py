"""The README's quick start runs as written, and its two set-up lines are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_quick_start_runs_and_prints_the_answer(capsys) -> None:
    quick_start = _python_blocks()[0]
    assert len(quick_start.strip().splitlines()) <= 32
    exec(compile(quick_start, "README-quick-start", "exec"), {})
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("completed 1 ")
    assert "Brief: solid-state batteries are safer" in out


def test_ci_runs_the_readme_test_command() -> None:
    setup = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    lines = [line for line in setup.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].endswith("agentorch demo")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci


def test_the_cascades_example_runs_and_escalates_what_the_critic_sent_back(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Cascades and costs") : text.index("## Scaling out")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    exec(compile(example, "README-cascades", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["risks 1 gpt-4o", "summary 1 gpt-4o-mini (sent back)", "summary 2 gpt-4o"]
    status, cost, *_ = lines[3].split()
    assert status == "completed" and float(cost.lstrip("$")) > 0
    assert "['gpt-4o', 'gpt-4o-mini']" in lines[3] and "'lawyer'" in lines[3]


def test_the_typed_outputs_example_runs_and_repairs_the_answer(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Typed agent outputs") : text.index("### How a run flows")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    scope: dict[str, object] = {}
    exec(compile(example, "README-typed-outputs", "exec"), scope)
    assert capsys.readouterr().out.strip() == "{'supplier': 'Acme', 'price': 3.5}"
    result = scope["result"]
    assert result.status == "completed"  # type: ignore[attr-defined]
    assert len(scope["llm"].calls_for("pricer")) == 2  # type: ignore[attr-defined]  # one repair
    assert '"price": 3.5' in scope["llm"].calls_for("writer")[0].messages[-1].content  # type: ignore[attr-defined]


def test_the_token_streaming_example_prints_the_text_as_it_is_written(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Streaming events") : text.index("### Checkpoints, failures and resume")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[1]
    exec(compile(example, "README-tokens", "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "Solid-state cells are safer; first cars in 2027.  <- brief done",
        "Brief: safer cells, first cars in 2027.",
        "[completed]",
    ]
