"""Suite files: the shipped suites pass, the schema matches, and bad files fail clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from agentorch import ConfigError
from agentorch.cli import main
from agentorch.evals import SuiteError, load_suite, load_suites
from agentorch.evals._schema import SCHEMA_PATH, suite_schema

from .conftest import SUITES

GOOD = """
team: research
model: {factory: "agentorch.graphs.research:demo_model"}
cases:
  - id: ok
    goal: Write a brief
    expect: {status: completed}
"""


def test_shipped_suites_pass_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", str(SUITES), "--out", str(tmp_path), "--concurrency", "8"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["summary"]["cases"] >= 25 and data["summary"]["failed"] == data["summary"]["error"] == 0
    assert {s["name"] for s in data["suites"]} >= {
        "research-planning",
        "research-review",
        "research-failures",
        "research-approvals-memory",
    }
    report = (tmp_path / "report.html").read_text()
    assert "demo-brief" in report and not re.search(r"<script|<link|https?://", report)
    assert "research-planning: 9/9 passed" in out


def test_shipped_suites_cover_the_required_behaviours() -> None:
    cases = [c for s in load_suites([SUITES]) for c in s.cases]
    used = {name for c in cases for name, v in c.expect if v is not None}
    assert len(cases) >= 25
    assert used >= {
        "plan_valid",
        "routed_to",
        "max_parallel",
        "rounds_at_most",
        "status",
        "answer_contains",
        "answer_matches",
        "tokens_at_most",
        "llm_calls_at_most",
        "tool_called",
        "tool_not_called",
        "approval_required",
        "memory_recalled",
        "judge",
    }
    statuses = {c.expect.status for c in cases if isinstance(c.expect.status, str)}
    assert statuses >= {"completed", "max_rounds", "budget_exhausted", "failed", "interrupted", "rejected"}


def test_schema_file_is_generated_from_the_spec_and_accepts_shipped_suites() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == suite_schema(), "run python -m agentorch.evals._schema"
    validator = jsonschema.Draft202012Validator(suite_schema())
    for path in SUITES.glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text()))
    bad = yaml.safe_load(GOOD.replace("status: completed", "status: done"))
    assert not validator.is_valid(bad)


@pytest.mark.parametrize(
    ("edit", "case", "field", "says"),
    [
        (("status: completed", "status: complete"), "ok", "expect.status", "'complete'"),
        (("expect:", "expct:"), "ok", "expct", "unknown field"),
        (
            ("expect: {status: completed}", "expect: {max_parallel: two}"),
            "ok",
            "expect.max_parallel",
            "'two'",
        ),
        (
            ("expect: {status: completed}", "expect: {answer_matches: '(unclosed'}"),
            "ok",
            "expect.answer_matches",
            "regular expression",
        ),
        (("    goal: Write a brief\n", ""), "ok", "goal", "required"),
        (("id: ok", "id: 'bad id!'"), "bad id!", "id", "pattern"),
        (
            ("agentorch.graphs.research:demo_model", "agentorch.graphs.research:no_such"),
            "",
            "model.factory",
            "no attribute",
        ),
        (("team: research", "team: nosuch.module:team"), "", "team", "cannot import"),
        (
            ("expect: {status: completed}", "expect: {status: completed}\n    scripts: {}"),
            "ok",
            "scripts",
            "unknown field",
        ),
        (
            ("expect: {status: completed}", "expect: {}\n    script: {researcher: [{raise: NoSuchError}]}"),
            "ok",
            "script.researcher[0].raise",
            "not an exception",
        ),
        (
            (
                "expect: {status: completed}",
                "expect: {}\n    scorers: ['agentorch.graphs.research:DEMO_GOAL']",
            ),
            "ok",
            "scorers[0]",
            "not a function",
        ),
        (
            ("expect: {status: completed}", "expect: {}\n    script: {researcher: [5]}"),
            "ok",
            "script.researcher[0]",
            "a response must be text, a mapping",
        ),
        (
            (
                "expect: {status: completed}",
                "expect: {}\n    script: {researcher: [{tool_calls: [{args: {}}]}]}",
            ),
            "ok",
            "script.researcher[0].tool_calls[0].name",
            "required",
        ),
        (
            ("expect: {status: completed}", "expect: {}\n    script: {critic: {call: 'nope:accept'}}"),
            "ok",
            "script.critic.call",
            "cannot import module `nope`",
        ),
        (
            ("expect: {status: completed}", "expect: {}\n    script: {critic: accept}"),
            "ok",
            "script.critic",
            "a list of responses or {call: module:attr}",
        ),
        (
            (
                "expect: {status: completed}",
                "expect: {}\n    team_options: {search_tool: {ref: 'nope.mod:x'}}",
            ),
            "ok",
            "team_options.search_tool",
            "`ref`: cannot import module `nope.mod`",
        ),
        (
            ('{factory: "agentorch.graphs.research:demo_model"}', "{cassette: run.jsonl}"),
            "",
            "model.cassette",
            "run.jsonl` does not exist",
        ),
        (
            ("agentorch.graphs.research:demo_model", "agentorch.graphs.research:DEMO_GOAL"),
            "",
            "model.factory",
            "not a function returning a chat model",
        ),
        (
            ("team: research", "team: agentorch.graphs.research:DEMO_GOAL"),
            "",
            "team",
            "`agentorch.graphs.research:DEMO_GOAL` is a str; a team reference names",
        ),
    ],
)
def test_errors_name_the_file_the_case_and_the_field(
    write, edit: tuple[str, str], case: str, field: str, says: str
) -> None:
    path = write("suite.yaml", GOOD.replace(*edit))
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    err = caught.value
    assert isinstance(err, ConfigError)
    assert (err.file, err.case, err.field) == (str(path), case, field), str(err)
    assert says in str(err) and str(path) in str(err)


def test_duplicate_case_ids_are_an_error(write) -> None:
    text = GOOD + "  - id: ok\n    goal: Again\n"
    with pytest.raises(SuiteError, match="used twice"):
        load_suite(write("dup.yaml", text))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (GOOD[: GOOD.index("cases:") + 20].encode(), "`goal`: this field is required"),  # cut mid-case
        (b'team: research\ncases: [ {id: a, goal: "unterminated', "truncated"),
        ("team: research\ncases: []\n# caf\u00e9".encode("latin-1"), "not UTF-8"),
        (b"- just\n- a list\n", "must be a mapping"),
        (b"", "must be a mapping"),
    ],
)
def test_unreadable_files_name_the_file(write, content: bytes, says: str) -> None:
    path = write("broken.yaml", content)
    with pytest.raises(SuiteError, match=says) as caught:
        load_suite(path)
    assert caught.value.file == str(path)


def test_cli_reports_a_bad_suite_with_exit_code_2(
    write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write("bad.yaml", GOOD.replace("status: completed", "status: complete"))
    assert main(["eval", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "case `ok`" in err and "expect.status" in err
    assert main(["eval", str(tmp_path / "missing.yaml")]) == 2
