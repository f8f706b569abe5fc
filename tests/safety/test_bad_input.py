"""Bad input everywhere: every public constructor and loader either works or raises one of our
errors (or ValueError/TypeError) with a message — never an AttributeError/KeyError from inside,
never a hang. Files that are truncated or not UTF-8 get an error naming the file."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

from agentorch import (
    Agent,
    AgentorchError,
    Budget,
    ConfigError,
    Plan,
    RunResult,
    SubTask,
    Team,
    Verdict,
    tool,
)
from agentorch.llms import ScriptedChatModel
from tests.helpers import ACCEPT, plan, st

from .conftest import search

pytestmark = pytest.mark.timeout(120)

ALLOWED = (AgentorchError, ValueError, TypeError)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

scalars = (
    s.none()
    | s.booleans()
    | s.integers()
    | s.integers(min_value=2**63)
    | s.floats()
    | s.text()
    | s.binary(max_size=8)
    | s.just(object())
)
anything = s.recursive(
    scalars,
    lambda inner: (
        s.lists(inner, max_size=3)
        | s.tuples(inner, inner)
        | s.dictionaries(s.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
LLM = ScriptedChatModel({"*": []})


def works_or_explains(build: Callable[[], Any]) -> Any:
    """Call `build`; an error must be one of ours (or ValueError/TypeError) and say something."""
    try:
        return build()
    except ALLOWED as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        return None


@given(
    name=anything | s.text(),
    role=anything | s.text(),
    instructions=anything,
    tools=anything | s.lists(s.just(search), max_size=2),
    llm=anything,
)
@SETTINGS
def test_agent(name, role, instructions, tools, llm) -> None:
    agent = works_or_explains(
        lambda: Agent(name=name, role=role, instructions=instructions, tools=tools, llm=llm)
    )
    if agent is not None:
        assert repr(agent) and agent.name == name
        works_or_explains(lambda: Team(agents=[agent], llm=LLM))


TEAM_OPTIONS = [
    "llms",
    "name",
    "max_rounds",
    "max_subtasks",
    "plan_retries",
    "max_tool_calls",
    "critic",
    "approve_plan",
    "budget",
    "checkpointer",
    "memory",
    "context_budget",
    "retry",
    "model_timeout",
    "tool_timeout",
    "prompts",
]


@given(
    agents=anything | s.just([Agent(name="a", role="r")]),
    llm=anything | s.just(LLM),
    options=s.dictionaries(s.sampled_from(TEAM_OPTIONS), anything, max_size=4),
)
@SETTINGS
def test_team(agents, llm, options) -> None:
    team = works_or_explains(lambda: Team(agents=agents, llm=llm, **options))
    if team is not None:
        for t in (team.model_timeout, team.tool_timeout):
            assert t is None or t > 0  # never NaN: it would time every call out at once
        assert team.draw()


@given(
    s.dictionaries(
        s.sampled_from(["max_llm_calls", "max_tokens", "max_seconds", "other"]), anything, max_size=3
    )
)
@SETTINGS
def test_budget(limits) -> None:
    budget = works_or_explains(lambda: Budget(**limits))
    if budget is not None and budget.max_seconds is not None:
        assert budget.max_seconds > 0


@given(anything)
@SETTINGS
def test_plan_subtask_and_verdict_validation(raw) -> None:
    for model in (Plan, SubTask, Verdict):
        works_or_explains(lambda m=model: m.model_validate(raw))
        works_or_explains(lambda m=model: m.model_validate_json(json.dumps(raw, default=str)))
        if isinstance(raw, dict):
            works_or_explains(lambda m=model: m(**{str(k): v for k, v in raw.items()}))


@given(
    script=anything | s.dictionaries(s.text(max_size=5), s.lists(anything, max_size=2)),
    latency=anything | s.floats(max_value=0.01),
)
@SETTINGS
def test_scripted_chat_model(script, latency) -> None:
    model = works_or_explains(lambda: ScriptedChatModel(script, latency=latency))
    if model is None:
        return
    delays = latency.values() if isinstance(latency, dict) else [latency]
    if any(d > 0.01 for d in delays):
        return  # a long latency is honoured (it sleeps): not a hang to look for here
    for role in list(getattr(model, "script", {}))[:2] + ["nobody"]:
        try:
            model.invoke("hello", config={"metadata": {"agentorch_role": role}})
        except BaseException as e:
            # a scripted exception instance is raised on purpose (fault injection)
            scripted = (
                [r for r in model.script.get(role, []) if isinstance(r, BaseException)]
                if isinstance(model.script.get(role), list)
                else []
            )
            if e in scripted:
                continue
            assert isinstance(e, ALLOWED), f"{type(e).__name__}: {e}"
            assert str(e).strip()


@given(timeout=anything)
@SETTINGS
def test_tool_timeout_option(timeout) -> None:
    def f(x: str) -> str:
        """Echo."""
        return x

    marked = works_or_explains(lambda: tool(timeout=timeout)(f))
    if marked is not None and timeout is not None:
        assert timeout > 0 and not math.isnan(timeout)


def test_nan_timeouts_are_refused() -> None:
    # found by the properties above: NaN passed `t <= 0`, and then every call timed out at once;
    # a scripted latency of -9223372037.0 raised OverflowError from time.sleep
    with pytest.raises(ConfigError, match="model_timeout"):
        Team(agents=[Agent(name="a", role="r")], llm=LLM, model_timeout=float("nan"))
    with pytest.raises(ConfigError, match="tool_timeout"):
        Team(agents=[Agent(name="a", role="r")], llm=LLM, tool_timeout=float("nan"))

    def echo(x: str) -> str:
        """Echo."""
        return x

    for bad in (float("nan"), "5", True, -1):
        with pytest.raises(ConfigError, match="timeout"):
            tool(timeout=bad)(echo)
    for bad in (float("nan"), -9223372037.0, 1e300, "0.1", {"writer": -1}):
        with pytest.raises(ConfigError, match="latency"):
            ScriptedChatModel({}, latency=bad)


@given(goal=anything | s.text(max_size=200))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_goal(goal) -> None:
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "writer"))], "writer": ["A"], "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    team = Team(agents=[Agent(name="writer", role="Writes")], llm=llm)
    result = works_or_explains(lambda: team.run(goal))
    if result is not None:
        assert result.status == "completed" and result.goal == goal.strip()


@given(answer=anything | s.builds(lambda: plan(st("z", "writer"))))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_plan_approval_answer(answer) -> None:
    llm = ScriptedChatModel(
        {"planner": [plan(st("a", "writer"))], "writer": ["A"], "critic": [ACCEPT], "synthesizer": ["ok"]}
    )
    team = Team(agents=[Agent(name="writer", role="Writes")], llm=llm, approve_plan=True)
    team.run("goal", thread_id="ask")
    result = works_or_explains(lambda: team.resume("ask", approve=answer))
    if result is None:  # refused: the run still waits, and a valid answer continues it
        assert team.result("ask").status == "interrupted"
        assert team.resume("ask", approve=True).status == "completed"


# -- files ------------------------------------------------------------------------------------


def _run_record(tmp: Path) -> Path:
    llm = ScriptedChatModel(
        {
            "planner": [plan(st("a", "writer"))],
            "writer": ["Åpen — ✓"],
            "critic": [ACCEPT],
            "synthesizer": ["ok"],
        }
    )
    path = tmp / "run.json"
    Team(agents=[Agent(name="writer", role="Writes")], llm=llm).run("goal").save(path)
    return path


def test_every_truncation_of_a_run_file_names_the_file(tmp_path: Path) -> None:
    good = _run_record(tmp_path).read_bytes()
    assert RunResult.load(tmp_path / "run.json").results["a"].output == "Åpen — ✓"
    cut = tmp_path / "cut.json"
    for n in range(0, len(good), max(1, len(good) // 200)):
        cut.write_bytes(good[:n])
        with pytest.raises(ConfigError, match="cut.json"):
            RunResult.load(cut)
    latin = tmp_path / "latin.json"
    latin.write_bytes(good.decode("utf-8").encode("latin-1", errors="replace").replace(b"?", b"\xe9"))
    with pytest.raises(ConfigError, match="latin.json"):
        RunResult.load(latin)


@given(
    s.binary(max_size=300)
    | s.text(max_size=300).map(str.encode)
    | anything.map(lambda v: json.dumps(v, default=str).encode())
)
@SETTINGS
def test_run_file_with_any_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.getbasetemp() / "any-run.json"
    path.write_bytes(data)
    try:
        RunResult.load(path)
    except ConfigError as e:
        assert "any-run.json" in str(e)


def test_missing_run_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises((ConfigError, FileNotFoundError), match="nowhere.json"):
        RunResult.load(tmp_path / "nowhere.json")


# -- memory constructors -----------------------------------------------------------------------


@given(
    namespace=anything | s.text(max_size=140),
    options=s.dictionaries(
        s.sampled_from(["chunk_tokens", "chunk_overlap", "hnsw", "token_counter", "embedding"]),
        anything,
        max_size=2,
    ),
)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_memory_constructor(namespace, options) -> None:
    from agentorch.memory import ChromaMemory, HashEmbeddings

    options.setdefault("embedding", HashEmbeddings(dim=32))
    memory = works_or_explains(lambda: ChromaMemory.ephemeral(namespace=namespace, **options))
    if memory is not None:
        memory.close()


# -- eval suite and results loaders ---------------------------------------------------------------


def _shipped_suite() -> Path:
    suites = sorted((Path(__file__).parents[2] / "evals" / "suites").glob("*.yaml"))
    if not suites:
        pytest.skip("no shipped suite files")
    return suites[0]


def test_every_truncation_of_a_suite_file_names_the_file(tmp_path: Path) -> None:
    evals = pytest.importorskip("agentorch.evals")
    good = _shipped_suite().read_bytes()
    cut = tmp_path / "cut-suite.yaml"
    for n in range(0, len(good), max(1, len(good) // 100)):
        cut.write_bytes(good[:n])
        try:
            evals.load_suite(cut)
        except ConfigError as e:
            assert "cut-suite.yaml" in str(e)
    cut.write_bytes(b"name: x\ncases: [\xff\xfe]\n")
    with pytest.raises(ConfigError, match="cut-suite.yaml"):
        evals.load_suite(cut)


@given(s.binary(max_size=200) | anything.map(lambda v: json.dumps(v, default=str).encode()))
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_suite_and_results_files_with_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    evals = pytest.importorskip("agentorch.evals")
    base = tmp_path_factory.getbasetemp()
    for name, load in (("any-suite.yaml", evals.load_suite), ("any-results.json", evals.load_results)):
        path = base / name
        path.write_bytes(data)
        try:
            load(path)
        except ConfigError as e:
            assert name in str(e)
