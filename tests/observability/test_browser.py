"""The run report in a real headless Chromium: it renders, has one DAG node and one timeline row
per sub-task, opens a sub-task's details on click, runs no injected script, and fetches nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentorch import RunResult

from ._browser import Browser, chromium_or_skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(chromium_or_skip())
    try:
        yield b
    finally:
        b.close()


def _open_details(b: Browser) -> list[str]:
    return b.eval(
        "[...document.querySelectorAll('details.detail')].filter(d => d.open).map(d => d.dataset.detail)"
    )


def _wait_for(b: Browser, expression: str, timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = b.eval(expression)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_report_renders_and_clicks_open_details(
    browser: Browser, demo_result: RunResult, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(demo_result.to_html(prices={"scripted-demo": (0.15, 0.6)}), encoding="utf-8")
    browser.open(page)
    ids = [st.id for st in demo_result.plan.subtasks]
    assert browser.eval("[...document.querySelectorAll('#dag g.node')].map(n => n.dataset.st)") == ids
    assert sorted(
        browser.eval("[...document.querySelectorAll('#timeline g.row')].map(n => n.dataset.st)")
    ) == sorted(ids)
    # laid out for real: every node has a size, and parallel attempts overlap in time
    sizes = browser.eval("[...document.querySelectorAll('#dag g.node')].map(n => n.getBBox().width)")
    assert all(w > 100 for w in sizes)
    bars = browser.eval(
        "[...document.querySelectorAll('#timeline g.row')].map(r => [r.dataset.st, "
        "[...r.querySelectorAll('rect.bar')].map(b => [b.x.baseVal.value, b.width.baseVal.value])])"
    )
    spans = {sid: b for sid, b in bars}
    (tx, tw), (mx, mw) = spans["tech"][0], spans["market"][0]
    assert mx < tx + tw and tx < mx + mw, "tech and market ran in parallel"
    assert len(spans["analysis"]) == 2
    assert _open_details(browser) == []
    assert (
        browser.eval("document.querySelector('details[data-detail=analysis] .attempt').checkVisibility()")
        is False
    )

    browser.click("#dag g.node[data-st='analysis']")
    assert _wait_for(browser, "document.querySelector('details[data-detail=analysis]').open")
    assert _open_details(browser) == ["analysis"]
    detail = browser.eval("document.querySelector('details[data-detail=analysis]').innerText")
    assert "attempt 2" in detail and "Goal:" in detail and "Risks:" in detail
    assert (
        browser.eval("document.querySelector('details[data-detail=analysis] .attempt').checkVisibility()")
        is True
    )

    browser.click("#timeline g.row[data-st='tech'] rect.bar")
    assert _wait_for(browser, "document.querySelector('details[data-detail=tech]').open")
    assert _open_details(browser) == ["tech"]
    tech = browser.eval("document.querySelector('details[data-detail=tech]').innerText")
    assert "search" in tech and "electrolyte density" in tech  # the tool call and its arguments
    assert "$" in browser.eval("document.body.innerText")  # cost is shown

    shots = Path(os.environ.get("AGENTORCH_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    browser.screenshot(shots / "report.png")
    assert [u for u in browser.requested_urls() if not u.startswith(("file:", "about:", "data:"))] == []


def test_injected_markup_stays_text(browser: Browser, nasty_result: RunResult, tmp_path: Path) -> None:
    page = tmp_path / "nasty.html"
    page.write_text(nasty_result.to_html(), encoding="utf-8")
    browser.open(page)
    time.sleep(0.3)
    assert browser.eval("typeof window.__pwned") == "undefined"
    assert browser.eval("document.querySelectorAll('img').length") == 0
    assert browser.eval("document.querySelectorAll('#dag g.node').length") == 2
    browser.click("#dag g.node[data-st='a<b>']")
    assert _wait_for(browser, "document.querySelector('details.detail[open]') !== null")
    assert "<script>window.__pwned = 1</script>" in browser.eval(
        "document.querySelector('details.detail[open]').innerText"
    )
