"""A team with `memory=`: recall before planning, budgeted specialist context, summaries by the
summarizer role, what a run leaves behind, and what a later run (or process, or team) sees."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

from agentorch import Agent, Team
from agentorch.llms import ScriptedChatModel
from agentorch.memory import ChromaMemory, HashEmbeddings

INPUTS = "Inputs:\n"


def _human(call: Any) -> str:
    return next(str(m.content) for m in call.messages if isinstance(m, HumanMessage))


def _data_tokens(prompt: str) -> int:
    """Tokens of the data part of a specialist's task message, as the model receives it."""
    data = prompt.split(INPUTS, 1)[1] if INPUTS in prompt else ""
    return count_tokens_approximately([HumanMessage(data)], extra_tokens_per_message=0)


def _plan(*subtasks: dict[str, Any]) -> dict[str, Any]:
    return {"subtasks": list(subtasks)}


FACTS = {
    "id": "facts",
    "description": "Find the facts about the Globex contract renewal",
    "agent": "researcher",
}
BRIEF = {
    "id": "brief",
    "description": "Write the Globex renewal brief",
    "agent": "writer",
    "depends_on": ["facts"],
}


def _summarizer(messages: list[BaseMessage]) -> str:
    """A scripted summarizer: the first sentence of every record it was given."""
    text = str(messages[-1].content)
    firsts = re.findall(r"(?:^|\n)([A-Z][^.\n]{0,80}\.)", text)
    return "Summary: " + " ".join(firsts[:6])


def _team(
    memory: ChromaMemory, script: dict[str, Any], *, budget: int = 600, **options: Any
) -> tuple[Team, ScriptedChatModel]:
    model = ScriptedChatModel({"summarizer": _summarizer, **script})
    team = Team(
        agents=[Agent(name="researcher", role="Finds facts"), Agent(name="writer", role="Writes briefs")],
        llm=model,
        memory=memory,
        context_budget=budget,
        **options,
    )
    return team, model


def _two_step_script(fact: str, brief: str, answer: str) -> dict[str, Any]:
    return {
        "planner": [_plan(FACTS, BRIEF)],
        "researcher": [fact],
        "writer": [brief],
        "critic": [{"decision": "accept"}],
        "synthesizer": [answer],
    }


@pytest.fixture
def memory() -> ChromaMemory:
    return ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=256))


def test_planner_sees_relevant_past_results_and_notes(memory: ChromaMemory) -> None:
    memory.add(
        "The Globex contract renewal is due on 3 June 2026; owner: Dana Whitfield.",
        kind="note",
        metadata={"source": "email"},
    )
    memory.add(
        "Globex asked for a 7% discount at the last renewal.",
        kind="result",
        thread_id="old",
        agent="researcher",
        subtask_id="facts",
    )
    memory.add("The cafeteria menu changes every Tuesday.", kind="note")
    team, model = _team(memory, _two_step_script("Renewal due 3 June 2026.", "Brief.", "Done."))

    result = team.run("Prepare the Globex contract renewal brief", thread_id="new")

    assert result.status == "completed"
    [planner] = model.calls_for("planner")
    prompt = _human(planner)
    remembered = prompt.split("What the team remembers:\n", 1)[1]
    assert "due on 3 June 2026; owner: Dana Whitfield" in remembered
    assert "7% discount" in remembered
    # rendered as labelled data, with the record's kind and provenance
    assert re.search(
        r'<data source="record:r-\w+" kind="note">\n'
        r"The Globex contract renewal",
        remembered,
    )
    assert 'kind="result" agent="researcher" subtask="facts"' in remembered
    # recall happened before planning and within the budget
    assert (
        count_tokens_approximately([HumanMessage(remembered)], extra_tokens_per_message=0)
        <= team.context_budget
    )


def test_without_relevant_memory_the_planner_sees_no_memory_section(memory: ChromaMemory) -> None:
    team, model = _team(memory, _two_step_script("f", "b", "a"))
    team.run("Prepare the Globex contract renewal brief")
    assert "What the team remembers" not in _human(model.calls_for("planner")[0])


def _seed_history(memory: ChromaMemory, thread_id: str, count: int) -> int:
    texts = [
        f"Sub-task {i} found that supplier S{i % 37} quoted {i * 13} euros for part P{i}. "
        f"Delivery takes {i % 9 + 2} weeks."
        for i in range(count)
    ]
    for i, text in enumerate(texts):
        memory.add(text, kind="result", thread_id=thread_id, agent="researcher", subtask_id=f"old-{i}")
    return memory.count_tokens("\n\n".join(texts))


@pytest.mark.parametrize("history", [5, 120])
def test_specialist_context_stays_within_budget_as_history_grows(history: int) -> None:
    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(dim=256))
    budget = 500
    history_tokens = _seed_history(memory, "job", history)
    long_fact = " ".join(
        f"Supplier S{i} quoted {i * 11} euros for part P{i} on {i % 28 + 1} May." for i in range(80)
    )  # a dependency output far over the budget
    team, model = _team(memory, _two_step_script(long_fact, "Brief.", "Answer."), budget=budget)

    result = team.run("Compare supplier quotes for part P5", thread_id="job")

    assert result.status == "completed"
    for role in ("researcher", "writer"):
        [call] = model.calls_for(role)
        assert _data_tokens(_human(call)) <= budget
    writer_data = _human(model.calls_for("writer")[0]).split(INPUTS, 1)[1]
    assert '<data source="subtask:facts" agent="researcher" summarized="' in writer_data
    assert long_fact not in writer_data  # summarized, not pasted in full
    summarizer = model.calls_for("summarizer")
    assert summarizer  # at least the oversized dependency was summarized by the role
    usage = result.usage.by_role["summarizer"]
    assert usage.calls == len(summarizer) and usage.total_tokens > 0
    if history > 20:
        assert history_tokens > 4 * budget
        assert memory.count({"kind": "summary"}) >= 1  # the thread was compacted


def test_streamed_tokens_leave_out_the_summarizer(memory: ChromaMemory) -> None:
    long_fact = " ".join(f"Supplier S{i} quoted {i * 11} euros for part P{i}." for i in range(80))
    team, model = _team(memory, _two_step_script(long_fact, "Brief.", "Answer."), budget=500)
    events = list(team.stream("Compare supplier quotes for part P5", tokens=True))
    assert model.calls_for("summarizer")  # the long dependency was summarized for the writer
    tokens = [e for e in events if e["type"] == "token"]
    assert {t["role"] for t in tokens} == {"researcher", "writer", "synthesizer"}
    assert "".join(t["text"] for t in tokens if t["role"] == "writer") == "Brief."


def test_summarizer_prompt_carries_one_length_instruction(memory: ChromaMemory) -> None:
    long_fact = " ".join(f"Finding {i}: margin {i}% in week {i}." for i in range(200))
    team, model = _team(memory, _two_step_script(long_fact, "Brief.", "Answer."), budget=300)
    team.run("Margins by week")
    [call] = [c for c in model.calls_for("summarizer") if "Finding 199" in _human(c)]
    system = str(call.messages[0].content)
    human = _human(call)
    assert re.search(r"at most \d+ tokens", human)
    # names/numbers/dates are asked for once, by the summarizer prompt, not again in the text
    assert "name, number, date" in system
    assert not re.search(r"names?, numbers?", human)


def test_a_run_remembers_goal_accepted_results_feedback_and_answer(memory: ChromaMemory) -> None:
    script = {
        "planner": [_plan(FACTS, BRIEF)],
        "researcher": ["Renewal due 3 June 2026.", "Renewal due 3 June 2026; 7% discount asked."],
        "writer": ["Draft brief.", "Brief: renew by 3 June 2026, expect a 7% discount request."],
        "critic": [
            {"decision": "revise", "feedback": "Mention the discount Globex asked for.", "revise": ["facts"]},
            {"decision": "accept"},
        ],
        "synthesizer": ["Renew Globex by 3 June 2026; they will ask for 7% off."],
    }
    team, _ = _team(memory, script)
    result = team.run("Prepare the Globex contract renewal brief", thread_id="t-1")
    assert result.status == "completed" and result.rounds == 2

    stored = memory.records({"run_id": result.run_id})
    by_kind: dict[str, list[str]] = {}
    for record in stored:
        by_kind.setdefault(record.kind, []).append(record.text)
        assert record.metadata["thread_id"] == "t-1"
    assert by_kind["goal"] == ["Prepare the Globex contract renewal brief"]
    assert by_kind["feedback"] == ["Mention the discount Globex asked for."]
    results = {
        r.metadata.get("subtask_id") or r.metadata.get("output"): r.text for r in stored if r.kind == "result"
    }
    assert results == {  # the accepted attempts, not the superseded drafts
        "facts": "Renewal due 3 June 2026; 7% discount asked.",
        "brief": "Brief: renew by 3 June 2026, expect a 7% discount request.",
        "answer": "Renew Globex by 3 June 2026; they will ask for 7% off.",
    }
    # remembering is idempotent per run: storing the same run again adds nothing
    count = memory.count()
    import asyncio

    asyncio.run(
        memory.aremember_run(
            goal=result.goal,
            thread_id="t-1",
            run_id=result.run_id,
            results=result.results,
            verdicts=result.verdicts,
            answer=result.answer,
        )
    )
    assert memory.count() == count


def test_a_second_run_on_a_related_goal_finds_the_first_runs_results(memory: ChromaMemory) -> None:
    first, _ = _team(
        memory,
        _two_step_script(
            "Globex's renewal is due on 3 June 2026 and Dana Whitfield owns it.",
            "Brief: renew Globex by 3 June 2026.",
            "Renew Globex by 3 June 2026.",
        ),
    )
    first.run("Prepare the Globex contract renewal brief", thread_id="run-1")

    second_script = {
        "planner": [
            _plan({"id": "risks", "description": "List risks of the Globex renewal", "agent": "researcher"})
        ],
        "researcher": ["Risk: the deadline."],
        "critic": [{"decision": "accept"}],
        "synthesizer": ["Risk: the 3 June 2026 deadline."],
    }
    second, model = _team(memory, second_script)
    second.run("What are the risks in the Globex contract renewal?", thread_id="run-2")

    planner_prompt = _human(model.calls_for("planner")[0])
    assert "Dana Whitfield owns it" in planner_prompt
    assert "Renew Globex by 3 June 2026." in planner_prompt  # the first run's answer
    specialist_prompt = _human(model.calls_for("researcher")[0])
    assert "Dana Whitfield owns it" in specialist_prompt.split(INPUTS, 1)[1]


def test_namespaces_isolate_teams(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    acme = ChromaMemory(path, namespace="acme", embedding=HashEmbeddings(dim=256))
    initech = ChromaMemory(path, namespace="initech", embedding=HashEmbeddings(dim=256))
    team, _ = _team(
        acme,
        _two_step_script("Globex renewal: Dana Whitfield, 3 June 2026.", "Globex brief.", "Globex answer."),
    )
    team.run("Prepare the Globex contract renewal brief")
    assert acme.count() >= 4

    other, model = _team(initech, _two_step_script("f", "b", "a"))
    other.run("Prepare the Globex contract renewal brief")
    planner_prompt = _human(model.calls_for("planner")[0])
    assert "Dana Whitfield" not in planner_prompt
    assert "Dana Whitfield" not in _human(model.calls_for("researcher")[0])
    hits = initech.search("Dana Whitfield Globex renewal", k=10)
    assert hits and {h.metadata["namespace"] for h in hits} == {"initech"}
    assert not any("Dana Whitfield" in h.text for h in hits)

    again = ChromaMemory(path, namespace="acme", embedding=HashEmbeddings(dim=256))
    assert any("Dana Whitfield" in h.text for h in again.search("Globex renewal owner", k=5))


READER = """
import asyncio, json, sys
from agentorch.memory import ChromaMemory, HashEmbeddings
memory = ChromaMemory(sys.argv[1], namespace="acme", embedding=HashEmbeddings(dim=256))
recalled = asyncio.run(memory.arecall("Risks of the Globex contract renewal", thread_id="x",
                                      budget=800))
print(json.dumps({"count": memory.count(), "recalled": recalled,
                  "kinds": sorted({r.kind for r in memory.records()})}))
"""


@pytest.mark.slow
def test_a_persistent_memory_reopened_in_a_new_process_still_has_the_run(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    memory = ChromaMemory(path, namespace="acme", embedding=HashEmbeddings(dim=256))
    team, _ = _team(
        memory,
        _two_step_script(
            "Globex's renewal is due on 3 June 2026 and Dana Whitfield owns it.",
            "Brief: renew Globex by 3 June 2026.",
            "Renew Globex by 3 June 2026.",
        ),
    )
    team.run("Prepare the Globex contract renewal brief", thread_id="run-1")
    count = memory.count()

    done = subprocess.run(
        [sys.executable, "-c", READER, str(path)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["count"] == count
    assert seen["kinds"] == ["goal", "result"]
    assert "Dana Whitfield owns it" in seen["recalled"]
