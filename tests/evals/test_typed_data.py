"""Eval suites asserting on the fields of typed agent outputs (`expect.data`)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from agentorch.evals import Expectations, FieldCheck, SuiteError, load_suite, run_suite

README = Path(__file__).resolve().parents[2] / "docs" / "evals.md"  # the Evals page

TEAM = """
from pydantic import BaseModel
from agentorch import Agent, Team


class Quote(BaseModel):
    supplier: str
    price: float
    tags: list[str] = []


def build_team(llm, **options):
    return Team(agents=[Agent(name="pricer", role="Finds the best price", output=Quote)], llm=llm, **options)
"""

SUITE = """
name: typed
team: team.py:build_team
model:
  script:
    planner: [{subtasks: [{id: quote, agent: pricer, description: "Find the best price"}]}]
    pricer: [{supplier: Acme, price: 3.5, tags: [bulk, eu]}]
    critic: [{decision: accept}]
    synthesizer: ["Acme at 3.50 EUR"]
cases:
  - id: cheap
    goal: Find a supplier
    expect:
      status: completed
      data:
        quote:
          price: {gt: 0, lt: 10}
          supplier: {eq: Acme, matches: "^A"}
          tags: {contains: eu}
          tags.0: {eq: bulk}
  - id: too-expensive
    goal: Find a supplier
    script:
      pricer: [{supplier: Bolt, price: 12}]
    expect:
      data:
        quote: {price: {lt: 10}, supplier: {eq: Acme}, currency: {eq: EUR}}
  - id: no-data
    goal: Find a supplier
    team_options: {plan_retries: 0}
    script:
      pricer: ["about three euros"]
    expect:
      data:
        quote: {price: {lt: 10}}
"""


def test_a_suite_asserts_on_the_fields_of_typed_data(write) -> None:
    write("team.py", TEAM)
    result = run_suite(load_suite(write("typed.yaml", SUITE)))
    by_case = {c.case: {s.name: s for s in c.scores} for c in result.cases}

    cheap = by_case["cheap"]["data"]
    assert cheap.passed, cheap.detail
    assert "`quote.price` = 3.5" in cheap.detail and "`quote.tags.0` = 'bulk'" in cheap.detail

    expensive = by_case["too-expensive"]["data"]
    assert not expensive.passed
    assert expensive.detail == (
        "`quote.price`: not 12.0 < 10; `quote.supplier`: not 'Bolt' == 'Acme'; "
        "`quote.currency` is missing (fields: supplier, price, tags)"
    )

    missing = by_case["no-data"]["data"]
    assert not missing.passed
    assert missing.detail.startswith(
        "`quote` has no typed data (status 'failed'): agent `pricer` gave no valid"
    )
    assert [c.outcome for c in result.cases] == ["passed", "failed", "failed"]


def test_the_readme_data_example_is_valid() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("`data` checks the fields") :]
    snippet = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    expect = Expectations.model_validate(yaml.safe_load(textwrap.dedent(snippet))["expect"])
    assert expect.data is not None and expect.data["quote"]["price"].holds(3.5) == []


def test_field_checks_in_python() -> None:
    check = FieldCheck(ge=1, le=5)
    assert check.holds(3) == [] and check.holds(9) == ["9 <= 5"]
    assert FieldCheck(lt=10).holds("cheap") == ["'cheap' < 10"]  # not comparable: fails
    assert FieldCheck(lt=10).holds(True) == ["True < 10"]  # a bool is not a number here
    assert FieldCheck(eq=None).holds(None) == []  # `eq: null` is a condition too
    assert FieldCheck(contains="b").holds(["a", "b"]) == []
    Expectations(data={"quote": {"price": {"lt": 10}}})


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("{quote: {price: {}}}", "give at least one condition: eq, ne, lt, le, gt, ge, contains, matches"),
        ("{quote: {price: {below: 3}}}", "unknown field"),
        ("{quote: {price: {matches: '('}}}", "not a valid regular expression"),
        ("{quote: {}}", "sub-task 'quote' lists no fields"),
        ("{quote: {'price.': {eq: 1}}}", "'price.' is not a field path"),
        ("{}", "must not be empty"),
    ],
)
def test_bad_data_expectations_are_suite_errors(write, data: str, says: str) -> None:
    write("team.py", TEAM)
    text = SUITE.split("cases:")[0] + f"cases:\n  - id: c\n    goal: g\n    expect:\n      data: {data}\n"
    with pytest.raises(SuiteError) as caught:
        load_suite(write("bad.yaml", text))
    assert caught.value.case == "c" and caught.value.field.startswith("expect.data"), str(caught.value)
    assert says in str(caught.value)
