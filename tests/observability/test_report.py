"""The HTML run report, read as a browser would get it (the rendering itself: test_browser.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agentorch import ConfigError, ModelPrice, Plan, RunResult, SubTask, TokenUsage, Usage
from agentorch._render.html import layered_layout
from agentorch.cli import main

from .conftest import XSS


class Elements(HTMLParser):
    """Start tags with their attributes, script bodies, and the visible text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)

    def find(self, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and cls in a.get("class", "").split()]


def test_report_has_one_dag_node_and_one_timeline_row_per_subtask(demo_result: RunResult) -> None:
    page = Elements(demo_result.to_html())
    ids = [st.id for st in demo_result.plan.subtasks]
    assert [n["data-st"] for n in page.find("g", "node")] == ids
    assert sorted(r["data-st"] for r in page.find("g", "row")) == sorted(ids)
    bars = page.find("rect", "bar")
    assert len([b for b in bars if "data-attempt" in b]) == len(demo_result.history) == 6
    # the planner's, critic's and synthesizer's calls have rows of their own
    assert [r["data-role"] for r in page.find("g", "step-row")] == ["planner", "critic", "synthesizer"]
    assert [b["data-round"] for b in bars if "data-attempt" not in b] == ["1", "1", "2", "2"]
    assert sorted(d["data-detail"] for d in page.find("details", "detail")) == sorted(ids)
    edges = {(e["data-from"], e["data-to"]) for e in page.find("path", "edge")}
    assert edges == {("tech", "analysis"), ("market", "analysis"), ("analysis", "brief")}
    text = " ".join(page.text)
    assert "round 1:" in text and "revise" in text and "must name the main risks" in text
    assert demo_result.answer.splitlines()[0] in text
    assert len(page.find("line", "round-mark")) == 1  # round 2 starts after the critic


def test_report_shows_each_tool_call_with_its_outcome_and_key(demo_result: RunResult) -> None:
    calls = [c for h in demo_result.history for c in h.tool_calls]
    assert calls
    page = demo_result.to_html()
    for c in calls:
        assert f"<code>{c.key}</code>" in page and c.outcome in page


def test_report_is_self_contained(demo_result: RunResult) -> None:
    html = demo_result.to_html()
    assert html.startswith("<!DOCTYPE html>")
    page = Elements(html)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            assert not attrs.get(name, "").startswith(("http", "//")), (tag, attrs)
    assert "default-src 'none'" in html  # the page may not fetch anything
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)


def test_all_user_text_is_escaped(nasty_result: RunResult) -> None:
    html = nasty_result.to_html()
    page = Elements(html)
    assert "<img" not in html
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]  # only our own script
    text = "".join(page.text)
    assert text.count(XSS) >= 6  # goal, rationale, description, outputs, tool output, answer, verdict
    assert [n["data-st"] for n in page.find("g", "node")] == ["a<b>", "c&d"]
    assert "m-<i>" in text


def test_cost_is_shown_with_a_price_table(demo_result: RunResult) -> None:
    cost = demo_result.usage.cost({"scripted": (1.0, 2.0)})  # prefix of "scripted-demo"
    total = demo_result.usage.total
    assert cost.total == pytest.approx((total.input_tokens * 1.0 + total.output_tokens * 2.0) / 1e6)
    text = " ".join(Elements(demo_result.to_html(prices={"scripted-demo": (1.0, 2.0)})).text)
    assert f"cost: ${cost.total:.4f}" in text
    assert "cost:" not in " ".join(Elements(demo_result.to_html()).text)
    # the quote made before the work, beside the actual
    assert demo_result.quote is not None
    assert f"quoted before the work: {demo_result.quote.calls} calls" in text


def test_usage_cost_prices_models_by_exact_or_longest_prefix() -> None:
    usage = Usage(
        by_model={
            "gpt-4o-mini-2024-07-18": TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000),
            "local-llama": TokenUsage(input_tokens=10, output_tokens=10, total_tokens=20),
        }
    )
    cost = usage.cost(
        {"gpt-4o": ModelPrice(input=5, output=15), "gpt-4o-mini": {"input": 0.15, "output": 0.6}}
    )
    assert cost.by_model == {"gpt-4o-mini-2024-07-18": pytest.approx(0.75)}
    assert cost.unpriced == ["local-llama"] and cost.total == pytest.approx(0.75)
    with pytest.raises(ConfigError, match="gpt-4o"):
        usage.cost({"gpt-4o": (1, -2)})


def test_layered_layout_puts_each_subtask_after_its_dependencies() -> None:
    plan = Plan(
        subtasks=[
            SubTask(id="d", description="d", agent="a", depends_on=["b", "c"]),
            SubTask(id="a", description="a", agent="a"),
            SubTask(id="b", description="b", agent="a", depends_on=["a"]),
            SubTask(id="c", description="c", agent="a", depends_on=["a"]),
            SubTask(id="e", description="e", agent="a"),
        ]
    )
    layout = layered_layout(plan)
    assert {k: v[0] for k, v in layout.items()} == {"a": 0, "e": 0, "b": 1, "c": 1, "d": 2}
    positions = [(col, row) for col, row in layout.values()]
    assert len(set(positions)) == len(positions)  # no two boxes overlap


def test_report_command_writes_the_page(demo_result: RunResult, tmp_path: Path, capsys) -> None:
    record, out = tmp_path / "run.json", tmp_path / "report.html"
    demo_result.save(record)
    assert main(["report", str(record), "-o", str(out), "--prices", '{"scripted-demo": [1, 2]}']) == 0
    assert "Report written to" in capsys.readouterr().out
    page = Elements(out.read_text(encoding="utf-8"))
    assert len(page.find("g", "node")) == 4 and "cost:" in " ".join(page.text)


@pytest.mark.parametrize("content", [b'{"goal": "x", "hist', "caf\u00e9".encode("latin-1"), None])
def test_report_command_on_a_bad_record_exits_2_naming_the_file(tmp_path: Path, capsys, content) -> None:
    record = tmp_path / "bad.json"
    if content is not None:
        record.write_bytes(content)
    assert main(["report", str(record), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and not (tmp_path / "r.html").exists()


def test_report_command_rejects_a_bad_price_table(demo_result: RunResult, tmp_path: Path, capsys) -> None:
    record = tmp_path / "run.json"
    demo_result.save(record)
    assert main(["report", str(record), "--prices", '{"m": "cheap"}']) == 2
    assert "price of `m`" in capsys.readouterr().err


def test_plan_run_and_team_render_in_jupyter(demo_result: RunResult) -> None:
    from agentorch.graphs.research import build_team, demo_model

    plan_page = Elements(demo_result.plan._repr_html_())
    assert len(plan_page.find("g", "node")) == 4 and not plan_page.scripts
    run_page = Elements(demo_result._repr_html_())
    assert len(run_page.find("g", "row")) == 4 and not run_page.scripts  # notebooks may strip JS
    assert len(run_page.find("details", "detail")) == 4
    team_page = Elements(build_team(demo_model())._repr_html_())
    text = " ".join(team_page.text)
    assert "researcher" in text and "search" in text and "scripted-demo" in text
    assert "graph TD" in text or "flowchart" in text  # the Mermaid source
