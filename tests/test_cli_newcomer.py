"""A newcomer's path through the command: their own team from a file (with its own models, or
on the environment's), their own mistakes (errors that name the real cause, next steps that
work when pasted), and the smaller things they see (`-v` anywhere, `runs` at 80 columns, text
streamed whole in plain mode)."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentorch._render.view import PlainView
from agentorch.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WAITING, build_parser, main

MODEL_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTORCH_MODEL")

# a team file as a user writes one: its own scripted model, a plan kept in a module beside it
TEAM_FILE = """
from agentorch import Agent, Team
from agentorch.llms import ScriptedChatModel
from {plans} import PLAN, TYPO_PLAN

def _model(plan, verdict="accept"):
    return ScriptedChatModel(
        {{"planner": [plan], "writer": ["Day 1: Lisbon."], "critic": [{{"decision": verdict}}],
         "synthesizer": ["Trip: Day 1: Lisbon."]}},
        model_name="house-model",
    )

def _agents():
    return [Agent(name="writer", role="Writes itineraries")]

team = Team(agents=_agents(), llm=_model(PLAN), name="trip")
typo = Team(agents=_agents(), llm=_model(TYPO_PLAN), name="trip")
bad_verdict = Team(agents=_agents(), llm=_model(PLAN, verdict="acept"), name="trip")

def make_team():
    return Team(agents=_agents(), llm=_model(PLAN), name="trip")

def on_my_writer(llm):
    # the team brings its planner, critic and synthesizer; the writer takes the given model
    own = _model(PLAN)
    return Team(agents=[Agent(name="writer", role="Writes", llm=llm)], llm=own, name="trip")
"""

PLANS = """
PLAN = {"subtasks": [{"id": "day1", "description": "Plan day 1", "agent": "writer"}]}
TYPO_PLAN = {"subtasks": [{"id": "day1", "description": "Plan day 1", "agent": "writter"}]}
"""


@pytest.fixture
def team_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A team file in its own folder, importing a module beside it; the command runs from
    another folder, with no model in the environment."""
    folder = tmp_path / "trip"
    folder.mkdir()
    plans = f"trip_plans_{os.getpid()}_{abs(hash(tmp_path)) % 10**6}"  # one module name per test
    (folder / f"{plans}.py").write_text(PLANS)
    (folder / "my_team.py").write_text(TEAM_FILE.format(plans=plans))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for var in MODEL_VARS:
        monkeypatch.delenv(var, raising=False)
    return str(folder / "my_team.py")


@pytest.mark.parametrize(
    "env",
    [{}, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "AGENTORCH_MODEL": "qwen2.5"}],
    ids=["no model in the environment", "a local server in the environment"],
)
def test_a_team_that_brings_its_models_runs_with_them_and_says_so(
    team_file: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["run", "Plan a day in Lisbon", "--team", team_file, "--plain"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "synthesizer: Trip: Day 1: Lisbon.\nfinal status=completed" in out
    assert "models: house-model (team) for planner, writer, critic, synthesizer" in err


@pytest.mark.parametrize("attr", ["make_team", "team"])
def test_a_team_is_named_by_a_team_or_a_function_returning_one(
    team_file: str, attr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "Plan a day", "--team", f"{team_file}:{attr}", "--plain"]) == EXIT_OK
    assert "final status=completed" in capsys.readouterr().out


def test_a_team_function_taking_a_model_gets_the_environments_for_the_roles_without_one(
    team_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = f"{team_file}:on_my_writer"
    assert main(["run", "Plan a day", "--team", ref, "--plain"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"The team `{ref}` takes its model from the environment, and none is configured" in err
    assert "OPENAI_API_KEY" in err and "OPENAI_BASE_URL" in err
    assert "agentorch run needs" not in err

    # the research demo's model answers any writer: "scripted" fills the writer's role only
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    assert main(["run", "Plan a day", "--team", ref, "--plain"]) == EXIT_OK
    err = capsys.readouterr().err
    assert (
        "models: house-model (team) for planner, critic, synthesizer; scripted-demo (environment) for writer"
        in err
    )


def test_the_default_team_says_it_runs_on_the_environments_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTORCH_MODEL", "scripted")
    assert main(["run", "Brief me", "--plain"]) == EXIT_OK
    err = capsys.readouterr().err
    assert (
        "models: scripted-demo (environment) for planner, researcher, analyst, writer, critic, synthesizer"
        in err
    )


def test_a_name_that_is_not_a_team_says_what_a_team_reference_is(
    team_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "x", "--team", f"{team_file}:PLAN"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is a dict; a team reference names" in err and "build_team(llm) -> Team" in err
    assert main(["run", "x", "--team", "agentorch.graphs.nothing_here"]) == EXIT_USAGE
    assert "cannot import module `agentorch.graphs.nothing_here`" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-v", "demo"], ["demo", "-v"], ["runs", "--checkpoints", "x", "-v"]])
def test_verbose_goes_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.verbose + args.verbose_after == 1
    args = build_parser().parse_args([*argv, "-v"])
    assert args.verbose + args.verbose_after == 2


# -- errors that name the real cause ------------------------------------------------------------


def test_a_typo_in_a_scripted_plan_names_the_unknown_agent_and_suggests_no_resume(
    team_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.sqlite"
    code = main(["run", "Plan", "--team", f"{team_file}:typo", "--plain", "--checkpoints", str(db)])
    assert code == EXIT_FAILED
    out, err = capsys.readouterr()
    text = out + err
    assert "Sub-task `day1` is assigned to unknown agent `writter`; choose one of: writer." in text
    assert "asking `planner` to repair it failed: ScriptedChatModel ran out of responses" in text
    assert "team.resume" not in text and "agentorch resume" not in text
    assert text.count("Run failed:") == 1


def test_a_misspelt_critic_verdict_names_the_field_and_the_value(
    team_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "Plan", "--team", f"{team_file}:bad_verdict", "--plain"]) == EXIT_FAILED
    text = "".join(capsys.readouterr())
    assert "`decision`: Input should be 'accept', 'revise' or 'replan' (got 'acept')" in text
    assert "errors.pydantic.dev" not in text and "team.resume" not in text


FLAKY_TEAM = """
import os
from agentorch import Agent, Team
from agentorch.llms import ScriptedChatModel

def writer(messages):
    if not os.path.exists(os.environ["FIXED_MARKER"]):
        raise RuntimeError("the writing service is down")
    return "Day 1: Lisbon."

team = Team(
    agents=[Agent(name="writer", role="Writes")],
    llm=ScriptedChatModel({
        "planner": [{"subtasks": [{"id": "d", "description": "Plan a day", "agent": "writer"}]}],
        "writer": writer, "critic": [{"decision": "accept"}], "synthesizer": ["Trip: Day 1: Lisbon."],
    }),
    name="trip",
)
"""


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MODEL_VARS}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `agentorch`
    return {**env, "COLUMNS": "200", **extra}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_failed_run_prints_its_error_once_and_the_resume_line_works_when_pasted(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(FLAKY_TEAM)
    marker = tmp_path / "fixed"
    env = _cli_env(FIXED_MARKER=str(marker))
    run = ["agentorch", "run", "Plan", "--team", "flaky.py", "--checkpoints", "runs.sqlite", "--plain"]
    first = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == EXIT_FAILED, first.stderr
    assert "WARNING" not in first.stderr  # said once, by the command
    assert (first.stdout + first.stderr).count("the writing service is down") == 1
    assert "team.resume" not in first.stdout + first.stderr
    line = re.search(r"continue with: (.+)$", first.stderr, re.M).group(1)  # type: ignore[union-attr]
    marker.touch()  # the cause is fixed
    second = subprocess.run(
        line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == EXIT_OK, second.stderr
    assert "synthesizer: Trip: Day 1: Lisbon.\nfinal status=completed" in second.stdout


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_printed_resume_commands_carry_the_model_setting_the_run_needed(tmp_path: Path) -> None:
    # the default team runs on the environment's model, given on the command line only
    run = "AGENTORCH_MODEL=scripted agentorch run 'Brief me' --approve-plan --checkpoints runs.sqlite --no-input"
    env = _cli_env()
    first = subprocess.run(run, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == EXIT_WAITING, first.stderr
    approve = next(ln.strip() for ln in first.stderr.splitlines() if ln.strip().endswith("--approve"))
    assert approve.startswith("AGENTORCH_MODEL=scripted agentorch resume ")
    # the --edit line holds the plan as it stands: pasted as is, it runs that plan
    edit = next(ln.strip() for ln in first.stderr.splitlines() if " --edit " in ln)
    assert edit.startswith("AGENTORCH_MODEL=scripted agentorch resume ") and '"subtasks"' in edit
    second = subprocess.run(
        edit, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == EXIT_OK, second.stderr
    assert "final status=completed" in second.stdout


@pytest.mark.slow
def test_the_library_prints_nothing_when_a_run_fails(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(FLAKY_TEAM)
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, ".")
        from agentorch import RunFailed
        from flaky import team
        try:
            team.run("Plan", thread_id="job-1")
        except RunFailed as e:
            print("caught:", e.result.status)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_cli_env(FIXED_MARKER=str(tmp_path / "never")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "caught: failed\n" and done.stderr == ""


# -- smaller things -----------------------------------------------------------------------------


def test_runs_fits_80_columns_with_whole_thread_ids(
    team_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.sqlite"
    long_goal = "Plan three days in Lisbon with museums, food markets and a day trip to Sintra by train"
    tids = []
    for goal in ("Short", long_goal):
        assert main(["run", goal, "--team", team_file, "--checkpoints", str(db), "--plain"]) == EXIT_OK
        tids.append(re.search(r"thread (\w+)", capsys.readouterr().err).group(1))  # type: ignore[union-attr]
    for columns in ("80", "100"):
        monkeypatch.setenv("COLUMNS", columns)
        assert main(["runs", "--checkpoints", str(db)]) == EXIT_OK
        title, *lines = capsys.readouterr().out.splitlines()
        assert title == f"2 runs in {db}"
        assert max(map(len, lines)) <= int(columns), lines
        for tid in tids:
            assert any(re.match(rf"{tid}  completed  +1  ", ln) for ln in lines), lines
        assert any("Plan three days in Lisbon" in ln and ln.endswith("…") for ln in lines), lines


def _token(sid: str, text: str) -> dict[str, object]:
    return {
        "type": "token",
        "role": "writer",
        "agent": "writer",
        "subtask_id": sid,
        "message_id": f"m-{sid}",
        "text": text,
    }


def test_plain_mode_keeps_an_event_line_out_of_a_streamed_sentence() -> None:
    out = io.StringIO()
    started_b = {
        "type": "subtask_started",
        "subtask_id": "b",
        "agent": "writer",
        "round": 1,
        "attempt": 1,
        "model": "m",
    }
    PlainView(out).consume(
        [
            _token("a", "Solid-state cells "),
            started_b,  # another sub-task starts mid-sentence
            _token("a", "store more energy.\nThey cost "),
            _token("a", "more."),
        ]  # type: ignore[list-item]
    )
    assert out.getvalue() == (
        "a[writer]: Solid-state cells store more energy.\n"
        "started b [writer] round=1 attempt=1 model=m\n"
        "a[writer]: They cost more."
    )


def test_run_json_output_is_unchanged_by_the_models_line(
    team_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "Plan", "--team", team_file, "--json"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert [json.loads(ln)["type"] for ln in out.splitlines()][-1] == "final"  # stdout: events only
    assert "models: house-model (team)" in err


def test_shlex_quotes_paths_in_printed_commands(
    team_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "my runs.sqlite"
    assert (
        main(["run", "Plan", "--team", team_file, "--checkpoints", str(db), "--thread-id", "t1"]) == EXIT_OK
    )
    capsys.readouterr()
    assert (
        main(["run", "Plan", "--team", team_file, "--checkpoints", str(db), "--thread-id", "t1"])
        == EXIT_USAGE
    )
    assert f"agentorch resume t1 --checkpoints {shlex.quote(str(db))}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "ref", ["../trip/my_team.py", "../trip/my_team.py:make_team", "../trip/my_team.py:on_my_writer"]
)
def test_an_eval_suite_names_a_team_the_same_way(team_file: str, tmp_path: Path, ref: str) -> None:
    from agentorch.evals import load_suite, run_suite

    suite_dir = tmp_path / "suites"
    suite_dir.mkdir()
    (suite_dir / "trip.yaml").write_text(
        textwrap.dedent(
            f"""
            team: {ref}
            model:
              script:
                planner: [{{subtasks: [{{id: day1, description: Plan day 1, agent: writer}}]}}]
                writer: [Day 1 in Lisbon]
                critic: [{{decision: accept}}]
                synthesizer: [Trip ready]
            cases:
              - id: one-day
                goal: Plan a day in Lisbon
                expect: {{status: completed, routed_to: {{day1: writer}}}}
            """
        )
    )
    result = run_suite(load_suite(suite_dir / "trip.yaml"))
    assert result.passed, result.cases[0].scores


def test_demo_prices_show_a_cost_per_role_and_nothing_priced_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentorch import RunResult

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    prices = '{"scripted-demo": [1.0, 2.0]}'
    assert main(["demo", "--plain", "--latency", "0", "--prices", prices, "--save", "run.json"]) == EXIT_OK
    out = capsys.readouterr().out
    rows = {
        ln.split("│")[1].strip(): ln.split("│")[-2].strip() for ln in out.splitlines() if ln.count("│") >= 7
    }
    for role in ("planner", "researcher", "analyst", "writer", "critic", "synthesizer", "total"):
        assert rows[role].startswith("$0.0"), rows
    usage = RunResult.load("run.json").usage
    assert usage.cost().unpriced == ["scripted-demo"]  # the demo's team prices nothing
    assert usage.cost({"scripted-demo": (1.0, 2.0)}).by_role["planner"] > 0
