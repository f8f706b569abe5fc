"""The team state machine on LangGraph.

START -> [recall] -> plan -> [approve_plan] -> dispatch (a `specialist` task per sub-task,
                      ^                          ^         each started as its inputs exist)
                      | replan                   | revise      |
                      +---------------------- critic <---------+
                                                 | accept / max_rounds
                                                 v
                                             synthesize -> [remember] -> END

`synthesize` ends the run; it calls the synthesizer unless the critic's accept carried the
answer (`Team(synthesizer=False)`, the default without a configured synthesizer).

Every model call — the planner's, the critic's, the synthesizer's and each sub-task's — is a
`model_call` task, retried and timed out by LangGraph and saved when answered (see
`RunContext`): a node that runs again replays what was answered instead of paying again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy, interrupt

from agentorch._engine.context import BudgetExhausted, RunContext, model_name_of
from agentorch._engine.data import data_block, digest
from agentorch._engine.dispatch import run_round
from agentorch._engine.quote import quote_plan
from agentorch._engine.specialist import usage_update
from agentorch._engine.state import SpecialistInput, TeamState
from agentorch._errors import AgentorchError, CriticError, PlanError
from agentorch._keys import (
    BUDGET_EXHAUSTED,
    CRITIC,
    NODE_APPROVE,
    NODE_CRITIC,
    NODE_DISPATCH,
    NODE_PLAN,
    NODE_RECALL,
    NODE_REMEMBER,
    NODE_SYNTHESIZE,
    PLANNER,
    SYNTHESIZER,
    TEAM_CONFIG,
)
from agentorch._plan import downstream_of, plan_problems
from agentorch._types import Plan, Quote, StepRecord, SubTaskResult, TokenUsage, Usage, Verdict

if TYPE_CHECKING:
    from agentorch._settings import TeamSettings

log = logging.getLogger("agentorch")

__all__ = ["GraphShape", "build_graph", "mark_sent_back"]

# a run stops cleanly this many steps before LangGraph's recursion limit would raise
_STEP_MARGIN = 4


def results_block(plan: Plan, results: dict[str, dict[str, Any]], kept_before: int = 0) -> str:
    """The current results as labelled data blocks, in plan order. Finished results of a round
    before `kept_before` (reviewed already and kept) are shown by a short digest."""
    blocks = []
    for st in plan.subtasks:
        r = results.get(st.id)
        if r is None:
            blocks.append(data_block("(not run)", source=f"subtask:{st.id}", agent=st.agent))
        elif r["status"] == "done" and r.get("round", 0) < kept_before:
            blocks.append(
                data_block(digest(r["output"]), source=f"subtask:{st.id}", agent=st.agent, kept=r["round"])
            )
        else:
            text = r["output"] if r["status"] == "done" else f"FAILED: {r['error']}"
            blocks.append(data_block(text, source=f"subtask:{st.id}", agent=st.agent, task=st.description))
    return "\n".join(blocks)


def best_available_answer(plan: Plan | None, results: dict[str, dict[str, Any]]) -> str:
    """The answer when the synthesizer cannot be called: finished outputs in plan order."""
    if plan is None:
        return ""
    parts = [
        f"## {st.id}\n{results[st.id]['output']}"
        for st in plan.subtasks
        if st.id in results and results[st.id]["status"] == "done"
    ]
    return "\n\n".join(parts)


class GraphShape(NamedTuple):
    """What a team's graph is built from. Everything else (models, prompts, budgets, limits)
    is read from the run's `RunContext.settings` at run time, so teams of one shape share a graph."""

    memory: bool
    approve_plan: bool
    critic: bool
    retry: RetryPolicy
    model_timeout: float | None

    @classmethod
    def of(cls, team: TeamSettings) -> GraphShape:
        """The shape of `team`."""
        return cls(team.memory is not None, team.approve_plan, team.critic, team.retry, team.model_timeout)


def run_context(state: TeamState, runtime: Runtime[RunContext] | None) -> RunContext:
    """The services a node runs with: the run context `Team.run` passes, or, for a graph
    invoked directly (`team.compile()`, LangGraph Server), one for its team whose budget
    counters start from what the thread's state records, so budgets count per run there too."""
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, RunContext):
        return ctx
    configurable = get_config().get("configurable", {})
    settings = configurable.get(TEAM_CONFIG)
    if settings is None:
        raise AgentorchError(
            "This graph is shared between teams and needs the run context that `Team.run` "
            "passes; to invoke a graph directly, use `team.compile()`."
        )
    return RunContext.from_state(settings, str(configurable.get("thread_id", "")), state)


async def recall(state: TeamState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(state, runtime)
    team = ctx.settings
    text = await team.memory.arecall(  # type: ignore[union-attr]
        state["goal"], thread_id=ctx.thread_id, budget=team.context_budget
    )
    return {"recalled": text}


async def plan(state: TeamState, runtime: Runtime[RunContext]) -> Command[Any]:
    ctx = run_context(state, runtime)
    team = ctx.settings
    rnd = max(1, state.get("round", 0))
    previous = Plan.model_validate(state["plan"]) if state.get("plan") else None
    human = [f"Goal: {state['goal']}"]
    if state.get("recalled"):
        # memory renders its records as labelled <data> blocks already (TeamMemory.arecall)
        human.append("What the team remembers:\n" + state["recalled"])
    if previous is not None:
        verdict = state["verdicts"][-1] if state.get("verdicts") else {}
        human.append("Your previous plan:\n" + data_block(previous.model_dump_json(), source="plan"))
        human.append("Its results:\n" + results_block(previous, state.get("results", {})))
        human.append(
            "The critic asked for a new plan:\n" + data_block(verdict.get("feedback", ""), source="critic")
        )
    messages = [
        SystemMessage(ctx.services.planner_prompt()),
        HumanMessage("\n\n".join(human)),
    ]
    started = time.time()
    before = Usage.model_validate(state.get("usage") or {}).total  # what the run used so far
    usage, quote, too_dear = TokenUsage(), None, ""
    for asked_cheaper in (False, True):
        try:
            new, problems, used, model = await ctx.call_structured(
                PLANNER,
                Plan.schema_for(team.agent_names, team.max_subtasks),
                messages,
                retries=team.plan_retries,
                round=rnd,
                check=lambda p: plan_problems(p, team.agent_names, team.max_subtasks),
            )
        except BudgetExhausted as e:
            e.spent = usage + e.spent
            return Command(
                goto=NODE_SYNTHESIZE,
                update={"stop": BUDGET_EXHAUSTED, "error": str(e), **_spent_update(PLANNER, e)},
            )
        usage = usage + used
        if new is None:
            raise PlanError(
                f"The planner produced no valid plan (repairs allowed: plan_retries={team.plan_retries}). "
                "Problems with its last plan: " + "; ".join(problems),
                problems,
                spent=Usage(by_role={PLANNER: usage}, by_model={model: usage}),
            )
        quote = quote_plan(ctx.services, state["goal"], new, before + usage)
        too_dear = _over_budget(ctx, quote, before + usage)
        if not too_dear or asked_cheaper:
            break
        log.info("asking the planner for a cheaper plan: %s", too_dear)
        messages = [*messages, HumanMessage(f"{too_dear} Make a cheaper plan: fewer or smaller sub-tasks.")]
    assert new is not None and quote is not None
    update: dict[str, Any] = {
        "plan": new.model_dump(mode="json"),
        "plans": [new.model_dump(mode="json")],
        "round": rnd,
        "quote": quote.model_dump(mode="json"),
        "usage": usage_update(PLANNER, model, usage),
        "steps": [_step(PLANNER, rnd, started, usage, model)],
    }
    if previous is not None:
        update["results"] = _stale_results(previous, new, state.get("results", {}))
    if too_dear:
        update.update(stop=BUDGET_EXHAUSTED, error=f"{too_dear} The planner's cheaper plan was quoted too.")
        return Command(goto=NODE_SYNTHESIZE, update=update)
    goto = NODE_APPROVE if team.approve_plan else NODE_DISPATCH
    return Command(goto=goto, update=update)


def _over_budget(ctx: RunContext, quote: Quote, spent: TokenUsage) -> str:
    """Why `quote` does not fit what is left of `Budget(max_cost=...)` ("" when it fits)."""
    limit = ctx.settings.budget.max_cost
    if limit is None or not ctx.settings.budget.check_quote:
        return ""
    rest, left = quote.cost - spent.cost, limit - ctx.cost
    if rest <= left:
        return ""
    return (
        f"The plan's quote for the work left is {rest:.4f}, but only {left:.4f} of "
        f"`Budget(max_cost={limit})` is left."
    )


def approve(state: TeamState, runtime: Runtime[RunContext]) -> Command[Any]:
    decision = interrupt(
        {"kind": "plan", "plan": state["plan"], "round": state["round"], "quote": state.get("quote")}
    )
    if decision is True:
        return Command(goto=NODE_DISPATCH)
    if decision is False or decision is None:
        return Command(
            goto=END,
            update={
                "stop": "rejected",
                "status": "rejected",
                "error": "The plan was rejected at approval.",
            },
        )
    edited = Plan.model_validate(decision)
    dumped = edited.model_dump(mode="json")
    # the plan that runs is quoted (the person saw the planner's plan's quote)
    spent = Usage.model_validate(state.get("usage") or {}).total
    quote = quote_plan(run_context(state, runtime).services, state["goal"], edited, spent)
    update: dict[str, Any] = {"plan": dumped, "plans": [dumped], "quote": quote.model_dump(mode="json")}
    # results kept from an earlier round must be judged against the plan that runs
    update["results"] = _stale_results(Plan.model_validate(state["plan"]), edited, state.get("results", {}))
    return Command(goto=NODE_DISPATCH, update=update)


async def dispatch(state: TeamState, runtime: Runtime[RunContext]) -> Command[Any]:
    """Run the round: every sub-task without a result, each as its inputs exist."""
    ctx = run_context(state, runtime)
    after = NODE_CRITIC if ctx.settings.critic else NODE_SYNTHESIZE
    if state.get("stop") or not state.get("plan"):
        return Command(goto=NODE_SYNTHESIZE)
    if state.get("remaining_steps", 10**9) <= _STEP_MARGIN:
        return Command(
            goto=NODE_SYNTHESIZE,
            update={
                "stop": BUDGET_EXHAUSTED,
                "error": "LangGraph's recursion limit was about to be reached.",
            },
        )
    results = state.get("results", {})
    # the plan in state is already `Plan.model_dump(mode="json")`: not validated again
    inputs = [
        _specialist_input(state, dict(st)) for st in state["plan"]["subtasks"] if st["id"] not in results
    ]
    if not inputs:
        return Command(goto=after)
    update = await run_round(ctx, inputs, results)
    return Command(goto=NODE_SYNTHESIZE if update.get("stop") else after, update=update)


async def critic(state: TeamState, runtime: Runtime[RunContext]) -> Command[Any]:
    ctx = run_context(state, runtime)
    team = ctx.settings
    current = Plan.model_validate(state["plan"])
    rnd = state["round"]
    ids = {st.id for st in current.subtasks}
    answers = ctx.services.critic_answers()
    # a critic that only judges sees results it kept in an earlier round by a digest; one that
    # writes the answer needs them whole. The part shared across calls comes first (caching).
    shown = results_block(current, state.get("results", {}), kept_before=0 if answers else rnd)
    kept = (
        "" if answers or rnd == 1 else " Results marked `kept` passed an earlier review: shown by a digest."
    )
    messages = [
        SystemMessage(ctx.services.critic_prompt()),
        HumanMessage(
            f"Goal: {state['goal']}\n\nResults:\n{shown}\n\nRound {rnd} of at most {team.max_rounds}.{kept}"
        ),
    ]
    started = time.time()
    try:
        verdict, problems, usage, model = await ctx.call_structured(
            CRITIC,
            Verdict.schema_for(sorted(ids)),
            messages,
            retries=team.plan_retries,
            round=rnd,
            check=lambda v: _verdict_problems(v, ids),
        )
    except BudgetExhausted as e:
        return Command(
            goto=NODE_SYNTHESIZE,
            update={"stop": BUDGET_EXHAUSTED, "error": str(e), **_spent_update(CRITIC, e)},
        )
    if verdict is None:
        ctx.carry(CRITIC, usage, model)
        raise CriticError(
            f"The critic gave no valid verdict (repairs allowed: plan_retries={team.plan_retries}). "
            "Problems with its last verdict: " + "; ".join(problems),
            problems,
        )
    update: dict[str, Any] = {
        "verdicts": [verdict.model_dump(mode="json")],
        "reviewed_round": rnd,
        "usage": usage_update(CRITIC, model, usage),
        "steps": [_step(CRITIC, rnd, started, usage, model)],
    }
    if verdict.decision == "accept":
        if answers and verdict.answer.strip():
            update["answer"] = verdict.answer.strip()
        elif answers:
            log.info("the critic accepted without an answer; the synthesizer writes it")
        return Command(goto=NODE_SYNTHESIZE, update=update)
    if rnd >= team.max_rounds:
        update.update(
            stop="max_rounds",
            error=f"max_rounds={team.max_rounds} reached; the critic still asked "
            f"to {verdict.decision}: {verdict.feedback}",
        )
        return Command(goto=NODE_SYNTHESIZE, update=update)
    update["round"] = rnd + 1
    if verdict.decision == "replan":
        return Command(goto=NODE_PLAN, update=update)
    redo = downstream_of(current, verdict.revise)
    update["results"] = dict.fromkeys(redo)
    update["feedback"] = dict.fromkeys(verdict.revise, verdict.feedback)
    return Command(goto=NODE_DISPATCH, update=update)


async def synthesize(state: TeamState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """End the run (see the module's docstring); what it measured informs the team's next quotes."""
    ctx = run_context(state, runtime)
    update = await _synthesize(ctx, state)
    ctx.services.observed.record(
        state.get("history", []), [*state.get("steps", []), *update.get("steps", [])]
    )
    return update


async def _synthesize(ctx: RunContext, state: TeamState) -> dict[str, Any]:
    current = Plan.model_validate(state["plan"]) if state.get("plan") else None
    results = state.get("results", {})
    stop = state.get("stop", "")
    error = state.get("error", "")
    failed = []
    if current is not None:
        failed = [st.id for st in current.subtasks if results.get(st.id, {}).get("status") != "done"]
    status = stop or ("failed" if failed else "completed")
    if status == "failed":
        error = "Sub-tasks not completed: " + ", ".join(
            f"`{i}` ({results[i]['error'] if i in results else 'not run'})" for i in failed
        )
    update: dict[str, Any] = {"status": status, "error": error}
    if current is None:
        return {**update, "answer": ""}
    if stop == BUDGET_EXHAUSTED:
        return {**update, "answer": best_available_answer(current, results)}
    if state.get("answer"):  # the critic's accept carried it
        return update
    messages = [
        SystemMessage(ctx.services.synthesizer_prompt()),
        HumanMessage(f"Goal: {state['goal']}\n\nResults:\n{results_block(current, results)}"),
    ]
    started = time.time()
    try:
        ai = await ctx.call_model(SYNTHESIZER, messages, round=state.get("round"))
    except BudgetExhausted as e:
        return {
            "status": BUDGET_EXHAUSTED,
            "error": str(e),
            "answer": best_available_answer(current, results),
        }
    model, usage = model_name_of(ai), ctx.priced(ai)
    return {
        **update,
        "answer": ai.text.strip(),
        "usage": usage_update(SYNTHESIZER, model, usage),
        "steps": [_step(SYNTHESIZER, state.get("round", 1), started, usage, model)],
    }


async def remember(state: TeamState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = run_context(state, runtime)
    team = ctx.settings
    results = {
        k: SubTaskResult.model_validate(v)
        for k, v in state.get("results", {}).items()
        if v["status"] == "done"
    }
    await team.memory.aremember_run(  # type: ignore[union-attr]
        goal=state["goal"],
        thread_id=ctx.thread_id,
        run_id=state.get("run_id", ""),
        results=results,
        verdicts=[Verdict.model_validate(v) for v in state.get("verdicts", [])],
        answer=state.get("answer", ""),
    )
    return {}


def build_graph(shape: GraphShape) -> StateGraph:
    """Describe a team graph of `shape` as a LangGraph `StateGraph` (uncompiled).

    The nodes are this module's functions; they take their team and services from the run
    context (`Team.run` passes one) or from `team.compile()`'s config (see `run_context`).
    """
    # No `context_schema`: LangGraph Server passes the run's `context` as a dict, which LangGraph
    # would coerce into `RunContext(**context)` and fail; `run_context` accepts whatever comes.
    # context type Any: nodes read a `Runtime[RunContext]`, but the graph declares no
    # context_schema (see above), so LangGraph's typing would expect a runtime of None
    g = cast("StateGraph[TeamState, Any, Any, Any]", StateGraph(TeamState))
    first = NODE_PLAN
    if shape.memory:
        g.add_node(NODE_RECALL, recall, retry_policy=shape.retry)
        g.add_edge(START, NODE_RECALL)
        g.add_edge(NODE_RECALL, NODE_PLAN)
        first = NODE_RECALL
    else:
        g.add_edge(START, NODE_PLAN)
    log.debug("building a team graph %s (first node %s)", shape, first)
    plan_targets = (NODE_APPROVE if shape.approve_plan else NODE_DISPATCH, NODE_SYNTHESIZE)
    # the planner, critic and synthesizer nodes are not retried themselves: their model calls
    # are `model_call` tasks under the team's retry policy and model timeout (see `RunContext`)
    g.add_node(NODE_PLAN, plan, destinations=plan_targets)
    if shape.approve_plan:
        g.add_node(NODE_APPROVE, approve, destinations=(NODE_DISPATCH, END))
    g.add_node(
        NODE_DISPATCH,
        dispatch,
        destinations=(NODE_CRITIC, NODE_SYNTHESIZE) if shape.critic else (NODE_SYNTHESIZE,),
    )
    if shape.critic:
        g.add_node(
            NODE_CRITIC,
            critic,
            destinations=(NODE_PLAN, NODE_DISPATCH, NODE_SYNTHESIZE),
        )
    g.add_node(NODE_SYNTHESIZE, synthesize)
    if shape.memory:
        g.add_node(NODE_REMEMBER, remember, retry_policy=shape.retry)
        g.add_edge(NODE_SYNTHESIZE, NODE_REMEMBER)
        g.add_edge(NODE_REMEMBER, END)
    else:
        g.add_edge(NODE_SYNTHESIZE, END)
    return g


def _spent_update(role: str, e: BudgetExhausted) -> dict[str, Any]:
    """The usage of repair attempts a budget stop cut short, as a state update."""
    return {"usage": usage_update(role, e.model, e.spent)} if e.spent.calls else {}


def _step(role: str, rnd: int, started: float, usage: TokenUsage, model: str) -> dict[str, Any]:
    """A `steps` entry: one planner, critic or synthesizer call that ends now."""
    return StepRecord(
        role=role, round=rnd, started_at=started, finished_at=time.time(), usage=usage, model=model
    ).model_dump(mode="json")


def _specialist_input(state: TeamState, subtask: dict[str, Any]) -> SpecialistInput:
    sid = subtask["id"]
    tries = [h for h in state.get("history", []) if h["subtask_id"] == sid]
    feedback = state.get("feedback", {}).get(sid, "")
    return SpecialistInput(
        subtask=subtask,
        goal=state["goal"],
        round=state.get("round", 1),
        attempt=len(tries) + 1,
        earlier=mark_sent_back(tries, state.get("verdicts", [])),
        feedback=feedback,
        previous_output=tries[-1]["output"] if feedback and tries else "",
        dependencies={},  # filled in as they finish (`agentorch._engine.dispatch`)
    )


def mark_sent_back(history: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`history` (dumped `SubTaskResult`s) with `sent_back` set on the attempts the critic
    returned for revision: the verdict of round r (the r-th verdict) named them."""
    revised = {
        (sid, i + 1)
        for i, v in enumerate(verdicts)
        if v.get("decision") == "revise"
        for sid in v.get("revise", [])
    }
    return [{**h, "sent_back": (h["subtask_id"], h["round"]) in revised} for h in history]


def _stale_results(old: Plan, new: Plan, results: dict[str, dict[str, Any]]) -> dict[str, None]:
    """Result deletions for a replan: keep only finished sub-tasks the new plan keeps unchanged."""
    kept = {
        st.id
        for st in new.subtasks
        if st.id in results
        and results[st.id]["status"] == "done"
        and any(
            o.id == st.id and o.agent == st.agent and o.description == st.description for o in old.subtasks
        )
    }
    return {k: None for k in results if k not in kept}


def _verdict_problems(v: Verdict, ids: set[str]) -> list[str]:
    if v.decision != "revise":
        return []
    if not v.revise:
        return ["With decision `revise`, list the ids of the sub-tasks to redo in `revise`."]
    unknown = [i for i in v.revise if i not in ids]
    if unknown:
        return [
            f"Unknown sub-task ids in `revise`: {', '.join(unknown)}; valid ids: {', '.join(sorted(ids))}."
        ]
    return []
