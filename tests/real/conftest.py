"""The research team on the real `ChatOpenAI`, over real HTTP, against a local scripted server.

`research_script()` answers each role from the request JSON (keyed by the first line of each
role's bundled system prompt), so it is deterministic however the parallel calls interleave.
Tests swap one role's lane (`faults_then(...)`, a list of faults) to inject failures.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from langgraph.types import RetryPolicy

import agentorch.prompts as prompt_files
from agentorch import Team
from agentorch._team import retryable
from agentorch.graphs.research import build_team
from agentorch.llms import from_env
from agentorch.testing._openai_server import OpenAIServer, Reply, ToolCall, ToolCalls

#: A key no artefact of a run may ever contain.
SECRET_KEY = "sk-agentorch-real-SECRET-7Qx9Lm2Vb8"

#: Fast, deterministic graph-level retries (the default waits 0.5 s, 1 s, ... with jitter).
FAST_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.05, backoff_factor=2.0, jitter=False, retry_on=retryable
)


def _first_line(prompt: str, **values: str) -> str:
    text = prompt_files.load(prompt)
    text = prompt_files.render(text, **values) if values else text
    return text.splitlines()[0].split(" Your role")[0]


PLANNER = _first_line("planner")
CRITIC = _first_line("critic")
SYNTHESIZER = _first_line("synthesizer")


def specialist_key(name: str) -> str:
    """The script key of agent `name`: the start of its system prompt."""
    return _first_line("specialist", name=name, role="", instructions="")


RESEARCHER, ANALYST, WRITER = (specialist_key(n) for n in ("researcher", "analyst", "writer"))

PLAN = {
    "rationale": "Research technology and market in parallel, analyse, then write.",
    "subtasks": [
        {
            "id": "tech",
            "agent": "researcher",
            "depends_on": [],
            "expected_output": "",
            "description": "Research the technology: electrolyte and energy density.",
        },
        {
            "id": "market",
            "agent": "researcher",
            "depends_on": [],
            "expected_output": "",
            "description": "Research manufacturing status and the main players.",
        },
        {
            "id": "analysis",
            "agent": "analyst",
            "depends_on": ["tech", "market"],
            "expected_output": "",
            "description": "Assess opportunities and risks.",
        },
        {
            "id": "brief",
            "agent": "writer",
            "depends_on": ["analysis"],
            "expected_output": "",
            "description": "Write the one-page brief.",
        },
    ],
}
ANSWER_MARK = "Solid-state batteries: investment brief"


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return content or ""


def last_user(body: Mapping[str, Any]) -> str:
    return next((_text(m) for m in reversed(body["messages"]) if m["role"] == "user"), "")


def planner(body: dict[str, Any]) -> Reply:
    return PLAN


def researcher(body: dict[str, Any]) -> Reply:
    tool_results = [_text(m) for m in body["messages"] if m["role"] == "tool"]
    if not tool_results:
        query = "electrolyte density" if "technology" in last_user(body) else "manufacturing players"
        return ToolCalls([ToolCall("search", {"query": query})])
    return "Findings: " + re.sub(r"</?data[^>]*>", "", " ".join(tool_results)).strip()


def analyst(body: dict[str, Any]) -> Reply:
    text = "Opportunity: about twice the energy density of lithium-ion."
    if "reviewer asked for changes" in last_user(body):
        text += " Risks: dendrites and manufacturing cost."
    return text


def writer(body: dict[str, Any]) -> Reply:
    analysis = re.search(r'source="subtask:analysis"[^>]*>\n(.*?)\n</data>', last_user(body), re.S)
    return f"{ANSWER_MARK}\n\n{analysis.group(1) if analysis else '(no analysis)'}"


def critic(body: dict[str, Any]) -> Reply:
    if "Risks:" not in last_user(body):
        return {
            "decision": "revise",
            "revise": ["analysis"],
            "feedback": "Name the main risks for an investor.",
        }
    return {"decision": "accept", "revise": [], "feedback": "Complete."}


def synthesizer(body: dict[str, Any]) -> Reply:
    brief = re.search(r'source="subtask:brief"[^>]*>\n(.*?)\n</data>', last_user(body), re.S)
    return brief.group(1) if brief else "No brief."


def research_script(**lanes: Any) -> dict[str, Any]:
    """Every role answering normally; `lanes` (researcher=..., critic=...) replace roles."""
    script: dict[str, Any] = {
        PLANNER: planner,
        RESEARCHER: researcher,
        ANALYST: analyst,
        WRITER: writer,
        CRITIC: critic,
        SYNTHESIZER: synthesizer,
    }
    keys = {
        "planner": PLANNER,
        "researcher": RESEARCHER,
        "analyst": ANALYST,
        "writer": WRITER,
        "critic": CRITIC,
        "synthesizer": SYNTHESIZER,
    }
    for role, lane in lanes.items():
        script[keys[role]] = lane
    return script


def faults_then(
    answer: Callable[[dict[str, Any]], Reply], *faults: Reply
) -> Callable[[dict[str, Any]], Reply]:
    """A lane that gives `faults` to its first requests, then answers with `answer`."""
    pending = list(faults)
    lock = threading.Lock()

    def lane(body: dict[str, Any]) -> Reply:
        with lock:
            if pending:
                return pending.pop(0)
        return answer(body)

    return lane


def always(reply: Reply) -> Callable[[dict[str, Any]], Reply]:
    """A lane that always gives `reply` (e.g. a server that stays down)."""
    return lambda body: reply


def env_for(server: OpenAIServer, **settings: str) -> dict[str, str]:
    """The environment `from_env` reads for `server`: short timeout, no SDK retries."""
    env = {
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": SECRET_KEY,
        "AGENTORCH_MODEL": "primary",
        "AGENTORCH_TIMEOUT": "5",
        "AGENTORCH_MAX_RETRIES": "0",
    }
    env.update(settings)
    return env


def http_team(server: OpenAIServer, llm: Any = None, **options: Any) -> Team:
    """The research team on a real `ChatOpenAI` pointed at `server`."""
    options.setdefault("retry", FAST_RETRY)
    return build_team(llm if llm is not None else from_env(env=env_for(server)), **options)


def calls_by_role(server: OpenAIServer) -> Counter[str]:
    """How many chat requests each role's script key answered."""
    names = {
        PLANNER: "planner",
        RESEARCHER: "researcher",
        ANALYST: "analyst",
        WRITER: "writer",
        CRITIC: "critic",
        SYNTHESIZER: "synthesizer",
    }
    return Counter(names.get(r.script_key or "", "?") for r in server.requests if r.method == "POST")


def retry_counts(server: OpenAIServer, key: str) -> list[str]:
    """`x-stainless-retry-count` of each request one role's key answered (SDK retries)."""
    return [r.headers.get("x-stainless-retry-count", "") for r in server.requests if r.script_key == key]
