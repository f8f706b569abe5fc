"""The research eval case written by hand on LangGraph: the baseline of "CPU per eval case".

What a careful LangGraph user would write for the research team's run, making the same model
calls on the same offline demo model (`agentorch.graphs.research.demo_model`): a planner
node (structured `Plan`), a dispatch node whose route `Send`s every ready sub-task, a
specialist node running its agent's tool-calling loop (the researchers call `search`, then
answer), a critic node (structured `Verdict`) that sends the named sub-tasks and their
dependents back with its feedback and the previous attempt, and a synthesizer. Checkpointed in
memory, like an agentorch run; compiled once and given each case's fresh model through
LangGraph's runtime context, as agentorch shares one compiled graph.

`same_calls()` checks that one case makes exactly the calls an agentorch eval case makes (role,
sub-task, tools offered, answer), so the benchmark compares like with like.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agentorch import Plan, Verdict
from agentorch.graphs.research import DEMO_GOAL, search
from agentorch.llms import ScriptedChatModel
from benchmarks._common import ROLE_KEY, SUBTASK_KEY

__all__ = ["build_graph", "run_case", "same_calls"]

AGENTS = {
    "researcher": ("Finds and checks facts with the search tool", [search]),
    "analyst": ("Weighs evidence: opportunities, risks, numbers", []),
    "writer": ("Writes clear, well-structured reports", []),
}
MAX_ROUNDS = 3
MAX_TOOL_CALLS = 8


def _results(left: dict[str, str] | None, right: dict[str, str | None] | None) -> dict[str, str]:
    """Merge sub-task outputs from parallel branches; None removes one (sent back)."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class CaseState(TypedDict, total=False):
    goal: str
    plan: list[dict[str, Any]]
    results: Annotated[dict[str, str], _results]
    feedback: dict[str, tuple[str, str]]  # sub-task id -> (the critic's feedback, previous attempt)
    rounds: int
    answer: str


class SpecialistInput(TypedDict):
    goal: str
    subtask: dict[str, Any]
    inputs: dict[str, str]
    feedback: tuple[str, str] | None


@dataclass(frozen=True)
class CaseContext:
    model: ScriptedChatModel


def _meta(role: str, subtask: str | None = None) -> dict[str, Any]:
    return {"metadata": {ROLE_KEY: role, SUBTASK_KEY: subtask}}


def _data(source: str, text: str) -> str:
    return f'<data source="{source}">\n{text}\n</data>'


def _results_text(state: CaseState) -> str:
    return "\n".join(_data(f"subtask:{st['id']}", state["results"][st["id"]]) for st in state["plan"])


async def plan(state: CaseState, runtime: Runtime[CaseContext]) -> dict[str, Any]:
    team = "\n".join(f"- {name}: {role}" for name, (role, _) in AGENTS.items())
    out = await runtime.context.model.with_structured_output(Plan).ainvoke(
        [SystemMessage(f"Split the goal into sub-tasks for the team:\n{team}"), HumanMessage(state["goal"])],
        config=_meta("planner"),
    )
    return {"plan": [st.model_dump() for st in out.subtasks], "rounds": 1}  # type: ignore[union-attr]


def dispatch(state: CaseState) -> dict[str, Any]:
    return {}


def route(state: CaseState) -> list[Send] | str:
    results, feedback = state.get("results", {}), state.get("feedback", {})
    sends = [
        Send(
            "specialist",
            {
                "goal": state["goal"],
                "subtask": st,
                "inputs": {d: results[d] for d in st["depends_on"]},
                "feedback": feedback.get(st["id"]),
            },
        )
        for st in state["plan"]
        if st["id"] not in results and all(d in results for d in st["depends_on"])
    ]
    return sends or "critic"


async def specialist(inp: SpecialistInput, runtime: Runtime[CaseContext]) -> dict[str, Any]:
    st = inp["subtask"]
    role, tools = AGENTS[st["agent"]]
    task = f"Team goal: {inp['goal']}\n\nYour sub-task ({st['id']}): {st['description']}"
    if inp["feedback"]:
        feedback, previous = inp["feedback"]
        task += (
            "\n\nA reviewer asked for changes:\n"
            + _data("critic", feedback)
            + "\n"
            + _data("previous", previous)
        )
    if inp["inputs"]:
        task += "\n\nInputs:\n" + "\n".join(_data(f"subtask:{k}", v) for k, v in inp["inputs"].items())
    messages: list[BaseMessage] = [SystemMessage(f"You are {st['agent']}: {role}"), HumanMessage(task)]
    model = runtime.context.model
    llm = model.bind_tools(tools) if tools else model
    by_name = {t.name: t for t in tools}
    for _ in range(MAX_TOOL_CALLS):
        ai = await llm.ainvoke(messages, config=_meta(st["agent"], st["id"]))
        if not isinstance(ai, AIMessage) or not ai.tool_calls:
            break
        messages.append(ai)
        for call in ai.tool_calls:
            result = await by_name[call["name"]].ainvoke(call["args"])
            messages.append(ToolMessage(_data(f"tool:{call['name']}", str(result)), tool_call_id=call["id"]))
    return {"results": {st["id"]: ai.text}}


async def critic(state: CaseState, runtime: Runtime[CaseContext]) -> dict[str, Any]:
    verdict = await runtime.context.model.with_structured_output(Verdict).ainvoke(
        [
            SystemMessage("Review the results: accept, or revise named sub-tasks."),
            HumanMessage(_results_text(state)),
        ],
        config=_meta("critic"),
    )
    if verdict.decision != "revise" or state["rounds"] >= MAX_ROUNDS:  # type: ignore[union-attr]
        return {}
    redo = set(verdict.revise)  # type: ignore[union-attr]
    for st in state["plan"]:  # in plan order, so dependents follow what they depend on
        if redo & set(st["depends_on"]):
            redo.add(st["id"])
    feedback = {i: (verdict.feedback, state["results"][i]) for i in verdict.revise}  # type: ignore[union-attr]
    return {"results": dict.fromkeys(redo), "feedback": feedback, "rounds": state["rounds"] + 1}


def after_critic(state: CaseState) -> str:
    return "dispatch" if len(state["results"]) < len(state["plan"]) else "synthesize"


async def synthesize(state: CaseState, runtime: Runtime[CaseContext]) -> dict[str, Any]:
    ai = await runtime.context.model.ainvoke(
        [SystemMessage("Write the final answer from the results."), HumanMessage(_results_text(state))],
        config=_meta("synthesizer"),
    )
    return {"answer": ai.text}


def build_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The research case as a LangGraph graph, compiled once with an in-memory checkpointer."""
    g = StateGraph(CaseState, context_schema=CaseContext)
    g.add_node("plan", plan)
    g.add_node("dispatch", dispatch)
    g.add_node("specialist", specialist)
    g.add_node("critic", critic)
    g.add_node("synthesize", synthesize)
    g.add_edge(START, "plan")
    g.add_edge("plan", "dispatch")
    g.add_conditional_edges("dispatch", route, ["specialist", "critic"])
    g.add_edge("specialist", "dispatch")
    g.add_conditional_edges("critic", after_critic, ["dispatch", "synthesize"])
    g.add_edge("synthesize", END)
    return g.compile(checkpointer=InMemorySaver())


async def run_case(graph: CompiledStateGraph[Any, Any, Any, Any], model: ScriptedChatModel) -> str:
    """One research case on `graph` with a fresh `model`; returns the answer."""
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    out = await graph.ainvoke({"goal": DEMO_GOAL}, config, context=CaseContext(model=model))
    return str(out["answer"])


def call_signature(calls: list[Any]) -> Counter[tuple[Any, ...]]:
    """The calls as a multiset of (role, sub-task, tools offered, answer text, tool calls)."""
    return Counter(
        (
            c.role,
            c.subtask_id,
            tuple(c.tools),
            c.response.text if c.response else None,
            tuple((t["name"], repr(t["args"])) for t in c.response.tool_calls) if c.response else (),
        )
        for c in calls
    )


def same_calls(agentorch_calls: list[Any], hand_written_calls: list[Any]) -> None:
    """Raise unless both runs made the same model calls with the same answers."""
    a, h = call_signature(agentorch_calls), call_signature(hand_written_calls)
    if a != h:
        raise RuntimeError(
            f"the hand-written graph's calls differ: only agentorch {a - h}, only hand-written {h - a}"
        )
