"""Workload 3 — token cost: prompt tokens per run against a hand-written graph (issue 27), and
as prior work grows (10, 100, 1,000 prior sub-tasks).

**Per run** (chain 48, fan 47+1, layers 6x8; specialists answer about 200 tokens): prompt tokens
of agentorch with its defaults (critic on), with `critic=False`, and with a separate synthesizer
(`Team(synthesizer=True)`), next to two hand-written LangGraph graphs making the least calls
that design needs: plan, `Send` waves of workers given their dependencies' results, then either
one joiner call that reviews and answers (LLMCompiler) or a critic and a synthesizer. Every
model reports cached prompt prefixes like OpenAI (`ScriptedChatModel(prompt_cache=1024)`); the
"cached share" column is the share of prompt tokens a prefix cache would serve.

**As prior work grows:
The job so far (N finished sub-tasks of about 90 tokens each) is the same for both sides; then
the same 4 new sub-tasks run (three independent ones and a report that joins them):

- agentorch with memory: `ChromaMemory.ephemeral(embedding=HashEmbeddings())`, the prior work
  stored on the run's thread through the team-memory API (`aremember_run`), and
  `Team(memory=..., context_budget=2000)`: each specialist gets its dependencies, retrieved
  records and the thread's rolling summary within the budget; the "summarizer" role compacts
  old records (a scripted extractive summary), and those calls are counted in the run's tokens.
- agentorch without memory (reference): the prior work is invisible, so the cost stays flat.
- langgraph-supervisor carrying the whole message history: the prior sub-tasks' outputs are in
  its `messages` (outputs only — a real transcript would also hold hand-off messages, so this
  understates the supervisor), and each hand-off passes the history to the worker.

Token counts are langchain-core's `count_tokens_approximately` over each call's messages, the
same for everyone (the scripted model's `usage_metadata`). Latency is zero: this is about tokens.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from statistics import mean
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agentorch import SubTaskResult
from benchmarks._common import (
    AGENTS,
    ANSWER,
    GOAL,
    Shape,
    cached_share,
    chain,
    fan,
    input_tokens,
    layers,
    machine_info,
    output_for,
    print_table,
    ratio,
    subtask_in,
    write_json,
)
from benchmarks._frameworks import make_team, run_agentorch, run_send_graph, run_supervisor

CONTEXT_BUDGET = 2000
NEW_WORK = Shape(
    "fan",
    "3+1",
    (
        ("q1", "researcher", ()),
        ("q2", "analyst", ()),
        ("q3", "writer", ()),
        ("report", "writer", ("q1", "q2", "q3")),
    ),
)


TABLE_SIZE = 48
PROMPT_CACHE = 1024  # OpenAI caches prompt prefixes from 1,024 tokens, in steps of 128
TARGET_RATIO = 1.2  # agentorch's prompt tokens (defaults) / the hand-written graph's


def long_output(subtask_id: str) -> str:
    """A specialist answer of about 200 tokens naming its sub-task."""
    return " ".join(output_for(f"{subtask_id}.{k}") for k in range(4))


def _long_answer(messages: list[BaseMessage]) -> str:
    return long_output(subtask_in(messages))


TABLE_SCRIPT: dict[str, Any] = {name: _long_answer for name in AGENTS}


async def _per_run(size: int) -> list[dict[str, Any]]:
    """Prompt tokens per run: agentorch's set-ups and the hand-written graphs, per shape."""
    rows = []
    for shape in (chain(size), fan(size), layers(size)):
        cells = {
            "hand-written, joiner": await run_send_graph(
                shape, 0.0, script=TABLE_SCRIPT, prompt_cache=PROMPT_CACHE
            ),
            "hand-written, critic + synthesizer": await run_send_graph(
                shape, 0.0, joiner=False, script=TABLE_SCRIPT, prompt_cache=PROMPT_CACHE
            ),
            "agentorch (defaults)": await run_agentorch(
                shape, 0.0, script=TABLE_SCRIPT, prompt_cache=PROMPT_CACHE
            ),
            "agentorch, synthesizer=True": await run_agentorch(
                shape, 0.0, script=TABLE_SCRIPT, prompt_cache=PROMPT_CACHE, synthesizer=True
            ),
            "agentorch, critic=False": await run_agentorch(
                shape, 0.0, script=TABLE_SCRIPT, prompt_cache=PROMPT_CACHE, critic=False
            ),
        }
        joiner = cells["hand-written, joiner"]["input_tokens"]
        pair = cells["hand-written, critic + synthesizer"]["input_tokens"]
        for name, c in cells.items():
            rows.append(
                {
                    "shape": shape.label,
                    "framework": name,
                    "calls": c["calls"],
                    "prompt_tokens": c["input_tokens"],
                    "vs_joiner": ratio(c["input_tokens"], joiner),
                    "vs_critic_synthesizer": ratio(c["input_tokens"], pair),
                    "cached_share": cached_share(c["model"].calls),
                }
            )
        print(
            f"  {shape.label}: " + ", ".join(f"{n} {c['input_tokens']}" for n, c in cells.items()), flush=True
        )
    return rows


def _count(text: str) -> int:
    from langchain_core.messages.utils import count_tokens_approximately

    return count_tokens_approximately([HumanMessage(text)]) - 3  # the text alone, no message overhead


async def _prompt_parts() -> list[list[Any]]:
    """Tokens of each part of one specialist prompt (s5 of chain 48: one dependency), and of
    what is not sent (a plan overview) for comparison."""
    shape = chain(TABLE_SIZE)
    out = await run_agentorch(shape, 0.0, script=TABLE_SCRIPT)
    call = next(c for c in out["model"].calls if c.subtask_id == "s5")
    system, human = call.messages[0].text, call.messages[1].text
    role_line, *rest = system.split("\n", 1)
    goal, task, inputs = human.split("\n\n", 2)
    overview = "\n".join(
        f"- {sid} ({agent}) after {', '.join(deps) or '-'}" for sid, agent, deps in shape.subtasks
    )
    return [
        ["system: name and role", _count(role_line), "sent"],
        ["system: what to do, the <data> rule", _count(rest[0] if rest else ""), "sent"],
        ["system: instructions", 0, "sent when the agent has some"],
        ["system: tools sentence", 0, "sent when the agent has tools"],
        ["goal", _count(goal), "sent"],
        ["sub-task (id, description)", _count(task), "sent"],
        ["dependencies (1 result of ~200 tokens)", _count(inputs), "sent"],
        ["memory (records, summaries)", 0, "sent with Team(memory=...), within context_budget (see below)"],
        ["plan overview (48 lines)", _count(overview), "not sent"],
        ["whole call", call.response.usage_metadata["input_tokens"], ""],
    ]


QUOTE_PRICES = {"scripted": (0.15, 0.60)}
QUOTE_LATENCY = 0.1
QUOTE_TARGET = 0.25  # |quote / actual - 1| on tokens and cost


def _quote_row(workload: str, history: str, result: Any, wall: float) -> dict[str, Any]:
    """The quote of a run beside its actual figures."""
    q = result.quote
    planner_done = result.steps[0].finished_at
    ends = [s.finished_at for s in result.steps] + [r.finished_at for r in result.history]
    actual = {
        "calls": result.usage.total.calls,
        "tokens": result.usage.total.total_tokens,
        "cost": result.usage.cost().total,
        "seconds": max(ends) - planner_done,
    }
    quoted = {"calls": q.calls, "tokens": q.total_tokens, "cost": q.cost, "seconds": q.seconds}
    return {
        "workload": workload,
        "history": history,
        **{f"quoted_{k}": v for k, v in quoted.items()},
        **{f"actual_{k}": v for k, v in actual.items()},
        **{f"error_{k}": round(quoted[k] / actual[k] - 1, 3) if actual[k] else None for k in quoted},
        "wall_s": round(wall, 3),
    }


async def _quote_errors(size: int, scale: float) -> list[dict[str, Any]]:
    """Each workload run twice on one team: cold (the quote from defaults), then warm (from
    what the first run measured)."""
    from benchmarks import cascade

    rows = []
    for shape in (chain(size), fan(size), layers(size)):
        planned = shape.plan()
        script = {
            **TABLE_SCRIPT,
            "planner": lambda m, p=planned: p,
            "critic": lambda m: {"decision": "accept", "feedback": "", "answer": ANSWER},
        }
        team, _ = make_team(shape, QUOTE_LATENCY * scale, script=script, prices=QUOTE_PRICES)
        for history in ("cold", "warm"):
            t0 = time.perf_counter()
            result = await team.arun(GOAL)
            rows.append(_quote_row(shape.label, history, result, time.perf_counter() - t0))
    team, _ = cascade.make_team("cascade", cascade.HEADLINE, scale)
    for history in ("cold", "warm"):
        t0 = time.perf_counter()
        result = await team.arun(cascade.GOAL)
        rows.append(_quote_row("cascade, 30% hard", history, result, time.perf_counter() - t0))
    for r in rows:
        print(
            f"  quote {r['workload']:18} {r['history']:4}: tokens {r['error_tokens']:+.1%}, "
            f"cost {r['error_cost']:+.1%}, seconds {r['error_seconds']:+.1%}",
            flush=True,
        )
    return rows


def _prior_results(n: int) -> dict[str, SubTaskResult]:
    return {
        f"p{i}": SubTaskResult(subtask_id=f"p{i}", agent=AGENTS[i % 3], output=output_for(f"p{i}"))
        for i in range(n)
    }


def _extractive(messages: list[BaseMessage]) -> str:
    """Scripted summarizer: the first clause of each record, at most ~300 tokens."""
    text = messages[-1].text
    firsts = [part.split(">", 1)[-1].strip().split(";")[0][:80] for part in text.split("<data")[1:]]
    return "Summary of earlier work: " + " | ".join(firsts)[:1200]


async def _agentorch(prior: int, with_memory: bool) -> dict[str, Any]:
    from agentorch.memory import ChromaMemory, HashEmbeddings

    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings()) if with_memory else None
    thread = uuid.uuid4().hex
    if memory is not None:
        await memory.aremember_run(
            goal="Earlier supplier checks",
            thread_id=thread,
            run_id="prior",
            results=_prior_results(prior),
            verdicts=[],
            answer="",
        )
    team, model = make_team(
        NEW_WORK, 0.0, script={"summarizer": _extractive}, memory=memory, context_budget=CONTEXT_BUDGET
    )
    result = await team.arun(GOAL, thread_id=thread)
    if result.status != "completed":
        raise RuntimeError(f"agentorch run ended {result.status}: {result.error}")
    calls = model.calls
    specialist = [
        (c.response.usage_metadata or {}).get("input_tokens", 0)
        for c in calls
        if c.role in AGENTS and c.response is not None
    ]
    summarizer = [c for c in calls if c.role == "summarizer"]
    if memory is not None:
        memory.close()
    return {
        "per_specialist_call": round(mean(specialist)),
        "max_specialist_call": max(specialist),
        "per_run": input_tokens(calls),
        "calls": len(calls),
        "summarizer_calls": len(summarizer),
    }


async def _supervisor(prior: int) -> dict[str, Any]:
    history: list[BaseMessage] = [HumanMessage("Earlier supplier checks")]
    history += [AIMessage(content=r.output, name=r.agent) for r in _prior_results(prior).values()]
    out = await run_supervisor(NEW_WORK, 0.0, history=history)
    workers = [
        (c.response.usage_metadata or {}).get("input_tokens", 0)
        for c in out["worker_calls"]
        if c.response is not None
    ]
    return {
        "per_specialist_call": round(mean(workers)),
        "max_specialist_call": max(workers),
        "per_run": out["input_tokens"],
        "calls": out["calls"],
        "summarizer_calls": 0,
    }


async def _measure(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for prior in sizes:
        cells = {
            "agentorch + memory": await _agentorch(prior, True),
            "agentorch, no memory": await _agentorch(prior, False),
            "supervisor (full history)": await _supervisor(prior),
        }
        mem, sup = cells["agentorch + memory"], cells["supervisor (full history)"]
        for name, c in cells.items():
            rows.append(
                {
                    "prior_subtasks": prior,
                    "framework": name,
                    **c,
                    "supervisor_over_this_per_call": ratio(
                        sup["per_specialist_call"], c["per_specialist_call"]
                    ),
                    "supervisor_over_this_per_run": ratio(sup["per_run"], c["per_run"]),
                }
            )
        print(
            f"  {prior:5} prior: memory {mem['per_specialist_call']} / call, supervisor "
            f"{sup['per_specialist_call']} / call",
            flush=True,
        )
    return rows


def run(quick: bool) -> dict[str, Any]:
    sizes = (10, 100) if quick else (10, 100, 1000)
    per_run = asyncio.run(_per_run(12 if quick else TABLE_SIZE))
    per_run_table = print_table(
        f"Token cost per run: prompt tokens, specialists answering ~200 tokens (cache from {PROMPT_CACHE} tokens)",
        [
            "shape",
            "framework",
            "model calls",
            "prompt tokens",
            "x joiner graph",
            "x critic+synth graph",
            "cached share",
        ],
        [
            [
                r["shape"],
                r["framework"],
                r["calls"],
                r["prompt_tokens"],
                r["vs_joiner"],
                r["vs_critic_synthesizer"],
                r["cached_share"],
            ]
            for r in per_run
        ],
    )
    parts_table = print_table(
        "Specialist prompt, part by part (chain 48, sub-task s5)",
        ["part", "tokens", "sent"],
        asyncio.run(_prompt_parts()),
    )
    quotes = asyncio.run(_quote_errors(12 if quick else TABLE_SIZE, 0.1 if quick else 1.0))
    quote_table = print_table(
        "Cost quote against the actual run (cold: defaults; warm: after one run of the team)",
        [
            "workload",
            "history",
            "quoted tokens",
            "actual tokens",
            "error",
            "quoted $",
            "actual $",
            "error",
            "quoted s",
            "actual s",
            "error",
            "quoted calls",
            "actual calls",
        ],
        [
            [
                r["workload"],
                r["history"],
                r["quoted_tokens"],
                r["actual_tokens"],
                f"{r['error_tokens']:+.1%}",
                f"{r['quoted_cost']:.5f}",
                f"{r['actual_cost']:.5f}",
                f"{r['error_cost']:+.1%}",
                round(r["quoted_seconds"], 2),
                round(r["actual_seconds"], 2),
                f"{r['error_seconds']:+.1%}",
                r["quoted_calls"],
                r["actual_calls"],
            ]
            for r in quotes
        ],
    )
    rows = asyncio.run(_measure(sizes))
    table = print_table(
        f"Token cost: prompt tokens for 4 new sub-tasks after N prior ones (context budget {CONTEXT_BUDGET})",
        [
            "prior sub-tasks",
            "framework",
            "per specialist call",
            "max per call",
            "per run",
            "model calls",
            "summarizer calls",
            "supervisor / this (per call)",
            "supervisor / this (per run)",
        ],
        [
            [
                r["prior_subtasks"],
                r["framework"],
                r["per_specialist_call"],
                r["max_specialist_call"],
                r["per_run"],
                r["calls"],
                r["summarizer_calls"],
                r["supervisor_over_this_per_call"],
                r["supervisor_over_this_per_run"],
            ]
            for r in rows
        ],
    )
    return {
        "context_budget": CONTEXT_BUDGET,
        "rows": rows,
        "per_run": per_run,
        "quotes": quotes,
        "tables": [per_run_table, parts_table, quote_table, table],
        "quick": quick,
    }


if __name__ == "__main__":
    data = run("--quick" in sys.argv)
    data["machine"] = machine_info()
    write_json("tokens", data)
