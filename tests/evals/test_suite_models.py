"""One set of models: a suite file and the same data given in Python build the same suite,
names in a file resolve next to the file, and Python may pass the objects a file names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from langchain_core.messages import AIMessage
from pydantic import ValidationError

from agentorch.evals import Case, MemorySetup, ModelSetup, Suite, SuiteError, load_suite, run_suite
from agentorch.graphs.research import demo_model
from agentorch.llms import ScriptedChatModel

ROUND_TRIP = """
name: round-trip
team: research
team_options: {max_rounds: 2, budget: {max_llm_calls: 40}, retry: {max_attempts: 1}}
model:
  factory: agentorch.graphs.research:demo_model
  latency: {researcher: 0.001}
memory: {seed: ["Investment committee note: cover QuantumScape's pilot line."]}
judge_model: {script: {judge: {call: "agentorch.evals.suites.research_checks:rubric_judge"}}}
cases:
  - id: brief
    goal: Write a one-page brief on solid-state batteries for an investment committee
    tags: [smoke]
    expect:
      status: completed
      tool_called: search
      memory_recalled: QuantumScape
      judge: {rubric: Names the main risks, threshold: 0.5}
  - id: analyst-asks-for-search
    goal: Write a one-page brief on solid-state batteries
    memory: {seed: []}
    script:
      analyst:
        - tool_calls: [{name: search, args: {query: risks}}]
        - "Opportunity: 2x density. Risks: dendrites and cost."
    expect: {status: completed, subtask_status: {analysis: done}}
  - id: analyst-unreachable
    goal: Write a one-page brief on solid-state batteries
    script:
      analyst: [{raise: ConnectionError, message: model endpoint unreachable}]
    expect: {status: failed, error_contains: model endpoint unreachable}
  - id: gated-search-approved
    goal: Write a one-page brief on solid-state batteries
    team_options:
      search_tool: {ref: "agentorch.evals.suites.research_checks:gated_search"}
    approvals: [{args: {query: players}, by: eval-bot}, {args: {query: density}, by: eval-bot}]
    scorers: ["agentorch.evals.suites.research_checks:approved_by_eval"]
    expect: {approval_required: tool, status: completed}
"""


def outcomes(result) -> list[tuple]:
    return [(c.case, c.outcome, c.status, c.llm_calls, c.tokens, c.answer, c.scores) for c in result.cases]


def test_a_file_and_the_same_data_in_python_build_suites_that_run_alike(write) -> None:
    path = write("round_trip.yaml", ROUND_TRIP)
    loaded = load_suite(path)
    assert (loaded.name, loaded.file, loaded.memory) == (
        "round-trip",
        str(path),
        MemorySetup(seed=["Investment committee note: cover QuantumScape's pilot line."]),
    )
    [brief, asks, unreachable, gated] = loaded.cases
    # the file's names became the objects they name
    assert loaded.model.factory is demo_model
    [ask, answer] = asks.script["analyst"]
    assert isinstance(ask, AIMessage) and ask.tool_calls[0]["args"] == {"query": "risks"}
    assert answer == "Opportunity: 2x density. Risks: dendrites and cost."
    [fault] = unreachable.script["analyst"]
    assert isinstance(fault, ConnectionError) and str(fault) == "model endpoint unreachable"
    assert callable(loaded.judge_model.script["judge"]) and callable(gated.scorers[0])
    assert callable(gated.team_options["search_tool"].invoke)

    from_file = run_suite(loaded)
    assert from_file.passed, [(c.case, c.scores, c.error) for c in from_file.cases]
    # the Python constructor takes the file's own data: same models, same run
    in_python = run_suite(Suite(**yaml.safe_load(ROUND_TRIP)))
    assert outcomes(in_python) == outcomes(from_file)
    assert [c.case for c in from_file.cases] == [
        "brief",
        "analyst-asks-for-search",
        "analyst-unreachable",
        "gated-search-approved",
    ]


def test_names_in_a_file_resolve_next_to_it_in_every_section(
    write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        "suites/helpers.py",
        "from agentorch.graphs.research import demo_model\n"
        "def model():\n    return demo_model()\n"
        "def short(result, case):\n    return len(result.answer) < 2000\n"
        "def accept(messages):\n    return {'decision': 'accept'}\n"
        "class Flaky(ValueError):\n    pass\n",
    )
    path = write(
        "suites/local.yaml",
        """
team: research
model: {factory: "helpers.py:model"}
cases:
  - id: local
    goal: Write a brief
    scorers: ["helpers.py:short"]
    script: {critic: {call: "helpers.py:accept"}}
    expect: {status: completed, rounds_at_most: 1}
  - id: local-fault
    goal: Write a brief
    script: {analyst: [{raise: "helpers.py:Flaky", message: flaky}]}
    expect: {status: failed, error_contains: flaky}
""",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # names resolve from the file's folder, not the working directory
    result = run_suite(load_suite(path))
    assert result.name == "local" and result.passed, [(c.case, c.scores, c.error) for c in result.cases]


def test_python_passes_the_objects_a_file_names() -> None:
    fault = TimeoutError("slow")
    ask = AIMessage("", tool_calls=[{"name": "search", "args": {"query": "x"}, "id": "c1"}])
    setup = ModelSetup(
        factory=demo_model, script={"analyst": [ask, fault], "critic": lambda m: {"decision": "accept"}}
    )
    assert setup.script["analyst"][0] is ask and setup.script["analyst"][1] is fault
    assert isinstance(setup.factory(), ScriptedChatModel)
    case = Case(id="c", goal="g", memory={"seed": ["a note"]}, scorers=[lambda result, case: True])
    assert case.memory == MemorySetup(seed=["a note"])


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Case(id="bad id!", goal="g"), "id"),
        (lambda: Case(id="c", goal="g", memory=["a note"]), "memory"),
        (lambda: Case(id="c", goal="g", scorers=["agentorch.graphs.research:DEMO_GOAL"]), "scorers.0"),
        (lambda: ModelSetup(script={"critic": [5]}), "script.critic.responses.0"),
        (lambda: Suite(team="research", cases=[Case(id="c", goal="g")]), "name"),
        (lambda: Suite(name="s", team="nosuch.module:team", cases=[Case(id="c", goal="g")]), "team"),
    ],
)
def test_bad_values_in_python_raise_a_validation_error_naming_the_field(build, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert isinstance(caught.value, ValueError)
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field, str(caught.value)


def test_a_file_cannot_set_its_own_file(write) -> None:
    path = write("s.yaml", "file: other.yaml\nteam: research\ncases: [{id: a, goal: g}]\n")
    with pytest.raises(SuiteError, match="unknown field") as caught:
        load_suite(path)
    assert caught.value.field == "file"
