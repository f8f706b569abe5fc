"""The live view in a real headless Chromium: a run typed into the page fills in the plan, streams
the text, pauses for an approval answered on the page, ends with the answer and the usage
table — and the page fetches nothing but its own server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, call, plan, st
from tests.observability._browser import Browser, chromium_or_skip
from tests.protocols.conftest import serving
from tests.scale.conftest import need_module

pytestmark = [pytest.mark.slow]
pytest.importorskip("ag_ui", reason='`ag-ui-protocol` is not installed (pip install -e ".[agui]")')

from agentorch._protocols.live import live_app  # noqa: E402

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "live-view.png"
PUBLISHED: list[str] = []


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish the text."""
    PUBLISHED.append(text)
    return "published"


@pytest.fixture
def browser() -> Iterator[Browser]:
    need_module("ag_ui", "agui")
    b = Browser(chromium_or_skip())
    try:
        yield b
    finally:
        b.close()


def _team() -> Team:
    return Team(
        agents=[
            Agent(name="tech", role="Researches the technology"),
            Agent(name="market", role="Researches the market"),
            Agent(name="writer", role="Writes and publishes the brief", tools=[publish]),
        ],
        llm=ScriptedChatModel(
            {
                "planner": [
                    plan(st("tech", "tech"), st("market", "market"), st("brief", "writer", "tech", "market"))
                ],
                "tech": ["Solid-state cells replace the liquid electrolyte with a solid one."],
                "market": ["First cars with solid-state packs are due around 2028."],
                "writer": [call("publish", text="the brief"), "Published: solid-state batteries, 2028."],
                "critic": [ACCEPT],
                "synthesizer": ["Solid-state batteries: safer cells, first cars around 2028."],
            },
            model_name="gpt-4o-mini",
            latency={"tech": 1.0, "market": 1.0, "*": 0.2},  # a wide window to see both running
        ),
        name="research",
    )


def _wait_for(b: Browser, expression: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = b.eval(expression)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


NODES = "Object.fromEntries([...document.querySelectorAll('#dag g.node')].map(n => [n.dataset.st, n.dataset.status]))"


def test_the_live_view_shows_a_run_to_the_end_with_an_approval_answered_on_the_page(browser: Browser) -> None:
    PUBLISHED.clear()
    team = _team()
    with serving(lambda _: live_app(team)) as url:
        browser.open(url + "/")
        assert browser.eval("document.querySelector('#team').textContent") == "research"
        browser.eval("document.querySelector('#goal').value = 'Brief me on solid-state batteries'")
        browser.click("#run")

        # the plan appears and fills in: the two researchers run (in parallel) before the writer
        assert _wait_for(
            browser, f"(function(n){{return n.tech === 'running' && n.market === 'running' && n}})({NODES})"
        )
        assert browser.eval(NODES)["brief"] == "waiting"
        # the approval the writer's tool waits for, answered from the page
        assert _wait_for(browser, "!!document.querySelector('.approval button.approve')")
        assert browser.eval(NODES) == {"tech": "done", "market": "done", "brief": "running"}
        assert browser.eval("document.querySelector('#status').textContent") == "interrupted"
        assert "publish" in browser.eval("document.querySelector('.approval').textContent")
        texts = browser.eval(
            "Object.fromEntries([...document.querySelectorAll('pre[data-text]')].map(p => [p.dataset.text, p.textContent]))"
        )
        assert texts["tech"].startswith("Solid-state cells replace") and texts["market"].startswith(
            "First cars"
        )
        assert _wait_for(browser, "!!document.querySelector('#usage table')")  # the usage so far
        assert PUBLISHED == []
        browser.click(".approval button.approve")

        assert _wait_for(browser, "document.querySelector('#status').textContent === 'completed'")
        assert PUBLISHED == ["the brief"]
        assert browser.eval(NODES) == {"tech": "done", "market": "done", "brief": "done"}
        assert browser.eval("document.querySelector('#answer').textContent") == (
            "Solid-state batteries: safer cells, first cars around 2028."
        )
        assert browser.eval("document.querySelector('.approval') === null")
        verdicts = "[...document.querySelectorAll('#verdicts li')].map(li => li.textContent)"
        assert browser.eval(verdicts) == ["accept: good"]
        assert _wait_for(browser, "document.querySelector('#usage').textContent.includes('synthesizer')")
        rows = browser.eval(
            "[...document.querySelectorAll('#usage table tr td:first-child')].map(td => td.textContent)"
        )
        assert {
            "planner",
            "tech",
            "market",
            "writer",
            "critic",
            "synthesizer",
            "total",
            "gpt-4o-mini",
        } <= set(rows)
        result = team.result(browser.eval("document.querySelector('#thread').textContent").split()[-1])
        assert result.status == "completed" and result.usage.total.calls > 0
        if os.environ.get("AGENTORCH_SCREENSHOT"):  # refresh the docs' picture of the page
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            browser.screenshot(SCREENSHOT)
        # offline: every request went to the page's own server
        assert all(u.startswith(url) for u in browser.requested_urls()), browser.requested_urls()
