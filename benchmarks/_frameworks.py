"""The contenders: agentorch and three baselines doing the same scripted model calls.

- `run_agentorch`: `Team.arun` (planner, specialists per wave, critic accepting once, synthesizer).
- `run_send_graph`: a hand-written LangGraph graph with the same calls: plan node, `Send` waves
  of worker nodes, a joiner that reviews and answers (`joiner=False`: a critic, then a
  synthesizer) — what a careful LangGraph user would write by hand.
- `run_plan_execute`: plan-and-execute as in LangGraph's tutorial: a planner, then a
  `create_react_agent` executor for the first step and a replanner after every step.
- `run_supervisor`: `langgraph-supervisor`'s `create_supervisor` routing each sub-task to a
  `create_react_agent` worker, one hand-off at a time, on the shared message history.

Each returns {"seconds", "calls", "input_tokens", ...}; the wall time covers the run only
(graphs are compiled before the clock starts, agentorch's included).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, TypedDict, Union

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from pydantic import BaseModel, Field

from agentorch import Agent, Plan, Team, Verdict
from agentorch.llms import ScriptedChatModel
from benchmarks._common import (
    AGENTS,
    GOAL,
    ROLE_KEY,
    SUBTASK_KEY,
    Shape,
    Timer,
    input_tokens,
    output_for,
    specialist_response,
    team_script,
)

__all__ = ["run_agentorch", "run_send_graph", "run_plan_execute", "run_supervisor", "FRAMEWORKS"]


def _agents(shape: Shape) -> list[Agent]:
    names = dict.fromkeys([*AGENTS, *(agent for _, agent, _ in shape.subtasks)])
    return [Agent(name=a, role=f"The {a}: checks supplier data") for a in names]


def make_team(
    shape: Shape,
    latency: Any,
    *,
    script: dict[str, Any] | None = None,
    prompt_cache: int | None = None,
    **team_kwargs: Any,
) -> tuple[Team, ScriptedChatModel]:
    """A team of AGENTS on a scripted model answering `shape`'s plan (plus `script` entries);
    `prompt_cache`: the model reports cached prompt prefixes (`ScriptedChatModel.prompt_cache`)."""
    model = ScriptedChatModel(
        {**team_script(shape.plan()), **(script or {})}, latency=latency, prompt_cache=prompt_cache
    )
    kwargs: dict[str, Any] = {"max_subtasks": max(20, shape.size), "max_rounds": 1}
    kwargs.update(team_kwargs)
    return Team(agents=_agents(shape), llm=model, **kwargs), model


async def run_agentorch(
    shape: Shape, latency: Any, *, checkpointer: BaseCheckpointSaver[Any] | None = None, **team_kwargs: Any
) -> dict[str, Any]:
    team, model = make_team(shape, latency, checkpointer=checkpointer, **team_kwargs)
    team.draw()  # compile before the clock starts, as the baselines do
    with Timer() as t:
        result = await team.arun(GOAL)
    if result.status != "completed":
        raise RuntimeError(f"agentorch run ended {result.status}: {result.error}")
    calls = model.calls
    return {
        "seconds": t.seconds,
        "cpu": t.cpu,
        "calls": len(calls),
        "input_tokens": input_tokens(calls),
        "model": model,
        "thread_id": result.thread_id,
        "team": team,
        "result": result,
    }


# -- hand-written Send wave graph ----------------------------------------------------------


def _merge(left: dict[str, str] | None, right: dict[str, str] | None) -> dict[str, str]:
    return {**(left or {}), **(right or {})}


class WaveState(TypedDict, total=False):
    goal: str
    plan: list[dict[str, Any]]
    results: Annotated[dict[str, str], _merge]
    answer: str


class WorkerInput(TypedDict):
    subtask: dict[str, Any]
    inputs: dict[str, str]


def _meta(role: str, subtask: str | None = None) -> dict[str, Any]:
    return {"metadata": {ROLE_KEY: role, SUBTASK_KEY: subtask}}


class JoinerVerdict(BaseModel):
    """The hand-written joiner's decision: LLMCompiler's "finish, with the answer" or not."""

    decision: str
    feedback: str = ""
    answer: str = ""


def build_send_graph(
    model: ScriptedChatModel, *, async_route: bool = False, tasks: bool = False, joiner: bool = False
) -> StateGraph:
    """Plan, then `Send` every ready sub-task, wave after wave; critic; synthesize.

    The dispatch node and its route are sync functions, as in LangGraph's map-reduce how-to;
    `async_route=True` makes them coroutines (LangGraph then runs them on the event loop
    instead of a thread pool) — the strongest hand-written variant.

    `tasks=True`: the same calls dispatched eagerly on LangGraph's functional API, the least a
    hand-written graph does for agentorch's design (one node starts one `@task` per sub-task
    in plan order, each waiting for its dependencies' results): what LangGraph itself costs
    for per-sub-task durable tasks, with nothing of agentorch.

    `joiner=True`: one call reads the results, decides and answers (LLMCompiler's joiner; its
    answer is the run's), instead of a critic and then a synthesizer reading them twice.
    """

    async def plan(state: WaveState) -> dict[str, Any]:
        out = await model.with_structured_output(Plan).ainvoke(
            [SystemMessage("Split the goal into sub-tasks."), HumanMessage(state["goal"])],
            config=_meta("planner"),
        )
        return {"plan": [st.model_dump() for st in out.subtasks]}  # type: ignore[union-attr]

    def dispatch(state: WaveState) -> dict[str, Any]:
        return {}

    def route(state: WaveState) -> list[Send] | str:
        results = state.get("results", {})
        sends = [
            Send("worker", {"subtask": st, "inputs": {d: results[d] for d in st["depends_on"]}})
            for st in state["plan"]
            if st["id"] not in results and all(d in results for d in st["depends_on"])
        ]
        return sends or "critic"

    async def worker(inp: WorkerInput) -> dict[str, Any]:
        st = inp["subtask"]
        data = "\n".join(f"<data source={k!r}>{v}</data>" for k, v in inp["inputs"].items())
        ai = await model.ainvoke(
            [
                SystemMessage(f"You are the {st['agent']}."),
                HumanMessage(f"Goal: {GOAL}\nYour sub-task ({st['id']}): {st['description']}\n{data}"),
            ],
            config=_meta(st["agent"], st["id"]),
        )
        return {"results": {st["id"]: ai.text}}

    def results_text(state: WaveState) -> str:
        return "\n".join(
            f"<data source={st['id']!r}>{state['results'][st['id']]}</data>" for st in state["plan"]
        )

    async def critic(state: WaveState) -> dict[str, Any]:
        if joiner:
            out = await model.with_structured_output(JoinerVerdict).ainvoke(
                [
                    SystemMessage("Review the results; if good, answer the goal."),
                    HumanMessage(results_text(state)),
                ],
                config=_meta("critic"),
            )
            return {"answer": out.answer}  # type: ignore[union-attr]
        await model.with_structured_output(Verdict).ainvoke(
            [SystemMessage("Review the results."), HumanMessage(results_text(state))], config=_meta("critic")
        )
        return {}

    async def synthesize(state: WaveState) -> dict[str, Any]:
        ai = await model.ainvoke(
            [SystemMessage("Write the answer."), HumanMessage(results_text(state))],
            config=_meta("synthesizer"),
        )
        return {"answer": ai.text}

    async def adispatch(state: WaveState) -> dict[str, Any]:
        return dispatch(state)

    async def aroute(state: WaveState) -> list[Send] | str:
        return route(state)

    async def work(st: dict[str, Any], done: dict[str, asyncio.Future[str]]) -> dict[str, str]:
        inputs = {d: await done[d] for d in st["depends_on"]}
        update: dict[str, dict[str, str]] = await worker({"subtask": st, "inputs": inputs})
        return update["results"]

    work_task: Any = task(name="worker")(work)  # type: ignore[arg-type]  # ParamSpec lost

    async def run_tasks(state: WaveState) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        done: dict[str, asyncio.Future[str]] = {st["id"]: loop.create_future() for st in state["plan"]}
        futures = []
        for st in state["plan"]:
            fut = work_task(st, done)
            fut.add_done_callback(lambda f, sid=st["id"]: done[sid].set_result(f.result()[sid]))
            futures.append(fut)
        results: dict[str, str] = {}
        for fut in futures:
            results.update(await fut)
        return {"results": results}

    g = StateGraph(WaveState)
    g.add_node("plan", plan)
    g.add_node("dispatch", run_tasks if tasks else adispatch if async_route else dispatch)
    g.add_node("critic", critic)
    if not joiner:
        g.add_node("synthesize", synthesize)
    g.add_edge(START, "plan")
    g.add_edge("plan", "dispatch")
    if tasks:
        g.add_edge("dispatch", "critic")
    else:
        g.add_node("worker", worker)
        g.add_conditional_edges("dispatch", aroute if async_route else route, ["worker", "critic"])
        g.add_edge("worker", "dispatch")
    if joiner:
        g.add_edge("critic", END)
    else:
        g.add_edge("critic", "synthesize")
        g.add_edge("synthesize", END)
    return g


async def run_send_graph(
    shape: Shape,
    latency: Any,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    async_route: bool = False,
    tasks: bool = False,
    joiner: bool = True,
    script: dict[str, Any] | None = None,
    prompt_cache: int | None = None,
) -> dict[str, Any]:
    model = ScriptedChatModel(
        {**team_script(shape.plan()), **(script or {})}, latency=latency, prompt_cache=prompt_cache
    )
    # checkpointed like agentorch (whose default is an InMemorySaver), so both pay for persistence
    graph = build_send_graph(model, async_route=async_route, tasks=tasks, joiner=joiner).compile(
        checkpointer=checkpointer or InMemorySaver()
    )
    config = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 10_000}
    with Timer() as t:
        out = await graph.ainvoke({"goal": GOAL}, config)
    if len(out["results"]) != shape.size:
        raise RuntimeError("the Send graph did not finish every sub-task")
    calls = model.calls
    return {
        "seconds": t.seconds,
        "cpu": t.cpu,
        "calls": len(calls),
        "input_tokens": input_tokens(calls),
        "model": model,
        "graph": graph,
        "config": config,
    }


# -- plan-and-execute, as LangGraph's tutorial writes it ------------------------------------


class PEPlan(BaseModel):
    """Plan to follow in future."""

    steps: list[str] = Field(description="different steps to follow, in sorted order")


class PEResponse(BaseModel):
    """Response to user."""

    response: str


class PEAct(BaseModel):
    """Action to perform."""

    action: Union[PEResponse, PEPlan] = Field(  # noqa: UP007 - the tutorial's spelling
        description="Action to perform. If you want to respond to user, use Response. "
        "If you need to further use tools to get the answer, use Plan."
    )


class PlanExecute(TypedDict, total=False):
    input: str
    plan: list[str]
    past_steps: Annotated[list[tuple[str, str]], lambda a, b: a + b]
    response: str


def _steps(shape: Shape) -> list[str]:
    return [
        f"Do sub-task {sid} ({agent}): work item {sid}, check supplier data and report"
        for sid, agent, _ in shape.subtasks
    ]


async def run_plan_execute(shape: Shape, latency: Any) -> dict[str, Any]:
    from langgraph.prebuilt import create_react_agent

    steps = _steps(shape)
    replans = iter(range(1, len(steps) + 1))

    def replanner(messages: list[BaseMessage]) -> dict[str, Any]:
        done = next(replans)
        if done >= len(steps):
            return {"action": {"response": "Supplier report: all work items checked."}}
        return {"action": {"steps": steps[done:]}}

    script: dict[str, Any] = {
        "planner": [{"steps": steps}],
        "replanner": replanner,
        "*": specialist_response,  # the executor, speaking as the step's agent
    }
    agent_of = {step: agent for step, (_, agent, _) in zip(steps, shape.subtasks, strict=True)}
    model = ScriptedChatModel(script, latency=latency)
    agent_executor = create_react_agent(model, tools=[], prompt="You are a helpful assistant.")
    planner = model.with_structured_output(PEPlan)
    replanner_model = model.with_structured_output(PEAct)

    async def execute_step(state: PlanExecute) -> dict[str, Any]:
        plan = state["plan"]
        plan_str = "\n".join(f"{i + 1}. {step}" for i, step in enumerate(plan))
        task = plan[0]
        task_formatted = (
            f"For the following plan:\n{plan_str}\n\nYou are tasked with executing step {1}, {task}."
        )
        response = await agent_executor.ainvoke(
            {"messages": [("user", task_formatted)]},
            config={"metadata": {ROLE_KEY: agent_of.get(task, "executor")}},
        )
        return {"past_steps": [(task, response["messages"][-1].content)]}

    async def plan_step(state: PlanExecute) -> dict[str, Any]:
        plan = await planner.ainvoke(
            [
                SystemMessage("For the given objective, come up with a simple step by step plan."),
                HumanMessage(state["input"]),
            ],
            config={"metadata": {ROLE_KEY: "planner"}},
        )
        return {"plan": plan.steps}  # type: ignore[union-attr]

    async def replan_step(state: PlanExecute) -> dict[str, Any]:
        past = "\n".join(f"{t}: {r}" for t, r in state["past_steps"])
        output = await replanner_model.ainvoke(
            [
                HumanMessage(
                    f"Your objective was this:\n{state['input']}\n\nYour original plan was "
                    f"this:\n{chr(10).join(state['plan'])}\n\nYou have currently done the "
                    f"follow steps:\n{past}\n\nUpdate your plan accordingly."
                )
            ],
            config={"metadata": {ROLE_KEY: "replanner"}},
        )
        if isinstance(output.action, PEResponse):  # type: ignore[union-attr]
            return {"response": output.action.response}  # type: ignore[union-attr]
        return {"plan": output.action.steps}  # type: ignore[union-attr]

    def should_end(state: PlanExecute) -> str:
        return END if state.get("response") else "agent"

    workflow = StateGraph(PlanExecute)
    workflow.add_node("planner", plan_step)
    workflow.add_node("agent", execute_step)
    workflow.add_node("replan", replan_step)
    workflow.add_edge(START, "planner")
    workflow.add_edge("planner", "agent")
    workflow.add_edge("agent", "replan")
    workflow.add_conditional_edges("replan", should_end, ["agent", END])
    app = workflow.compile()
    with Timer() as t:
        out = await app.ainvoke({"input": GOAL}, {"recursion_limit": 10_000})
    if len(out["past_steps"]) != shape.size:
        raise RuntimeError("plan-and-execute did not run every step")
    calls = model.calls
    return {"seconds": t.seconds, "cpu": t.cpu, "calls": len(calls), "input_tokens": input_tokens(calls)}


# -- langgraph-supervisor --------------------------------------------------------------------


def _supervisor_router(shape: Shape, prior: int = 0) -> Any:
    order = list(shape.subtasks)
    position = iter(range(len(order) + 1))

    def route(messages: list[BaseMessage]) -> AIMessage:
        i = next(position)
        if i >= len(order):
            return AIMessage(content="Supplier report: all work items checked; see the results.")
        sid, agent, deps = order[i]
        needs = f" using the results of {', '.join(deps)} above" if deps else ""
        return AIMessage(
            content=f"Next: sub-task {sid}: work item {sid}, check supplier data and report{needs}.",
            tool_calls=[{"name": f"transfer_to_{agent}", "args": {}, "id": f"call_{uuid.uuid4().hex[:12]}"}],
        )

    return route


async def run_supervisor(
    shape: Shape, latency: Any, *, history: list[BaseMessage] | None = None
) -> dict[str, Any]:
    """`history`: earlier messages the supervisor carries (the token-cost workload)."""
    from langgraph.prebuilt import create_react_agent
    from langgraph_supervisor import create_supervisor

    names = list(dict.fromkeys(agent for _, agent, _ in shape.subtasks))

    def latency_of(role: str) -> Any:
        return latency.get(role, latency.get("*", 0.0)) if isinstance(latency, dict) else latency

    sup_model = ScriptedChatModel({"*": _supervisor_router(shape)}, latency=latency_of("supervisor"))
    # one worker model per agent, so a per-agent latency applies to its calls
    worker_models = [ScriptedChatModel({"*": specialist_response}, latency=latency_of(a)) for a in names]
    workers = [
        create_react_agent(m, tools=[], name=a, prompt=f"You are the {a}.")
        for a, m in zip(names, worker_models, strict=True)
    ]
    app = create_supervisor(
        workers,
        model=sup_model,
        prompt="You manage a team: " + ", ".join(names) + ". Hand each sub-task of the plan "
        "to its agent, one at a time, then answer.",
    ).compile()
    plan = "\n".join(
        f"- {sid} ({agent}) after {', '.join(deps) or 'nothing'}" for sid, agent, deps in shape.subtasks
    )
    messages = [*(history or []), HumanMessage(f"{GOAL}. The plan:\n{plan}")]
    with Timer() as t:
        out = await app.ainvoke({"messages": messages}, {"recursion_limit": 10_000})
    done = {m.text.split(":", 1)[0] for m in out["messages"] if m.text.startswith("Result for ")}
    if len(done) < shape.size:
        raise RuntimeError(f"the supervisor finished {len(done)} of {shape.size} sub-tasks")
    worker_calls = [c for m in worker_models for c in m.calls]
    calls = sup_model.calls + worker_calls
    return {
        "seconds": t.seconds,
        "cpu": t.cpu,
        "calls": len(calls),
        "input_tokens": input_tokens(calls),
        "supervisor_calls": sup_model.calls,
        "worker_calls": worker_calls,
    }


FRAMEWORKS = {
    "agentorch": run_agentorch,
    "send-graph": run_send_graph,
    "plan-execute": run_plan_execute,
    "supervisor": run_supervisor,
}

_ = output_for  # re-exported for workloads that build prior work
