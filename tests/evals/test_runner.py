"""The runner, scorers and CLI, through the public API, on the research team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentorch import Agent, RunResult, SubTaskResult, Team
from agentorch.cli import main
from agentorch.evals import Case, ModelSetup, Score, Suite, load_suite, peak_parallel, run_suite
from agentorch.llms import ScriptedChatModel

from .conftest import demo_suite

WRITER_ONLY = {
    "planner": [{"subtasks": [{"id": "w", "description": "Write the note", "agent": "writer"}]}],
    "writer": ["A note."],
    "critic": [{"decision": "accept"}],
    "synthesizer": ["The note."],
}


def scores_of(result, case_id: str) -> dict[str, Score]:
    case = next(c for c in result.cases if c.case == case_id)
    return {s.name: s for s in case.scores}


def test_every_builtin_scorer_fails_when_its_expectation_is_wrong() -> None:
    wrong = Case(
        id="wrong",
        goal="Write a brief on solid-state batteries",
        expect={
            "status": "max_rounds",
            "plan_valid": False,
            "routed_to": {"tech": "writer"},
            "max_parallel": 3,
            "rounds_at_most": 1,
            "answer_contains": ["hydrogen"],
            "answer_matches": r"^\d+$",
            "tokens_at_most": 10,
            "llm_calls_at_most": 2,
            "tool_called": "calculator",
            "tool_not_called": "search",
            "approval_required": True,
            "memory_recalled": "anything",
            "subtask_status": {"tech": "failed"},
            "error_contains": "boom",
        },
    )
    result = run_suite(demo_suite(wrong))
    assert not result.passed and result.cases[0].outcome == "failed"
    scores = scores_of(result, "wrong")
    assert len(scores) == 15 and not any(s.passed for s in scores.values()), scores
    assert scores["routed_to"].detail == "'tech' went to 'researcher', expected 'writer'"
    assert scores["llm_calls_at_most"].value == 12
    assert scores["status"].detail == "status 'completed', expected 'max_rounds'"


def test_routed_to_fails_when_no_subtask_matches_and_agents_are_missing() -> None:
    cases = [
        Case(id="nomatch", goal="Write a brief", expect={"routed_to": {"quantum": "researcher"}}),
        Case(id="agents", goal="Write a brief", expect={"routed_to": ["researcher", "lawyer"]}),
    ]
    result = run_suite(demo_suite(*cases))
    assert "no sub-task 'quantum' (the plan has 'tech', 'market', 'analysis', 'brief')" in (
        scores_of(result, "nomatch")["routed_to"].detail
    )
    assert "missing agents ['lawyer']" in scores_of(result, "agents")["routed_to"].detail


def test_peak_parallel_counts_overlapping_attempts() -> None:
    def r(i: str, start: float, end: float) -> SubTaskResult:
        return SubTaskResult(subtask_id=i, agent="a", started_at=start, finished_at=end)

    assert peak_parallel([r("a", 1, 3), r("b", 2, 4), r("c", 2.5, 5), r("d", 5, 6)]) == 3
    assert peak_parallel([r("a", 1, 2), r("b", 2, 3)]) == 1  # touching is not overlapping
    assert peak_parallel([]) == 0


def test_custom_scorers_get_the_result_and_the_case() -> None:
    seen: list[tuple[str, str]] = []

    def short_answer(result: RunResult, case: Case) -> Score:
        seen.append((result.status, case.id))
        return Score(name="short", passed=len(result.answer) < 20, value=len(result.answer))

    def broken(result: RunResult, case: Case) -> bool:
        raise RuntimeError("scorer bug")

    result = run_suite(demo_suite(Case(id="c", goal="Write a brief", scorers=[short_answer, broken])))
    scores = scores_of(result, "c")
    assert seen == [("completed", "c")]
    assert scores["short"].passed is False and scores["short"].value > 20
    assert scores["broken"].detail == "scorer raised RuntimeError: scorer bug"


def test_llm_judge_uses_the_judge_model_with_a_rubric() -> None:
    judge = ScriptedChatModel({"judge": [{"score": 0.2, "reasoning": "no numbers"}]})
    suite = demo_suite(
        Case(
            id="judged", goal="Write a brief", expect={"judge": {"rubric": "Cites numbers", "threshold": 0.5}}
        ),
        judge_model=ModelSetup(factory=lambda: judge),
    )
    score = scores_of(run_suite(suite), "judged")["judge"]
    assert (score.passed, score.value) == (False, 0.2) and "no numbers" in score.detail
    prompt = judge.calls_for("judge")[0].messages[-1].content
    assert "Cites numbers" in prompt and "Solid-state batteries" in prompt


def test_judge_without_a_judge_model_fails_the_case_clearly() -> None:
    result = run_suite(demo_suite(Case(id="j", goal="Write a brief", expect={"judge": {"rubric": "x"}})))
    assert "needs a `judge_model`" in scores_of(result, "j")["judge"].detail


def test_each_case_gets_a_fresh_model_so_scripts_do_not_leak() -> None:
    # one response per role: a shared model would run out on the second case
    suite = Suite(
        name="fresh",
        team=lambda llm, **o: Team([Agent(name="writer", role="Writes")], llm=llm, **o),
        model=ModelSetup(script=WRITER_ONLY),
        cases=[Case(id=f"c{i}", goal="Write a note", expect={"answer_contains": "note"}) for i in range(4)],
    )
    assert run_suite(suite, concurrency=4).passed


def test_a_team_instance_is_rebuilt_per_case_on_the_suite_model() -> None:
    team = Team([Agent(name="writer", role="Writes")], llm=ScriptedChatModel({}), max_rounds=2)
    suite = Suite(
        name="inst",
        team=team,
        model=ModelSetup(script=WRITER_ONLY),
        cases=[Case(id=f"c{i}", goal="Write a note", expect={"status": "completed"}) for i in range(2)],
    )
    assert run_suite(suite).passed


def test_cases_run_concurrently() -> None:
    from agentorch.graphs.research import demo_model

    models: list[ScriptedChatModel] = []

    def factory() -> ScriptedChatModel:
        models.append(demo_model(latency=0.01))
        return models[-1]

    def most_in_flight() -> int:  # cases whose first-to-last model calls overlap at one moment
        spans = [(m.calls[0].started_at, m.calls[-1].started_at) for m in models]
        return max(sum(s <= t <= e for s, e in spans) for t, _ in spans)

    cases = [Case(id=f"c{i}", goal="Write a brief", expect={"status": "completed"}) for i in range(4)]
    suite = demo_suite(*cases, model=ModelSetup(factory=factory))
    assert run_suite(suite, concurrency=1).passed and most_in_flight() == 1
    models.clear()
    assert run_suite(suite, concurrency=4).passed and most_in_flight() == 4


def test_script_exhaustion_fails_the_case_not_the_run() -> None:
    suite = Suite(
        name="short",
        team=lambda llm, **o: Team([Agent(name="writer", role="Writes")], llm=llm, **o),
        model=ModelSetup(script={**WRITER_ONLY, "critic": []}),
        cases=[Case(id="c", goal="Write a note", expect={"status": "completed"})],
    )
    case = run_suite(suite).cases[0]
    assert case.outcome == "failed" and case.status == "failed" and "ran out of responses" in case.error


def test_a_case_whose_planner_never_succeeds_still_reports_the_calls_it_cost() -> None:
    bad = {"subtasks": [{"id": "w", "description": "Write", "agent": "nobody"}]}
    suite = Suite(
        name="noplan",
        team=lambda llm, **o: Team([Agent(name="writer", role="Writes")], llm=llm, **o),
        model=ModelSetup(script={"planner": [bad, bad, bad]}),
        cases=[Case(id="c", goal="Write a note", expect={"status": "failed", "tokens_at_most": 10_000})],
    )
    case = run_suite(suite).cases[0]
    assert case.passed and case.error.startswith("PlanError:")
    assert case.llm_calls == 3 and case.tokens > 0


def test_filters_select_cases_by_name_or_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import SUITES

    assert main(["eval", str(SUITES), "-k", "smoke", "-k", "plan-rejected", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    ran = sorted(c["case"] for s in data["suites"] for c in s["cases"])
    assert ran == ["demo-brief", "plan-rejected"]
    assert main(["eval", str(SUITES), "-k", "no-such-case", "--out", str(tmp_path)]) == 2


def test_failing_cases_exit_1_and_compare_shows_regressions(
    write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """
team: research
model: {factory: "agentorch.graphs.research:demo_model"}
cases:
  - {id: steady, goal: Write a brief, expect: {status: completed}}
  - {id: flips, goal: Write a brief, expect: {answer_contains: "EXPECTED"}}
"""
    suite = write("s.yaml", text.replace("EXPECTED", "Risks"))
    assert main(["eval", str(suite), "--out", str(tmp_path / "before")]) == 0
    write("s.yaml", text.replace("EXPECTED", "hydrogen"))
    code = main(
        [
            "eval",
            str(suite),
            "--out",
            str(tmp_path / "after"),
            "--compare",
            str(tmp_path / "before" / "results.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Regressions (1): s::flips" in out and "answer lacks ['hydrogen']" in out
    html = (tmp_path / "after" / "report.html").read_text()
    assert "Regressions (1)" in html and "s::flips" in html
    assert main(["eval", str(suite), "--out", str(tmp_path / "x"), "--compare", str(suite)]) == 2


def test_workers_spread_cases_over_processes_and_keep_case_order(tmp_path: Path) -> None:
    from agentorch.evals import run_suites

    from .conftest import SUITES

    files = sorted(SUITES.glob("*.yaml"))
    one = run_suites(files, workers=1, filters=["research-planning", "research-review"])
    two = run_suites(files, workers=2, filters=["research-planning", "research-review"])
    summary = [[(c.case, c.outcome, c.status, c.tokens, c.llm_calls, c.answer) for c in s.cases] for s in one]
    assert summary == [
        [(c.case, c.outcome, c.status, c.tokens, c.llm_calls, c.answer) for c in s.cases] for s in two
    ]
    assert sum(len(s.cases) for s in two) == sum(len(s.cases) for s in one) >= 16
    assert all(s.passed for s in two)


def test_workers_need_suites_from_files() -> None:
    from agentorch import ConfigError
    from agentorch.evals import run_suites

    suite = demo_suite(Case(id="c", goal="Write a brief", expect={"status": "completed"}))
    with pytest.raises(ConfigError, match="built in Python"):
        run_suites([suite], workers=2)
    with pytest.raises(ConfigError, match="`workers` must be"):
        run_suites([suite], workers=0)


def test_the_cli_runs_cases_on_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import SUITES

    code = main(["eval", str(SUITES), "-k", "research-planning", "--workers", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    suites = json.loads((tmp_path / "results.json").read_text())["suites"]
    cases = next(s for s in suites if s["name"] == "research-planning")["cases"]
    assert [c["case"] for c in cases] == [c.id for c in load_suite(SUITES / "research_planning.yaml").cases]


def test_cost_and_model_scorers_pin_that_easy_cases_stay_on_the_cheap_model() -> None:
    from agentorch.llms import cascade

    def team(llm: ScriptedChatModel, **options: object) -> Team:
        strong = ScriptedChatModel({"writer": ["A careful note."]}, model_name="gpt-4o")
        return Team([Agent(name="writer", role="Writes", llm=cascade(llm, strong))], llm=llm, **options)

    revise = {"decision": "revise", "revise": ["w"], "feedback": "Sloppy."}
    expect = {"status": "completed", "model_used": {"w": "scripted"}, "cost_at_most": 0.0008}
    suite = Suite(
        name="cheap",
        team=team,
        model=ModelSetup(script=WRITER_ONLY),
        team_options={"prices": {"scripted": [1.0, 1.0]}},
        cases=[
            Case(id="easy", goal="Write a note", expect=expect),
            Case(
                id="hard",
                goal="Write a note",
                expect=expect,
                script={"critic": [revise, {"decision": "accept"}]},
            ),
        ],
    )
    result = run_suite(suite)
    easy, hard = scores_of(result, "easy"), scores_of(result, "hard")
    assert easy["model_used"].passed and easy["cost_at_most"].passed
    assert 0 < easy["cost_at_most"].value <= 0.0008
    assert not hard["model_used"].passed and "'w': 'gpt-4o'" in hard["model_used"].detail
    assert not hard["cost_at_most"].passed and hard["cost_at_most"].value > 0.0008
    # a list of models: every attempt must have run on one of them
    only = Case(
        id="only",
        goal="Write a note",
        expect={"model_used": ["scripted"]},
        script={"critic": [revise, {"decision": "accept"}]},
    )
    detail = scores_of(run_suite(suite.model_copy(update={"cases": [only]})), "only")["model_used"].detail
    assert detail == "sub-tasks also ran on ['gpt-4o']; allowed ['scripted']"
