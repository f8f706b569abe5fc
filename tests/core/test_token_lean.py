"""Token-lean runs (issue 27): the critic's accept carries the answer, later rounds review what
changed, revision prompts without the whole draft, lean specialist prompts, cached tokens priced
at the cached rate — each through the public API on scripted models."""

from __future__ import annotations

from typing import Any

from agentorch import Agent, Budget, Team, tool
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

LONG = "The supplier quoted 3.50 EUR per unit, delivery in four weeks, audit passed. " * 8
TWO = plan(st("a", "writer"), st("b", "writer"))


def answered(text: str) -> dict[str, Any]:
    return {"decision": "accept", "feedback": "", "answer": text}


def writers(llm: Any, **kwargs: Any) -> Team:
    return Team(agents=[Agent(name="writer", role="Writes notes")], llm=llm, **kwargs)


def test_the_critics_accept_carries_the_answer_and_no_synthesizer_is_called() -> None:
    llm = ScriptedChatModel(
        {"planner": [TWO], "writer": ["note a", "note b"], "critic": [answered("Both notes.")]}
    )
    result = writers(llm).run("Write two notes")
    assert result.status == "completed" and result.answer == "Both notes."
    assert [s.role for s in result.steps] == ["planner", "critic"]
    assert llm.calls_for("synthesizer") == []
    # the critic was asked for the answer, and read each result once
    system = llm.calls_for("critic")[0].messages[0].text
    assert "write the final answer" in system
    llm.assert_complete()


def test_a_separate_synthesizer_writes_the_answer_when_the_team_asks_for_one() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [TWO],
            "writer": ["note a", "note b"],
            "critic": [answered("ignored")],
            "synthesizer": ["Written by the synthesizer."],
        }
    )
    result = writers(llm, synthesizer=True).run("Write two notes")
    assert result.answer == "Written by the synthesizer."
    assert [s.role for s in result.steps] == ["planner", "critic", "synthesizer"]
    assert "write the final answer" not in llm.calls_for("critic")[0].messages[0].text


def test_a_configured_synthesizer_model_is_used_by_default() -> None:
    writer = ScriptedChatModel({"synthesizer": ["From the writer model."]}, model_name="writer-model")
    llm = ScriptedChatModel({"planner": [TWO], "writer": ["x", "y"], "critic": [answered("ignored")]})
    team = writers(llm, llms={"synthesizer": writer})
    assert team.synthesizer is True
    assert team.run("Write two notes").answer == "From the writer model."


def test_an_accept_without_an_answer_is_written_by_the_synthesizer() -> None:
    # scripts written before the critic answered keep working: same calls, same answer
    llm = ScriptedChatModel(
        {"planner": [TWO], "writer": ["x", "y"], "critic": [ACCEPT], "synthesizer": ["Synthesized."]}
    )
    result = writers(llm).run("Write two notes")
    assert result.answer == "Synthesized." and len(llm.calls_for("synthesizer")) == 1


def test_later_rounds_show_kept_results_by_digest_to_a_judging_critic() -> None:
    revise_b = {"decision": "revise", "feedback": "add the audit date", "revise": ["b"]}
    llm = ScriptedChatModel(
        {
            "planner": [TWO],
            "writer:a": [LONG],
            "writer:b": [LONG + "first", "b, with the audit date"],
            "critic": [revise_b, ACCEPT],
            "synthesizer": ["done"],
        }
    )
    result = writers(llm, synthesizer=True).run("Write two notes")
    assert result.status == "completed" and result.rounds == 2
    first, second = (c.messages[-1].text for c in llm.calls_for("critic"))
    assert first.count(LONG.strip()) == 2  # round 1: everything in full
    assert LONG.strip() not in second and "more characters]" in second  # a kept by digest
    assert '<data source="subtask:a" agent="writer" kept="1">' in second
    assert "b, with the audit date" in second  # the revision in full
    # the synthesizer still reads every result in full
    assert LONG.strip() in llm.calls_for("synthesizer")[0].messages[-1].text
    # the revision prompt: the feedback and the opening of the rejected draft, not all of it
    redo = llm.calls_for("writer")[-1].messages[-1].text
    assert "add the audit date" in redo and "more characters]" in redo and LONG.strip() not in redo


def test_an_answering_critic_sees_every_result_in_full_in_every_round() -> None:
    revise_b = {"decision": "revise", "feedback": "shorter", "revise": ["b"]}
    llm = ScriptedChatModel(
        {
            "planner": [TWO],
            "writer:a": [LONG],
            "writer:b": ["long b", "short b"],
            "critic": [revise_b, answered("a and b")],
        }
    )
    result = writers(llm).run("Write two notes")
    assert result.answer == "a and b" and result.rounds == 2
    assert LONG.strip() in llm.calls_for("critic")[1].messages[-1].text


def test_a_specialist_without_tools_is_not_told_about_tools() -> None:
    @tool
    def lookup(q: str) -> str:
        """Look something up."""
        return "found"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"), st("b", "finder"))],
            "writer": ["x"],
            "finder": ["y"],
            "critic": [answered("ok")],
        }
    )
    team = Team(
        agents=[Agent(name="writer", role="Writes"), Agent(name="finder", role="Finds", tools=[lookup])],
        llm=llm,
    )
    team.run("goal")
    assert "Use your tools" not in llm.calls_for("writer")[0].messages[0].text
    assert "Use your tools" in llm.calls_for("finder")[0].messages[0].text


def test_cached_prompt_tokens_are_counted_and_priced_at_the_cached_rate() -> None:
    # round 2's critic prompt repeats round 1's up to the revised result: system prompt, goal
    # and the kept result `a` come first, the volatile round line last
    revise_b = {"decision": "revise", "feedback": "shorter", "revise": ["b"]}
    script = {
        "planner": [TWO],
        "writer:a": [LONG * 2],
        "writer:b": ["long b", "short b"],
        "critic": [revise_b, answered("ok")],
    }
    llm = ScriptedChatModel(script, prompt_cache=128, model_name="m")
    result = writers(llm, prices={"m": (2.0, 8.0, 0.5)}).run("Write two notes")
    second = llm.calls_for("critic")[1].response
    assert second is not None and second.usage_metadata is not None
    cached = second.usage_metadata["input_token_details"]["cache_read"]
    assert cached >= 256 and cached % 128 == 0
    u = result.usage.total
    assert u.cached_input_tokens == cached == result.usage.by_role["critic"].cached_input_tokens
    fresh = u.input_tokens - u.cached_input_tokens
    expected = (fresh * 2.0 + u.cached_input_tokens * 0.5 + u.output_tokens * 8.0) / 1e6
    assert abs(result.usage.cost().total - expected) < 1e-12
    # re-priced without a cached rate, the same tokens cost more
    assert result.usage.cost({"m": (2.0, 8.0)}).total > result.usage.cost().total


# -- the cost quote -----------------------------------------------------------------------------

BIG = plan(*(st(f"s{i}", "writer") for i in range(6)))
SMALL = plan(st("s0", "writer"))


def quoting_team(llm: Any, **kwargs: Any) -> Team:
    return writers(llm, prices={"m": (1.0, 4.0)}, **kwargs)


def test_the_quote_is_shown_at_plan_approval_and_reported_beside_the_actual() -> None:
    llm = ScriptedChatModel(
        {"planner": lambda m: TWO, "writer": lambda m: "a note " * 60, "critic": lambda m: answered("ok")},
        model_name="m",
    )
    team = quoting_team(llm, approve_plan=True)
    paused = team.run("Write two notes", thread_id="t1")
    (pending,) = paused.interrupts
    quote = pending.payload["quote"]
    assert quote["calls"] == 4 and quote["cost"] > 0 and quote["measured"] is False
    result = team.resume("t1", approve=True)
    assert result.quote is not None and result.quote.calls == result.usage.total.calls == 4
    # the next run of the team is quoted from what this one measured: close to its actual
    team.run("Write two notes again", thread_id="t2")
    second = team.resume("t2", approve=True)
    assert second.quote is not None and second.quote.measured
    actual = second.usage.total
    assert abs(second.quote.total_tokens / actual.total_tokens - 1) < 0.25
    assert abs(second.quote.cost / second.usage.cost().total - 1) < 0.25


def test_a_money_budget_refuses_a_plan_quoted_over_it_and_asks_once_for_a_cheaper_one() -> None:
    llm = ScriptedChatModel(
        {"planner": [BIG, SMALL], "writer": ["done"], "critic": [answered("ok")]}, model_name="m"
    )
    # a sub-task is quoted at ~0.0013 (300 output tokens by default), the critic's review with
    # its answer at ~0.0019: six sub-tasks do not fit 0.006, one does
    result = quoting_team(llm, budget=Budget(max_cost=0.006)).run("Write notes")
    assert result.status == "completed" and list(result.results) == ["s0"]
    asked = llm.calls_for("planner")[1].messages[-1].text
    assert "quote for the work left" in asked and "max_cost=0.006" in asked and "cheaper plan" in asked
    assert result.quote is not None and result.quote.calls == 4  # two planner calls, s0, the critic


def test_a_plan_still_quoted_over_the_budget_ends_the_run_before_any_work() -> None:
    llm = ScriptedChatModel({"planner": [BIG, BIG]}, model_name="m")
    result = quoting_team(llm, budget=Budget(max_cost=0.006)).run("Write notes")
    assert result.status == "budget_exhausted" and result.results == {}
    assert "quote for the work left" in result.error and "cheaper plan was quoted too" in result.error
    assert llm.calls_for("writer") == [] and len(llm.calls_for("planner")) == 2


def test_an_edited_plan_is_quoted_again() -> None:
    llm = ScriptedChatModel(
        {"planner": [BIG], "writer": lambda m: "done", "critic": [answered("ok")]}, model_name="m"
    )
    team = quoting_team(llm, approve_plan=True)
    paused = team.run("Write notes", thread_id="t")
    shown = paused.interrupts[0].payload["quote"]
    result = team.resume("t", approve=SMALL)
    assert result.quote is not None and list(result.results) == ["s0"]
    # the quote is the plan that ran: one sub-task and the critic after the planner, not six
    assert result.quote.calls == 3 < shown["calls"] == 8
