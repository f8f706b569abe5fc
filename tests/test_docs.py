"""Every code example on every page of the documentation site (docs/) runs.

A page's ```python blocks run in order, in one namespace per page, in a fresh folder; a block
whose first line is `# name.py` is a file the page asks you to save, and is written there
instead. A block preceded by `<!-- example: run by tests/PATH -->` is run by that test (it needs
a server, a subprocess or checks of its own), which must read this page; one preceded by
`<!-- example: not run: REASON -->` is a fragment or needs what the tests do not start (each is
listed by `test_examples_not_run_are_few_and_say_why`). The getting-started
page is followed as a newcomer would: its commands run as written, the `resume` line is pasted
from what the command printed, and the report is opened.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
_BLOCK = re.compile(r"(<!-- example: (run by \S+|not run: [^>]+) -->\n)?```(\w*)\n(.*?)```", re.S)


def blocks(page: Path, language: str = "python") -> list[tuple[str | None, str]]:
    """(the test that runs it, or None; the code) of each `language` block of `page`."""
    found = _BLOCK.findall(page.read_text(encoding="utf-8"))
    return [(by or None, code) for _, by, lang, code in found if lang == language]


def saved_as(code: str) -> str | None:
    """The file name a block is saved as (its first line is `# name.py`), or None."""
    first = code.splitlines()[0] if code.strip() else ""
    found = re.fullmatch(r"# ([\w./-]+\.py)(:.*)?", first.strip())
    return found.group(1) if found else None


def test_examples_not_run_are_few_and_say_why() -> None:
    not_run = [
        (page.name, by)
        for page in PAGES
        for by, _ in blocks(page)
        if by is not None and by.startswith("not run")
    ]
    assert len(not_run) <= 6, not_run  # fragments and server-only examples; make new ones run


def test_the_site_has_pages() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "getting-started.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_python_example_on_the_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # a saved file imports, as beside a script
    scope: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, (by, code) in enumerate(blocks(page)):
        if by is not None and by.startswith("not run: "):
            continue
        if by is not None:
            runner = ROOT / by.removeprefix("run by ")
            assert runner.is_file(), f"{page.name}: block {i} names {by}, which does not exist"
            assert page.name in runner.read_text(encoding="utf-8"), f"{by} does not read {page.name}"
            continue
        name = saved_as(code)
        if name is not None:
            (tmp_path / name).write_text(code, encoding="utf-8")
            continue
        exec(compile(code, f"{page.relative_to(DOCS)}[{i}]", "exec"), scope)
    capsys.readouterr()


def _shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTORCH_MODEL")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `agentorch`
    return subprocess.run(
        line,
        shell=True,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_getting_started_from_a_team_file_to_the_report(tmp_path: Path) -> None:
    page = DOCS / "getting-started.md"
    (_, team_file), *_ = blocks(page)
    (tmp_path / "trip_team.py").write_text(team_file, encoding="utf-8")
    install, run, resume, report = (code.strip() for _, code in blocks(page, "bash"))
    assert "pip install -e ." in install  # (the clone is the one under test)

    first = _shell(run, tmp_path)
    assert first.returncode == 3, first.stderr  # waits for a person
    assert "models: scripted-trip (team) for planner, researcher, booker, critic, synthesizer" in first.stderr
    shown = [ln for _, ln in blocks(page, "text")][0].splitlines()
    printed = first.stderr.splitlines()
    assert shown[0] in printed and shown[2] in printed and shown[3] in printed
    assert re.search(
        r"^  \w{8}  tool book_hotel\(\{\"city\": \"Lisbon\", \"nights\": 2\}\) for hotel \[booker\]$",
        first.stderr,
        re.M,
    )

    pasted = next(ln.strip() for ln in printed if ln.strip().endswith("--approve"))
    assert resume == f"{pasted} --save run.json"
    second = _shell(resume, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "hotel booked (LIS-42)" in second.stdout

    third = _shell(report, tmp_path)
    assert third.returncode == 0, third.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Booked 2 nights in Lisbon" in html and "book_hotel" in html
