"""The terminal views as a user sees them: the live board's frames, plain lines, JSON lines."""

from __future__ import annotations

import io
import json
from typing import Any, cast

from rich.console import Console

from agentorch import Event, Final, SubTaskResult, Token
from agentorch._render.view import JsonView, LiveView, PlainView, usage_table
from agentorch.cli import main
from agentorch.graphs.research import build_team, demo_model


def _events() -> list[Event]:
    return list(build_team(demo_model()).stream("Brief me on batteries"))


def _frame(view: LiveView) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(view)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_live_board_shows_states_verdicts_cost_and_answer() -> None:
    events = _events()
    view = LiveView(Console(file=io.StringIO()), goal="Brief me", prices={"scripted-demo": (1.0, 2.0)})
    frames: dict[str, str] = {}
    for ev in events:
        view.board.apply(ev)
        frame = _frame(view)
        if ev["type"] == "subtask_started" and ev["subtask_id"] == "market":
            frames["parallel"] = frame
        if ev["type"] == "critic_verdict" and ev["verdict"].decision == "revise":
            frames["revise"] = frame
    final = _frame(view)
    assert "tech" in frames["parallel"] and frames["parallel"].count("running") == 2
    assert "waiting" in frames["parallel"] and "← tech, market" in frames["parallel"]
    revise = frames["revise"]
    assert "critic → revise analysis" in revise
    assert (
        next(line for line in revise.splitlines() if "analysis" in line and "[analyst]" in line).count(
            "revised"
        )
        == 1
    )
    assert "waiting" in next(line for line in revise.splitlines() if "[writer]" in line)  # brief re-runs too
    assert "round 2 · critic → accept" in final
    assert "2 attempts" in final and "answer · completed" in final and "Risks:" in final
    assert "$0.00" in final  # cost per sub-task and in the footer


def test_live_view_says_what_the_team_does_between_sub_tasks() -> None:
    view = LiveView(Console(file=io.StringIO()))
    assert "planner is planning" in _frame(view)
    events = _events()
    for ev in events:
        view.board.apply(ev)
        if ev["type"] == "subtask_finished" and ev["subtask_id"] == "brief":
            assert "critic is reviewing round 1" in _frame(view)
            break


def test_live_view_draws_on_a_terminal() -> None:
    out = io.StringIO()
    LiveView(Console(file=out, force_terminal=True, width=120)).consume(_events())
    assert "answer · completed" in out.getvalue() and "\x1b[" in out.getvalue()


def test_plain_and_json_views() -> None:
    events = _events()
    plain, js = io.StringIO(), io.StringIO()
    PlainView(plain).consume(events)
    JsonView(js).consume(events)
    lines = plain.getvalue().splitlines()
    assert (
        lines[0]
        == "plan_created round=1: tech[researcher]; market[researcher]; analysis[analyst]<-tech,market; brief[writer]<-analysis"
    )
    assert "started analysis [analyst] round=2 attempt=2 model=scripted-demo" in lines
    parsed: list[dict[str, Any]] = [json.loads(line) for line in js.getvalue().splitlines()]
    assert len(parsed) == len(events) and parsed[-1]["type"] == "final"
    finished = [e for e in parsed if e["type"] == "subtask_finished"]
    assert finished[0]["result"]["usage"]["total_tokens"] == finished[0]["tokens"] > 0


def test_usage_table_shows_roles_models_and_cost() -> None:
    result = build_team(demo_model()).run("Brief me")
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(usage_table(result, {"scripted-demo": (1.0, 2.0)}))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    cost = result.usage.cost({"scripted-demo": (1.0, 2.0)}).total
    assert f"cost: ${cost:.4f}" in text
    for role in (
        "planner",
        "researcher",
        "analyst",
        "writer",
        "critic",
        "synthesizer",
        "model scripted-demo",
    ):
        assert role in text


def test_demo_with_prices_prints_cost(capsys) -> None:
    assert main(["demo", "--plain", "--latency", "0", "--prices", '{"scripted-demo": [1, 2]}']) == 0
    assert "cost: $0.00" in capsys.readouterr().out
    assert main(["demo", "--plain", "--latency", "0", "--prices", "{not json"]) == 2


def _token(sid: str | None, agent: str | None, text: str, call: str = "m1") -> Token:
    role = agent or "synthesizer"
    return Token(type="token", role=role, agent=agent, subtask_id=sid, round=1, message_id=call, text=text)


def _finished(sid: str, agent: str) -> Event:
    result = SubTaskResult(
        subtask_id=sid, agent=agent, output="x", status="done", attempts=1, round=1, model="m"
    )
    return cast(
        Event,
        {
            "type": "subtask_finished",
            "subtask_id": sid,
            "agent": agent,
            "round": 1,
            "status": "done",
            "duration": 0.5,
            "tokens": 10,
            "model": "m",
            "result": result,
        },
    )


def test_plain_view_prints_one_writer_live_and_holds_the_others_until_it_is_done() -> None:
    events: list[Event] = [
        _token("a", "researcher", "Solid "),
        _token("b", "analyst", "Market "),  # a has the floor: held
        _token("a", "researcher", "state."),
        _finished("b", "analyst"),
        _token("a", "researcher", " More."),  # a's line goes on: b's finish waits for its end
        _finished("a", "researcher"),  # the floor passes to b, whose text is printed whole
        _token(None, None, "The "),
        _token(None, None, "answer."),
        Final(type="final", status="completed", answer="The answer."),
    ]
    out = io.StringIO()
    PlainView(out).consume(events)
    assert out.getvalue().splitlines() == [
        "a[researcher]: Solid state. More.",
        "finished b [analyst] done 0.50s 10 tokens model=m",
        "b[analyst]: Market ",
        "finished a [researcher] done 0.50s 10 tokens model=m",
        "synthesizer: The answer.",
        "final status=completed",  # the answer was just printed: not again
    ]


def test_plain_view_starts_a_new_line_for_a_new_call_of_the_same_writer() -> None:
    out = io.StringIO()
    PlainView(out).consume(
        [_token("a", "researcher", "Let me search.", "m1"), _token("a", "researcher", "Found.", "m2")]
    )
    assert out.getvalue().splitlines() == ["a[researcher]: Let me search.", "a[researcher]: Found."]


def test_live_board_shows_what_running_subtasks_write_and_the_answer_being_written() -> None:
    view = LiveView(Console(file=io.StringIO()))
    writing: dict[str, str] = {}
    for ev in build_team(demo_model()).stream("Brief me on batteries", tokens=True):
        view.board.apply(ev)
        if ev["type"] == "token" and ev["subtask_id"] == "analysis" and "analysis" not in writing:
            writing["analysis"] = _frame(view)
        if ev["type"] == "token" and ev["role"] == "synthesizer" and "answer" not in writing:
            writing["answer"] = _frame(view)
    analysis = writing["analysis"].splitlines()
    row = next(i for i, line in enumerate(analysis) if "[analyst]" in line)
    assert "running" in analysis[row] and analysis[row + 1].strip(" │└─").startswith("Opportunity:")
    assert (
        "answer · writing" in writing["answer"] and "synthesizer is writing the answer" in writing["answer"]
    )
    final = _frame(view)
    assert "answer · completed" in final and "answer · writing" not in final
