"""A ready-made research team: planner, researcher, analyst, writer (+ critic, synthesizer).

`team`, the compiled `graph` and `make_graph()` (what `langgraph.json` serves) use the model
configured in the environment (`OPENAI_API_KEY` / `OPENAI_BASE_URL`, `AGENTORCH_MODEL`,
per-role `AGENTORCH_<ROLE>_MODEL`). `AGENTORCH_MODEL=scripted` selects the offline demo model instead:
a deterministic `ScriptedChatModel` whose answers are computed from the messages, so it serves
any number of runs. `build_team(llm)` builds the same team on any model.
"""

from __future__ import annotations

import os
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph

from agentorch import Agent, Team, tool
from agentorch.llms import ScriptedChatModel

# `team` and `graph` are module attributes too, built on first access (see `__getattr__`); they
# stay out of `__all__` so `from agentorch.graphs.research import *` never builds a team
__all__ = ["build_team", "demo_model", "make_graph", "search", "DEMO_GOAL"]

DEMO_GOAL = "Write a one-page brief on solid-state batteries for an investment committee"

# A tiny offline corpus so the demo's researcher has something real to search. Swap `search`
# for a real search tool with `build_team(llm, search_tool=...)`.
_CORPUS = {
    "electrolyte": "Solid-state batteries replace the liquid electrolyte with a solid one "
    "(sulfide, oxide or polymer), which removes the flammable solvent.",
    "density": "Lab cells with lithium-metal anodes reach 400-500 Wh/kg, against about "
    "250-300 Wh/kg for today's best lithium-ion cells.",
    "manufacturing": "Dendrites, interface resistance and dry-room manufacturing keep costs "
    "high; pilot lines target 2027-2028 for first vehicle programs.",
    "players": "Toyota, Samsung SDI, QuantumScape and Solid Power have announced pilot "
    "production; CATL pursues semi-solid cells first.",
}


@tool
def search(query: str) -> str:
    """Search the research corpus for facts about a topic."""
    words = set(re.findall(r"[a-z]+", query.lower()))
    hits = [text for key, text in _CORPUS.items() if key in words or words & set(text.lower().split())]
    return "\n".join(hits[:3]) or "No results."


def build_team(llm: BaseChatModel, *, search_tool: Any = search, **options: Any) -> Team:
    """The research team on `llm`; `options` go to `Team` (max_rounds, memory, budget, ...)."""
    agents = [
        Agent(name="researcher", role="Finds and checks facts with the search tool", tools=[search_tool]),
        Agent(name="analyst", role="Weighs evidence: opportunities, risks, numbers"),
        Agent(name="writer", role="Writes clear, well-structured reports"),
    ]
    options.setdefault("max_rounds", 3)
    return Team(agents=agents, llm=llm, name="research", **options)


# -- the offline demo model ---------------------------------------------------------------

_DEMO_PLAN = {
    "rationale": "Gather facts on technology and market in parallel, analyse, then write.",
    "subtasks": [
        {
            "id": "tech",
            "agent": "researcher",
            "description": "Research the technology: electrolyte types and energy density.",
            "expected_output": "Key technical facts with numbers.",
        },
        {
            "id": "market",
            "agent": "researcher",
            "description": "Research manufacturing status and the main players.",
            "expected_output": "Who is building what, and when.",
        },
        {
            "id": "analysis",
            "agent": "analyst",
            "depends_on": ["tech", "market"],
            "description": "Assess opportunities and risks for an investor.",
        },
        {
            "id": "brief",
            "agent": "writer",
            "depends_on": ["analysis"],
            "description": "Write the one-page brief.",
        },
    ],
}


def _last_human(messages: list[BaseMessage]) -> str:
    return next((str(m.content) for m in reversed(messages) if m.type == "human"), "")


def _researcher(messages: list[BaseMessage]) -> AIMessage | str:
    results = [str(m.content) for m in messages if isinstance(m, ToolMessage)]
    if not results:
        topic = "electrolyte density" if "technology" in _last_human(messages) else "manufacturing players"
        return AIMessage("", tool_calls=[{"name": "search", "args": {"query": topic}, "id": "s1"}])
    facts = re.sub(r"</?data[^>]*>", "", "\n".join(results)).strip()
    return f"Findings:\n{facts}"


def _analyst(messages: list[BaseMessage]) -> str:
    task = _last_human(messages)
    text = (
        "Opportunity: roughly 1.5-2x the energy density of lithium-ion and safer cells. "
        "Timing: pilot lines now, vehicles from 2027-2028."
    )
    if "reviewer asked for changes" in task:
        text += (
            " Risks: dendrite growth, interface resistance and manufacturing cost may delay "
            "scale-up; semi-solid cells may capture the market first."
        )
    return text


def _writer(messages: list[BaseMessage]) -> str:
    task = _last_human(messages)
    analysis = re.search(r'source="subtask:analysis"[^>]*>\n(.*?)\n</data>', task, re.S)
    body = analysis.group(1) if analysis else "(no analysis)"
    return f"Solid-state batteries: investment brief\n\n{body}\n\nRecommendation: watch pilot-line yields."


def _critic(messages: list[BaseMessage]) -> dict[str, Any]:
    results = _last_human(messages)
    if "Risks:" not in results:
        return {
            "decision": "revise",
            "revise": ["analysis"],
            "feedback": "The analysis must name the main risks for an investor.",
        }
    return {"decision": "accept", "feedback": "Complete and sourced."}


def _synthesizer(messages: list[BaseMessage]) -> str:
    brief = re.search(r'source="subtask:brief"[^>]*>\n(.*?)\n</data>', _last_human(messages), re.S)
    return brief.group(1) if brief else "No brief was produced."


def demo_model(latency: float = 0.0) -> ScriptedChatModel:
    """The deterministic offline model of the demo; `latency` seconds per call."""
    return ScriptedChatModel(
        {
            "planner": lambda _m: _DEMO_PLAN,
            "researcher": _researcher,
            "analyst": _analyst,
            "writer": _writer,
            "critic": _critic,
            "synthesizer": _synthesizer,
            "summarizer": lambda m: _last_human(m)[:400],
        },
        latency=latency,
        model_name="scripted-demo",
    )


def _model_from_env() -> BaseChatModel:
    if os.environ.get("AGENTORCH_MODEL", "").strip().lower() == "scripted":
        return demo_model()
    from agentorch.llms import from_env

    return from_env()


_built: dict[str, Any] = {}


def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The research graph for LangGraph Server (`langgraph.json` points here).

    A factory, because the server looks the name up in the module's namespace (the lazy
    `graph` attribute is invisible to it), and compiled without a checkpointer: the server
    brings its own persistence and refuses graphs that carry one. Built once, on first use,
    on the model from the environment (`AGENTORCH_MODEL=scripted` for the offline demo).
    """
    if "served" not in _built:
        _built["served"] = build_team(_model_from_env()).compile(checkpointer=False)
    return _built["served"]


def __getattr__(name: str) -> Any:
    # `team` and `graph` are built on first access, so importing `build_team` or `demo_model`
    # never requires a configured model.
    if name not in ("team", "graph"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if "team" not in _built:
        _built["team"] = build_team(_model_from_env())
        _built["graph"] = _built["team"].compile()
    return _built[name]
