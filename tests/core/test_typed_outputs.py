"""Typed agent outputs: `Agent(output=Model)` answers as data, repaired, kept and passed on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import RetryPolicy
from pydantic import BaseModel, Field, RootModel
from rich.console import Console

from agentorch import Agent, Budget, ConfigError, RunFailed, RunResult, Team
from agentorch._render.view import LiveView, PlainView
from agentorch.llms import ScriptedChatModel, cascade
from tests.helpers import ACCEPT, call, plan, st

from .conftest import CALLS, search


class Quote(BaseModel):
    supplier: str
    price: float = Field(gt=0, description="Price per unit in EUR.")
    tags: list[str] = Field(default_factory=list)


QUOTE = {"supplier": "Acme", "price": 3.5, "tags": ["bulk"]}


def pricing_team(llm: ScriptedChatModel, *, tools: bool = False, **kwargs: object) -> Team:
    """pricer (typed: Quote; with `search` when `tools`), writer (text)."""
    pricer = Agent(name="pricer", role="Finds the best price", output=Quote, tools=[search] if tools else [])
    return Team(agents=[pricer, Agent(name="writer", role="Writes")], llm=llm, **kwargs)  # type: ignore[arg-type]


def script(pricer: list[object], **more: object) -> dict[str, object]:
    return {
        "planner": [plan(st("quote", "pricer"), st("brief", "writer", "quote"))],
        "pricer": pricer,
        "writer": ["Buy from Acme at 3.50 EUR."],
        "critic": [ACCEPT],
        "synthesizer": ["Acme, 3.50 EUR."],
        **more,
    }


def test_typed_data_reaches_the_result_and_the_dependent_as_json() -> None:
    llm = ScriptedChatModel(script([QUOTE]))
    result = pricing_team(llm).run("Find the cheapest supplier and write a note")
    assert result.status == "completed"
    quote = result.results["quote"]
    assert quote.data == QUOTE
    assert json.loads(quote.output) == QUOTE  # the text form every prompt and report reads
    assert result.results["brief"].data is None  # a text agent keeps a text answer
    # one structured call: the schema is bound as the only tool, the answer scripted as a dict
    (asked,) = llm.calls_for("pricer")
    assert asked.tools == ["Quote"]
    # the dependent got the data as JSON inside its labelled <data> block
    task = llm.calls_for("writer")[0].messages[-1].content
    assert isinstance(task, str)
    block = task.split('<data source="subtask:quote">\n', 1)[1].split("\n</data>", 1)[0]
    assert json.loads(block) == QUOTE


def test_an_invalid_answer_is_sent_back_with_its_problems_and_repaired() -> None:
    bad = {"supplier": "Acme", "price": -2}
    llm = ScriptedChatModel(script([bad, "It costs 3.50 EUR.", QUOTE]))
    result = pricing_team(llm).run("goal")
    assert result.status == "completed"
    assert result.results["quote"].data == QUOTE
    calls = llm.calls_for("pricer")
    assert len(calls) == 3
    first_repair = calls[1].messages[-1].content
    assert "Your previous answer was rejected" in first_repair
    assert "price" in first_repair and "greater than 0" in first_repair
    assert "plain text, not a `Quote` object" in calls[2].messages[-1].content
    # every attempt counts: usage of the sub-task and of the agent's role
    assert result.results["quote"].usage.calls == 3
    assert result.usage.by_role["pricer"].calls == 3


def test_still_invalid_after_the_repairs_fails_the_subtask_naming_agent_and_schema() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("quote", "pricer"))],
            "pricer": [{"supplier": "Acme"}, {"supplier": "Acme", "price": "cheap"}],
            "critic": [ACCEPT],
            "synthesizer": ["no quote"],
        }
    )
    result = pricing_team(llm, plan_retries=1).run("goal")
    quote = result.results["quote"]
    assert quote.status == "failed" and quote.data is None
    assert "agent `pricer` gave no valid `Quote` in 2 attempts" in quote.error
    assert "price" in quote.error and "valid number" in quote.error  # the last problem
    assert quote.usage.calls == 2
    assert result.status == "failed"
    assert "`quote`" in result.error and "gave no valid `Quote`" in result.error
    llm.assert_complete()


def test_a_typed_agent_with_tools_loops_then_answers_as_its_schema() -> None:
    llm = ScriptedChatModel(script([call("search", query="widget prices"), "Acme sells at 3.50 EUR.", QUOTE]))
    result = pricing_team(llm, tools=True).run("goal")
    assert result.status == "completed"
    quote = result.results["quote"]
    assert quote.data == QUOTE
    assert [c.name for c in quote.tool_calls if c.executed] == ["search"]
    assert CALLS["search"] == [{"query": "widget prices"}]
    loop, draft, final = llm.calls_for("pricer")
    assert loop.tools == draft.tools == ["search"]  # the loop runs with the agent's tools
    assert final.tools == ["Quote"]  # the last call asks for the schema only
    texts = [str(m.content) for m in final.messages]
    assert any("results for widget prices" in t for t in texts)  # it sees the tool's result
    assert texts[-1] == "Now give your final answer as a `Quote` object, from the work above."
    assert quote.usage.calls == 3


def test_a_saved_and_loaded_result_keeps_the_data(tmp_path: Path) -> None:
    result = pricing_team(ScriptedChatModel(script([QUOTE]))).run("goal")
    path = tmp_path / "run.json"
    result.save(path)
    loaded = RunResult.load(path)
    assert loaded.results["quote"].data == QUOTE
    assert loaded.history[0].data == QUOTE
    assert loaded == result


def test_typed_data_survives_a_failure_and_resume_without_asking_again() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("quote", "pricer"), st("other", "writer"))],
            "pricer": [QUOTE],  # answered once: a resume must replay it, not ask again
            "writer": [ConnectionError("endpoint down"), "Other work."],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = pricing_team(llm, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(RunFailed) as failed:
        team.run("goal", thread_id="typed-resume")
    assert failed.value.result.results["quote"].data == QUOTE
    result = team.resume("typed-resume")
    assert result.status == "completed"
    assert result.results["quote"].data == QUOTE
    assert len(llm.calls_for("pricer")) == 1
    llm.assert_complete()


def test_the_report_and_the_plain_view_show_the_data() -> None:
    llm = ScriptedChatModel(script([{**QUOTE, "supplier": "<b>Acme</b>"}]))
    team = pricing_team(llm)
    events = list(team.stream("goal", thread_id="typed-report"))
    out = io.StringIO()
    PlainView(out).consume(events)
    assert "finished quote [pricer] done" in out.getvalue()
    assert 'data={"supplier": "<b>Acme</b>", "price": 3.5, "tags": ["bulk"]}' in out.getvalue()
    screen = io.StringIO()
    live = LiveView(console=Console(file=screen, width=120))
    for ev in events:
        live.board.apply(ev)
    live.console.print(live)
    assert 'data {"supplier": "<b>Acme</b>", "price": 3.5, "tags": ["bulk"]}' in screen.getvalue()
    page = team.result("typed-report").to_html()
    assert '<table class="data">' in page
    assert '<code>price</code></td><td class="data-value">3.5</td>' in page
    assert "&lt;b&gt;Acme&lt;/b&gt;" in page and "<b>Acme</b>" not in page  # escaped
    assert "(output: Quote)" in team._repr_html_()


@pytest.mark.parametrize(
    ("output", "says"),
    [
        (Quote(supplier="a", price=1), "got an instance of `Quote`; pass the class itself"),
        (dict, "must be a pydantic model class"),
        ("Quote", "must be a pydantic model class"),
        (RootModel[list[int]], "is a RootModel"),
    ],
)
def test_output_must_be_a_pydantic_model_class(output: object, says: str) -> None:
    with pytest.raises(ConfigError, match="Agent `pricer`") as e:
        Agent(name="pricer", role="Prices", output=output)  # type: ignore[arg-type]
    assert says in str(e.value)


def test_output_without_a_json_schema_is_refused() -> None:
    class Opaque:
        pass

    class Holder(BaseModel, arbitrary_types_allowed=True):
        thing: Opaque

    with pytest.raises(ConfigError, match="has no JSON schema"):
        Agent(name="pricer", role="Prices", output=Holder)


def test_a_scripted_text_answer_for_a_typed_agent_is_not_data() -> None:
    llm = ScriptedChatModel(script([AIMessage("3.50 EUR"), "3.50", "three fifty"]))
    result = pricing_team(llm).run("goal")
    assert result.results["quote"].status == "failed"
    assert "plain text, not a `Quote` object" in result.results["quote"].error


def test_a_cascade_asks_the_model_of_the_attempt_for_the_schema() -> None:
    cheap = ScriptedChatModel({"pricer": [ValueError("bad request")]}, model_name="cheap")
    strong = ScriptedChatModel({"pricer": [QUOTE]}, model_name="strong")
    boss = ScriptedChatModel(
        {"planner": [plan(st("quote", "pricer"))], "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    pricer = Agent(name="pricer", role="Prices", output=Quote, llm=cascade(cheap, strong))
    result = Team(agents=[pricer], llm=boss, retry=RetryPolicy(max_attempts=1)).run("goal")
    assert result.status == "completed"
    assert [(h.model, h.status, h.data) for h in result.history] == [
        ("cheap", "failed", None),
        ("strong", "done", QUOTE),
    ]
    assert strong.calls[0].tools == ["Quote"]
    assert result.usage.by_model["strong"].calls == 1


def test_a_budget_reached_during_repairs_skips_the_subtask_and_counts_its_calls() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("quote", "pricer"))],
            "pricer": [{"supplier": "Acme"}],  # invalid; the repair is refused by the budget
            "synthesizer": ["unused"],
        }
    )
    result = pricing_team(llm, budget=Budget(max_llm_calls=2)).run("goal")
    assert result.status == "budget_exhausted"
    quote = result.results["quote"]
    assert quote.status == "skipped" and quote.data is None
    assert quote.usage.calls == 1 and result.usage.by_role["pricer"].calls == 1
