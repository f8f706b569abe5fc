"""Small rules a user relies on without seeing them: which failures are retried, how an
approval answer is read, where a model's name comes from. Mutation testing found them untested."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import InjectedToolArg
from langgraph.types import RetryPolicy

from agentorch import Agent, AgentorchError, ConfigError, RunFailed, Team, tool
from agentorch._engine.approvals import read_answer as _read_decision
from agentorch._engine.context import model_name_of
from agentorch._team import retryable
from agentorch.llms import ScriptedChatModel
from agentorch.memory import ChromaMemory, HashEmbeddings
from tests.helpers import ACCEPT, plan, st


class HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_http_statuses_are_retried(status: int) -> None:
    assert retryable(HTTPError(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    assert not retryable(HTTPError(status))


@pytest.mark.parametrize(
    "exc", [TimeoutError("t"), ConnectionError("c"), json.JSONDecodeError("bad", "x", 0)]
)
def test_timeouts_connection_errors_and_broken_json_are_retried(exc: Exception) -> None:
    assert retryable(exc)


def test_our_own_errors_are_never_retried() -> None:
    assert not retryable(AgentorchError("no"))
    assert not retryable(ConfigError("no"))


@pytest.mark.parametrize(
    "retry_on, retried",
    [
        (TimeoutError, True),
        (KeyError, False),
        ((KeyError, TimeoutError), True),
        (lambda e: "slow" in str(e), True),
        (lambda e: False, False),
    ],
)
@pytest.mark.parametrize("tools", [False, True])
def test_a_retry_policy_may_name_an_error_class_a_tuple_or_a_predicate(
    retry_on: Any, retried: bool, tools: bool
) -> None:
    """LangGraph's own RetryPolicy retries an agent's model call, with tools or without."""

    @tool
    def look(q: str) -> str:
        """Look something up."""
        return "found"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"))],
            "w": [TimeoutError("slow"), "A"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    policy = RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=retry_on)
    team = Team(agents=[Agent(name="w", role="w", tools=[look] if tools else [])], llm=llm, retry=policy)
    if retried:
        assert team.run("go").results["a"].output == "A"
    else:
        with pytest.raises(RunFailed, match="slow"):
            team.run("go")


def test_a_model_call_is_tried_max_attempts_times_then_the_run_fails_naming_it() -> None:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"))],
            "w": [TimeoutError("slow 1"), TimeoutError("slow 2"), TimeoutError("slow 3"), "A"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    policy = RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False, retry_on=TimeoutError)
    team = Team(agents=[Agent(name="w", role="w")], llm=llm, retry=policy)
    with pytest.raises(RunFailed, match="slow 3") as failed:
        team.run("go", thread_id="t")
    assert failed.value.result.usage.by_role.get("w") is None  # no call answered
    assert team.resume("t").results["a"].output == "A"  # the fourth call answers on resume


def test_a_team_retry_policy_with_an_error_class_retries_that_class_only() -> None:
    def team(fault: Exception) -> Team:
        llm = ScriptedChatModel(
            {"planner": [plan(st("a", "w"))], "w": [fault, "A"], "critic": [ACCEPT], "synthesizer": ["s"]}
        )
        policy = RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=TimeoutError)
        return Team(agents=[Agent(name="w", role="w")], llm=llm, retry=policy)

    assert team(TimeoutError("slow")).run("go").results["a"].output == "A"
    with pytest.raises(RunFailed, match="KeyError"):
        team(KeyError("broken")).run("go")


@pytest.mark.parametrize(
    "decision, expected",
    [
        (True, (True, {"x": 1}, "human")),
        (False, (False, {"x": 1}, "")),
        ({"args": {"x": 2}, "by": "ann"}, (True, {"x": 2}, "ann")),
        ({"approved": False, "by": "ann"}, (False, {"x": 1}, "")),
        ({}, (True, {"x": 1}, "human")),
        (None, (False, {"x": 1}, "")),  # neither a bool nor a mapping: never a yes
        ("yes", (False, {"x": 1}, "")),
        (1, (False, {"x": 1}, "")),
    ],
)
def test_an_approval_answer_is_read_strictly(decision: Any, expected: tuple[Any, ...]) -> None:
    assert _read_decision(decision, {"x": 1}) == expected


@pytest.mark.parametrize("answer", ["yes", 1, None, ["args"], {"arg": {}}, {"approved": "no"}, {}])
def test_resume_refuses_an_answer_that_is_neither_a_bool_nor_an_approval_mapping(answer: Any) -> None:
    ran: list[str] = []

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete rows."""
        ran.append(table)
        return "wiped"

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "ops"))],
            "ops": [AIMessage("", tool_calls=[{"name": "wipe", "args": {"table": "t"}, "id": "1"}]), "done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    team = Team(agents=[Agent(name="ops", role="Operates", tools=[wipe])], llm=llm)
    team.run("go", thread_id="t")
    with pytest.raises(ConfigError):
        team.resume("t", approve=answer)
    assert ran == [] and team.result("t").status == "interrupted"


@pytest.mark.parametrize(
    "meta, name",
    [
        ({"model_name": "gpt-x"}, "gpt-x"),
        ({"model": "llama"}, "llama"),
        ({"model_name": "a", "model": "b"}, "a"),
        ({}, "unknown"),
    ],
)
def test_the_model_name_comes_from_the_response_metadata(meta: dict[str, str], name: str) -> None:
    assert model_name_of(AIMessage("hi", response_metadata=meta)) == name


def test_usage_by_model_uses_the_name_the_model_reported() -> None:
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "w"))], "w": ["A"], "critic": [ACCEPT], "synthesizer": ["s"]},
        model_name="tiny-1",
    )
    result = Team(agents=[Agent(name="w", role="w")], llm=llm).run("go")
    assert set(result.usage.by_model) == {"tiny-1"}
    assert result.results["a"].model == "tiny-1"


def test_close_releases_an_ephemeral_memory_but_keeps_persistent_data(tmp_path: Any) -> None:
    kept = ChromaMemory(tmp_path / "mem", embedding=HashEmbeddings())
    kept.add("The Q3 report is due on 14 March.")
    kept.close()
    reopened = ChromaMemory(tmp_path / "mem", embedding=HashEmbeddings())
    assert [r.text for r in reopened.records()] == ["The Q3 report is due on 14 March."]
    gone = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    gone.add("scratch")
    gone.close()
    assert gone.count() == 0


def test_aadd_documents_returns_the_ids_it_stored() -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    ids = asyncio.run(memory.aadd_documents(["first text", ("second text", {"source": "b"})]))
    assert len(ids) == 2 and len(set(ids)) == 2
    stored = {r.id: r for r in memory.records(ids=ids)}
    assert sorted(r.text for r in stored.values()) == ["first text", "second text"]
    assert stored[ids[1]].metadata["source"] == "b"


def test_tools_must_be_a_list_and_an_agent_shows_its_tools() -> None:
    @tool
    def lookup(q: str) -> str:
        """Look up."""
        return q

    with pytest.raises(ConfigError, match="`tools` must be a list of tools, got str"):
        Agent(name="a", role="r", tools="lookup")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must be a list of tools, got StructuredTool"):
        Agent(name="a", role="r", tools=lookup)  # type: ignore[arg-type]
    assert (
        repr(Agent(name="a", role=" Finds ", tools=[lookup]))
        == "Agent(name='a', role='Finds', tools=[lookup])"
    )


def test_a_missing_dependency_is_named_in_the_plan_problems() -> None:
    from agentorch import Plan, plan_problems

    problems = plan_problems(Plan.model_validate(plan(st("a", "w", "ghost"))), ["w"], 5)
    assert problems == ["Sub-task `a` depends on `ghost`, which is not in the plan."]
    twice = plan(st("a", "w"), st("a", "w", description="again"))
    assert plan_problems(Plan.model_validate(twice), ["w"], 5) == [
        "Duplicate sub-task id `a`; ids must be unique."
    ]


def test_a_budget_stop_in_one_branch_dispatches_nothing_more() -> None:
    # planner + a fit in 2 calls; b is skipped, and c (which waits only for a) never starts
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w"), st("c", "w", "a"))],
            "w:a": ["A"],
            "w:b": ["B"],
            "w:c": ["C"],
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    result = Team(
        agents=[Agent(name="w", role="w")], llm=llm, budget=__import__("agentorch").Budget(max_llm_calls=2)
    ).run("go")
    assert result.status == "budget_exhausted"
    assert {k: r.status for k, r in result.results.items()} == {"a": "done", "b": "skipped"}
    assert "c" not in result.results


def test_models_per_role_are_checked_when_the_team_is_built() -> None:
    llm = ScriptedChatModel({})
    with pytest.raises(ConfigError, match=r"`llms\['planner'\]`"):
        Team(agents=[Agent(name="w", role="w")], llm=llm, llms={"planner": "gpt-4"})  # type: ignore[dict-item]
    only = {"planner": llm, "synthesizer": llm}
    with pytest.raises(ConfigError, match="No model for `critic`"):
        Team(agents=[Agent(name="w", role="w", llm=llm)], llms=only)
    Team(agents=[Agent(name="w", role="w", llm=llm)], llms=only, critic=False)  # no critic, no model needed


def test_summarizer_calls_count_in_usage() -> None:
    long = " ".join(f"fact{i} about batteries" for i in range(400))
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "w"), st("b", "w", "a"))],
            "w:a": [long],
            "w:b": ["B"],
            "summarizer": lambda m: "short summary",
            "critic": [ACCEPT],
            "synthesizer": ["s"],
        }
    )
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings())
    result = Team(agents=[Agent(name="w", role="w")], llm=llm, memory=memory, context_budget=150).run("go")
    summarized = [c for c in llm.calls if c.role == "summarizer"]
    assert summarized, "the dependency did not fit the context budget: nothing was summarized"
    assert result.usage.by_role["summarizer"].calls == len(summarized)
    assert result.usage.by_role["summarizer"].total_tokens == sum(
        c.response.usage_metadata["total_tokens"] for c in summarized
    )


def test_a_model_that_reports_no_usage_counts_as_one_call_of_zero_tokens() -> None:
    from agentorch._engine.context import usage_of

    usage = usage_of(AIMessage("hi"))
    assert (usage.calls, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1, 0, 0, 0)


@tool
def lookup(q: str) -> str:
    """Look up."""
    return "found"


ASK_LOOKUP = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "1"}])
"""An agent's model asking for `lookup`."""


def _lookup_team(agent_script: list[Any], **options: Any) -> tuple[Team, ScriptedChatModel]:
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "w"))], "w": agent_script, "critic": [ACCEPT], "synthesizer": ["s"]}
    )
    return Team(agents=[Agent(name="w", role="w", tools=[lookup])], llm=llm, **options), llm


def test_calls_replayed_after_a_failure_count_toward_the_budget() -> None:
    from agentorch import Budget

    team, llm = _lookup_team([ASK_LOOKUP, RuntimeError("down"), "done"], budget=Budget(max_llm_calls=3))
    with pytest.raises(RunFailed):
        team.run("go", thread_id="t")
    result = team.resume("t")  # the first agent call is replayed, and it counts
    assert result.status == "budget_exhausted"
    assert len([c for c in llm.calls if c.response is not None]) == 3  # planner, ask, done
    assert not llm.calls_for("critic")


def test_a_failed_run_reports_the_calls_the_failing_subtask_made() -> None:
    team, _ = _lookup_team([ASK_LOOKUP, RuntimeError("down")])
    with pytest.raises(RunFailed) as failed:
        team.run("go")
    assert failed.value.result.usage.by_role["w"].calls == 1
    assert failed.value.result.usage.total.calls == 2  # planner + the answered agent call


def test_tokens_spent_before_an_approval_count_toward_the_budget_after_it() -> None:
    from agentorch import Budget

    @tool(requires_approval=True)
    def wipe(table: str) -> str:
        """Delete rows."""
        return "wiped"

    ask = AIMessage("", tool_calls=[{"name": "wipe", "args": {"table": "t"}, "id": "1"}])
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "w"))], "w": [ask, "done"], "critic": [ACCEPT], "synthesizer": ["s"]}
    )
    agents = [Agent(name="w", role="w", tools=[wipe])]
    first = Team(agents=agents, llm=llm)
    paused = first.run("go", thread_id="t")
    spent = paused.usage.total.total_tokens + paused.interrupts[0].payload["spent"]["total_tokens"]
    # the same thread, resumed by a team whose budget the tokens already spent exhaust
    limited = Team(agents=agents, llm=llm, checkpointer=first.checkpointer, budget=Budget(max_tokens=spent))
    result = limited.resume("t", approve=True)
    assert result.status == "budget_exhausted"
    assert len(llm.calls_for("w")) == 1  # the agent was not asked again


def test_an_agent_with_two_tools_of_one_name_is_refused() -> None:
    @tool
    def lookup(q: str) -> str:
        """Look up."""
        return q

    with pytest.raises(ConfigError, match="two tools named lookup"):
        Agent(name="a", role="r", tools=[lookup, lookup])


class DictStructuredModel(ScriptedChatModel):
    """Structured output parsed into plain dicts, as some providers' JSON modes give it."""

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        from langchain_core.runnables import RunnableLambda

        inner = super().with_structured_output(schema, include_raw=True, **kwargs)

        def as_dict(out: dict[str, Any]) -> dict[str, Any]:
            parsed = out["parsed"]
            return {**out, "parsed": parsed.model_dump() if hasattr(parsed, "model_dump") else parsed}

        return inner | RunnableLambda(as_dict)


def test_structured_output_parsed_as_a_dict_is_validated_and_repaired() -> None:
    bad = {"subtasks": [{"id": "a", "description": "x", "agent": "nobody"}]}
    llm = DictStructuredModel(
        {"planner": [bad, plan(st("a", "w"))], "w": ["A"], "critic": [ACCEPT], "synthesizer": ["s"]},
        model_name="dicts-1",
    )
    result = Team(agents=[Agent(name="w", role="w")], llm=llm).run("go")
    assert result.status == "completed" and [s.agent for s in result.plan.subtasks] == ["w"]
    assert "nobody" in llm.calls_for("planner")[1].messages[-1].content  # the repair named it
    assert result.usage.by_role["planner"].calls == 2 and "dicts-1" in result.usage.by_model


def test_an_agent_model_that_is_not_a_chat_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="Agent `a`: `llm`"):
        Agent(name="a", role="r", llm="gpt-4o")  # type: ignore[arg-type]


def test_a_long_rejected_answer_is_shown_cut_and_a_short_one_whole() -> None:
    from agentorch import Agent, Team
    from agentorch.llms import ScriptedChatModel
    from tests.helpers import ACCEPT, plan, st

    long_text, short_text = "x" * 2500, "not a plan"
    llm = ScriptedChatModel(
        {
            "planner": [long_text, short_text, plan(st("a", "w"))],
            "w": ["done"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    Team(agents=[Agent(name="w", role="Writes")], llm=llm).run("goal")
    first_repair, second_repair = (c.messages[-1].text for c in llm.calls_for("planner")[1:])
    assert "x" * 2000 + "... [500 more chars]" in first_repair and "x" * 2001 not in first_repair
    assert f"Previous answer: {short_text}\n" in second_repair and "more chars" not in second_repair


def test_the_specialist_is_told_the_expected_output_only_when_the_plan_gives_one() -> None:
    from agentorch import Agent, Team
    from agentorch.llms import ScriptedChatModel
    from tests.helpers import ACCEPT, plan, st

    with_expectation = {**st("a", "w"), "expected_output": "three bullet points"}
    llm = ScriptedChatModel(
        {
            "planner": [plan(with_expectation, st("b", "w"))],
            "w": ["one", "two"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    Team(agents=[Agent(name="w", role="Writes")], llm=llm).run("goal")
    prompts = {c.subtask_id: c.messages[1].text for c in llm.calls_for("w")}
    assert "Expected output: three bullet points" in prompts["a"]
    assert "Expected output" not in prompts["b"]


def test_arguments_the_model_never_sees_may_be_missing_but_shown_ones_may_not() -> None:
    from agentorch import tool
    from agentorch._engine.approvals import args_problem

    @tool
    def lookup(query: str, user_id: Annotated[str, InjectedToolArg]) -> str:
        """Look something up for a user."""
        return query + user_id

    assert args_problem(lookup, {"query": "x"}) is None  # user_id is injected, never shown
    assert args_problem(lookup, {}) == "query: Field required"


@pytest.mark.parametrize(
    ("statuses", "ended", "stopped_at", "starts"),
    [
        ({"a": "done", "b": "done"}, {"a": 1, "b": 2}, None, True),
        ({"a": "done", "b": "failed"}, {"a": 1, "b": 2}, None, False),  # a dependency failed
        ({"a": "done", "b": None}, {"a": 1}, None, False),  # one never ran
        ({"a": "done", "b": "done"}, {"a": 1, "b": 3}, 2, False),  # ready after the budget stop
        ({"a": "done", "b": "done"}, {"a": 1, "b": 2}, 2, True),  # ready before it: starts
        ({"a": "done", "b": "done"}, {}, 0, True),  # both kept from an earlier round
    ],
)
def test_the_dispatch_rule(statuses: dict, ended: dict, stopped_at: int | None, starts: bool) -> None:
    from agentorch._plan import may_start

    assert may_start(["a", "b"], statuses, ended, stopped_at) is starts


def test_a_sub_tasks_update_saved_twice_is_merged_once() -> None:
    from agentorch._engine.state import merge_subtask_updates

    attempt = {"subtask_id": "a", "round": 1, "attempts": 1, "started_at": 5.0, "status": "done"}
    update = {"results": {"a": attempt}, "history": [attempt], "feedback": {"a": None}, "usage": {}}
    retry = {**update, "history": [{**attempt, "attempts": 2}], "results": {"a": {**attempt, "attempts": 2}}}
    merged = merge_subtask_updates({}, [update, update, retry, "other task's result"])
    assert [h["attempts"] for h in merged["history"]] == [1, 2] and merged["results"]["a"]["attempts"] == 2


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"max_llm_calls": 0}, "`max_llm_calls` got 0"),
        ({"max_cost": -1.0, "max_calls": 3}, "`max_cost` got -1.0; `max_calls` got 3"),
    ],
)
def test_a_wrong_budget_says_what_a_budget_accepts(limits: dict[str, Any], named: str) -> None:
    from agentorch import Budget

    with pytest.raises(ConfigError) as info:
        Budget(**limits)
    assert named in str(info.value)
    assert "`max_llm_calls` and `max_tokens` (whole numbers >= 1)" in str(info.value)
    assert "pydantic" not in str(info.value)


def test_a_rounds_history_is_in_the_order_its_sub_tasks_ended() -> None:
    from agentorch import Agent, Team
    from agentorch.llms import ScriptedChatModel
    from tests.helpers import ACCEPT, plan, st

    llm = ScriptedChatModel(
        {
            "planner": [plan(st("slow", "w"), st("fast", "v"))],
            "w": ["S"],
            "v": ["F"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        },
        latency={"w": 0.3, "*": 0.0},
    )
    result = Team(agents=[Agent(name="w", role="Slow"), Agent(name="v", role="Fast")], llm=llm).run("goal")
    assert [h.subtask_id for h in result.history] == ["fast", "slow"]  # not plan order


def test_a_token_event_reads_as_one_line() -> None:
    from agentorch._engine.events import describe_event

    base = {"type": "token", "role": "w", "round": 1, "message_id": "m", "text": "Hi there"}
    assert describe_event({**base, "agent": "w", "subtask_id": "a"}) == "token a [w]: 'Hi there'"
    assert describe_event({**base, "agent": None, "subtask_id": None}) == "token synthesizer: 'Hi there'"
