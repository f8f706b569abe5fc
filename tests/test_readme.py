"""The README's quick start runs as written, and its two set-up lines are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_quick_start_runs_and_prints_the_answer(capsys) -> None:
    quick_start = _python_blocks()[0]
    assert len(quick_start.strip().splitlines()) <= 32
    exec(compile(quick_start, "README-quick-start", "exec"), {})
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("completed 1 ")
    assert "Brief: solid-state batteries are safer" in out


def test_ci_runs_the_readme_test_command() -> None:
    setup = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    lines = [line for line in setup.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].endswith("agentorch demo")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci


def test_the_cascades_example_runs_and_escalates_what_the_critic_sent_back(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Cascades and costs") : text.index("## Scaling out")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    exec(compile(example, "README-cascades", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["risks 1 gpt-4o", "summary 1 gpt-4o-mini (sent back)", "summary 2 gpt-4o"]
    status, cost, *_ = lines[3].split()
    assert status == "completed" and float(cost.lstrip("$")) > 0
    assert "['gpt-4o', 'gpt-4o-mini']" in lines[3] and "'lawyer'" in lines[3]


def test_the_typed_outputs_example_runs_and_repairs_the_answer(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Typed agent outputs") : text.index("### How a run flows")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    scope: dict[str, object] = {}
    exec(compile(example, "README-typed-outputs", "exec"), scope)
    assert capsys.readouterr().out.strip() == "{'supplier': 'Acme', 'price': 3.5}"
    result = scope["result"]
    assert result.status == "completed"  # type: ignore[attr-defined]
    assert len(scope["llm"].calls_for("pricer")) == 2  # type: ignore[attr-defined]  # one repair
    assert '"price": 3.5' in scope["llm"].calls_for("writer")[0].messages[-1].content  # type: ignore[attr-defined]


def test_the_token_streaming_example_prints_the_text_as_it_is_written(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Streaming events") : text.index("### Checkpoints, failures and resume")]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[1]
    exec(compile(example, "README-tokens", "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "Solid-state cells are safer; first cars in 2027.  <- brief done",
        "Brief: safer cells, first cars in 2027.",
        "[completed]",
    ]


def _section(start: str, end: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text[text.index(start) : text.index(end)], re.S)


def test_the_people_in_the_loop_example_answers_one_call_and_denies_the_rest(capsys) -> None:
    from langchain_core.messages import AIMessage

    from agentorch import Agent, ConfigError, Team, tool
    from agentorch.llms import ScriptedChatModel

    sent: list[str] = []

    @tool(requires_approval=True)
    def send(to: str) -> str:
        """Send a message."""
        sent.append(to)
        return "sent"

    def ask(to: str) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": "send", "args": {"to": to}, "id": to}])

    llm = ScriptedChatModel(
        {
            "planner": [
                {
                    "subtasks": [
                        {"id": "a", "description": "A", "agent": "p"},
                        {"id": "b", "description": "B", "agent": "q"},
                    ]
                }
            ],
            "p": [ask("ann"), "p done"],
            "q": [ask("bob"), "q done"],
            "critic": [{"decision": "accept"}],
            "synthesizer": ["ok"],
        }
    )
    team = Team(
        agents=[Agent(name="p", role="P", tools=[send]), Agent(name="q", role="Q", tools=[send])], llm=llm
    )
    scope = {"team": team, "ConfigError": ConfigError}
    exec(
        compile(_section("### People in the loop", "### Side effects")[1], "README-approvals", "exec"), scope
    )
    assert "waits for 2 approvals" in capsys.readouterr().out
    first = scope["paused"].interrupts[0].payload["args"]["to"]
    assert sent == [first] and scope["done"].status == "completed"
    records = [r.tool_calls[0] for r in scope["done"].results.values()]
    assert sorted((c.args["to"], c.outcome, c.approved_by) for c in records) == sorted(
        [(first, "ok", "alice"), ({"ann": "bob", "bob": "ann"}[first], "denied", "")]
    )


def test_the_idempotency_key_example_makes_a_repeat_harmless() -> None:
    from langchain_core.messages import AIMessage

    from agentorch import Agent, Team
    from agentorch.llms import ScriptedChatModel

    scope: dict = {}
    exec(
        compile(
            _section("### Side effects exactly once", "### The compiled graph")[0], "README-effects", "exec"
        ),
        scope,
    )
    pay, payments = scope["pay"], scope["PAYMENTS"]
    turn = AIMessage(
        "", tool_calls=[{"name": "pay", "args": {"invoice": "inv-7", "amount": 120.0}, "id": "p"}]
    )
    llm = ScriptedChatModel(
        {
            "planner": [{"subtasks": [{"id": "rent", "description": "Pay", "agent": "payer"}]}],
            "payer": [turn, "paid"],
            "critic": [{"decision": "accept"}],
            "synthesizer": ["ok"],
        }
    )
    result = Team(agents=[Agent(name="payer", role="Pays", tools=[pay])], llm=llm).run(
        "pay", thread_id="rent-1"
    )
    record = result.results["rent"].tool_calls[0]
    assert list(payments) == [record.key] and record.output.startswith(payments[record.key])
    # a second execution with the same key (what "rerun" does after a crash) pays nothing new
    from agentorch._engine.effects import _KEY

    token = _KEY.set(record.key)
    try:
        assert pay.invoke({"invoice": "inv-7", "amount": 120.0}).startswith(payments[record.key])
    finally:
        _KEY.reset(token)
    assert len(payments) == 1


def test_the_cached_tokens_example_prices_cached_input_at_the_cached_rate() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Cached input tokens.**") : text.index("## Scaling out")]
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(example, "README-cached-tokens", "exec"), {})
