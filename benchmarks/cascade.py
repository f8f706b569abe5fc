"""Workload — cost-aware model cascades: strong everywhere, cheap everywhere, and a cascade.

48 independent sub-tasks for one agent. A seeded share of them (30% in the headline figures)
are *hard*: the critic rejects every answer the cheap model gives them and accepts the strong
model's; it accepts every other answer. The cheap model costs 1/15 of the strong one per token
(0.15 / 0.60 vs 2.25 / 9.00 per 1M input / output tokens) and answers in 0.3 s, the strong one in
1 s. The planner, the critic and the synthesizer run on the cheap model (0.3 s) in all three
set-ups, so the comparison isolates the specialists' model choice:

  (a) strong everywhere:        Agent(llm=strong)
  (b) cheap everywhere:         Agent(llm=cheap), the critic sends hard sub-tasks back (up to
                                max_rounds=3; a hard sub-task never passes on the cheap model)
  (c) cascade:                  Agent(llm=cascade(cheap, strong))

Success is the share of sub-tasks whose final answer the critic accepted. Costs come from
`RunResult.usage.cost()` (recorded during the run under `Team(prices=...)`); token counts are the
scripted model's approximate counts of the real prompts. A sweep of the hard share (10-70%) shows
where the cascade stops paying off. `--quick` scales every latency down 10x and sweeps 3 points.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import time
from typing import Any

from langchain_core.messages import BaseMessage

from agentorch import Agent, Team
from agentorch.llms import ScriptedChatModel, cascade
from benchmarks._common import cached_share, machine_info, print_table, ratio, write_json

N = 48
SEED = 18
HEADLINE = 0.30
SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
QUICK_SWEEP = (0.1, 0.3, 0.7)
PRICES = {"cheap": (0.15, 0.60), "strong": (2.25, 9.00)}
LATENCY = {"cheap": 0.3, "strong": 1.0}
MAX_ROUNDS = 3
TARGET_COST = 0.40  # cascade cost / strong-everywhere cost at 30%
TARGET_WALL = 1.5  # cascade wall / strong-everywhere wall at 30%
PROMPT_CACHE = 1024  # the models report cached prompt prefixes as OpenAI would

_RESULT = re.compile(r'<data source="subtask:(s\d+)"[^>]*>\n(\w+)')
_TASK = re.compile(r"Your sub-task \((s\d+)\)")
_BODY = (
    "The supplier quoted a unit price, a delivery window and an audit status; the figures "
    "were checked against the contract and the last three invoices, and the differences "
    "are listed with their source. "
) * 3


def hard_subtasks(share: float, seed: int = SEED) -> set[str]:
    """The seeded sub-tasks whose cheap answers the critic rejects."""
    ids = [f"s{i}" for i in range(N)]
    return set(random.Random(f"{seed}:{share}").sample(ids, round(share * N)))


def _answer(label: str) -> Any:
    def respond(messages: list[BaseMessage]) -> str:
        sid = _TASK.search(messages[-1].text).group(1)  # type: ignore[union-attr]
        return f"{label} answer for {sid}. {_BODY}"

    return respond


def _critic(hard: set[str]) -> Any:
    """Rejects a hard sub-task's answer if the cheap model wrote it; accepts the rest."""

    def review(messages: list[BaseMessage]) -> dict[str, Any]:
        redo = sorted(
            sid for sid, who in _RESULT.findall(messages[-1].text) if who == "cheap" and sid in hard
        )
        if not redo:
            return {
                "decision": "accept",
                "feedback": "All results are complete.",
                "answer": "The supplier review is complete.",
            }
        return {
            "decision": "revise",
            "revise": redo,
            "feedback": "The figures are not checked against the contract; redo with sources.",
        }

    return review


def _plan() -> dict[str, Any]:
    return {
        "subtasks": [
            {
                "id": f"s{i}",
                "description": f"Check supplier {i}'s quote against the contract",
                "agent": "analyst",
            }
            for i in range(N)
        ]
    }


def _models(scale: float) -> tuple[ScriptedChatModel, ScriptedChatModel, ScriptedChatModel]:
    """Fresh (boss, cheap, strong) models; the boss is the cheap model's name and price."""
    boss = ScriptedChatModel(
        {
            "planner": [_plan()],
            "critic": lambda m: None,  # set per run
            "synthesizer": lambda m: "The supplier review is complete.",
        },
        model_name="cheap",
        latency=LATENCY["cheap"] * scale,
        prompt_cache=PROMPT_CACHE,
    )
    cheap = ScriptedChatModel(
        {"analyst": _answer("cheap")},
        model_name="cheap",
        latency=LATENCY["cheap"] * scale,
        prompt_cache=PROMPT_CACHE,
    )
    strong = ScriptedChatModel(
        {"analyst": _answer("strong")},
        model_name="strong",
        latency=LATENCY["strong"] * scale,
        prompt_cache=PROMPT_CACHE,
    )
    return boss, cheap, strong


def make_team(setup: str, share: float, scale: float) -> tuple[Team, list[ScriptedChatModel]]:
    """The team of one set-up (it may run any number of times) and its three models."""
    boss, cheap, strong = _models(scale)
    boss.script["critic"] = _critic(hard_subtasks(share))
    boss.script["planner"] = lambda m: _plan()
    worker = {"strong": strong, "cheap": cheap, "cascade": cascade(cheap, strong)}[setup]
    team = Team(
        agents=[Agent(name="analyst", role="Checks supplier quotes", llm=worker)],
        llm=boss,
        prices=PRICES,
        max_rounds=MAX_ROUNDS,
        max_subtasks=N,
    )
    return team, [boss, cheap, strong]


GOAL = "Review the 48 supplier quotes"


async def _one(setup: str, share: float, scale: float) -> dict[str, Any]:
    hard = hard_subtasks(share)
    team, (boss, cheap, strong) = make_team(setup, share, scale)
    t0 = time.perf_counter()
    result = await team.arun(GOAL)
    wall = time.perf_counter() - t0
    accepted = sum(
        1
        for sid, r in result.results.items()
        if r.status == "done" and not (sid in hard and r.model == "cheap")
    )
    cost = result.usage.cost()
    strong_cost = cost.by_model.get("strong", 0.0)
    return {
        "setup": setup,
        "hard_share": share,
        "status": result.status,
        "rounds": result.rounds,
        "success": round(accepted / N, 3),
        "cost_usd": round(cost.total, 6),
        "specialist_cost_usd": round(cost.by_role.get("analyst", 0.0), 6),
        "strong_cost_usd": round(strong_cost, 6),
        "boss_cost_usd": round(cost.total - cost.by_role.get("analyst", 0.0), 6),
        "wall_s": round(wall, 3),
        "calls_cheap": result.usage.by_model["cheap"].calls,
        "calls_strong": result.usage.by_model["strong"].calls if "strong" in result.usage.by_model else 0,
        "tokens": result.usage.total.total_tokens,
        "input_tokens": result.usage.total.input_tokens,
        "cached_share": cached_share([*boss.calls, *cheap.calls, *strong.calls]),
    }


def _median_run(setup: str, share: float, scale: float, reps: int) -> dict[str, Any]:
    """`reps` runs; everything but wall time is the same in each (scripted), wall is the median."""
    runs = sorted((asyncio.run(_one(setup, share, scale)) for _ in range(reps)), key=lambda r: r["wall_s"])
    return {**runs[len(runs) // 2], "runs": reps, "wall_runs_s": [r["wall_s"] for r in runs]}


def _parity(rows: list[dict[str, Any]]) -> float | None:
    """The hard share at which the cascade costs as much as strong everywhere: a least-squares
    line through the sweep (cost is linear in the share by construction)."""
    pts = [(r["hard_share"], r["cost_vs_strong"]) for r in rows if r["setup"] == "cascade"]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    return round(mx + (1.0 - my) / slope, 3) if slope > 0 else None


def run(quick: bool) -> dict[str, Any]:
    scale = 0.1 if quick else 1.0
    shares = QUICK_SWEEP if quick else SWEEP
    reps = 1 if quick else 3
    rows: list[dict[str, Any]] = []
    for share in shares:
        base: dict[str, Any] | None = None
        for setup in ("strong", "cheap", "cascade"):
            row = _median_run(setup, share, scale, reps)
            if setup == "strong":
                base = row
            assert base is not None
            row["cost_vs_strong"] = ratio(row["cost_usd"], base["cost_usd"])
            row["wall_vs_strong"] = ratio(row["wall_s"], base["wall_s"])
            rows.append(row)
            print(
                f"  hard {share:.0%} {setup:8} cost ${row['cost_usd']:.4f} "
                f"({row['cost_vs_strong']:.2f}x) wall {row['wall_s']:.2f} s "
                f"({row['wall_vs_strong']:.2f}x) rounds {row['rounds']} success {row['success']:.0%}",
                flush=True,
            )
    head = [r for r in rows if r["hard_share"] == HEADLINE]
    c = next(r for r in head if r["setup"] == "cascade")
    a = next(r for r in head if r["setup"] == "strong")
    parity = _parity(rows)
    breakdown = {
        "cheap first answers (share)": ratio(c["specialist_cost_usd"] - c["strong_cost_usd"], a["cost_usd"]),
        "strong revisions (share)": ratio(c["strong_cost_usd"], a["cost_usd"]),
        "planner, critic, synthesizer (share)": ratio(c["boss_cost_usd"], a["cost_usd"]),
        "one strong revision call / one first strong call (x)": ratio(
            c["strong_cost_usd"] / max(1, c["calls_strong"]), a["strong_cost_usd"] / a["calls_strong"]
        ),
    }
    print(f"  cascade cost at {HEADLINE:.0%} as a share of strong everywhere: {breakdown}", flush=True)
    print(f"  the cascade costs as much as strong everywhere at a hard share of {parity}", flush=True)
    checks = [
        {
            "check": "cascade success == strong-everywhere success at 30%",
            "value": c["success"],
            "met": c["success"] == a["success"],
        },
        {
            "check": f"cascade cost <= {TARGET_COST}x strong-everywhere at 30%",
            "value": c["cost_vs_strong"],
            "met": c["cost_vs_strong"] <= TARGET_COST,
        },
        {
            "check": f"cascade wall <= {TARGET_WALL}x strong-everywhere at 30%",
            "value": c["wall_vs_strong"],
            "met": c["wall_vs_strong"] <= TARGET_WALL,
        },
    ]
    cols = [
        "hard share",
        "set-up",
        "status",
        "rounds",
        "success",
        "cost $",
        "cost vs strong",
        "wall s",
        "wall vs strong",
        "cheap calls",
        "strong calls",
        "prompt tokens",
        "cached share",
    ]

    def cells(r: dict[str, Any]) -> list[Any]:
        return [
            f"{r['hard_share']:.0%}",
            r["setup"],
            r["status"],
            r["rounds"],
            f"{r['success']:.0%}",
            f"{r['cost_usd']:.4f}",
            r["cost_vs_strong"],
            r["wall_s"],
            r["wall_vs_strong"],
            r["calls_cheap"],
            r["calls_strong"],
            r["input_tokens"],
            r["cached_share"],
        ]

    latency = f"cheap {LATENCY['cheap'] * scale:g} s, strong {LATENCY['strong'] * scale:g} s"
    tables = [
        print_table(f"Cascades: 48 sub-tasks, 30% hard ({latency} per call)", cols, [cells(r) for r in head]),
        print_table("Cascades: sweep of the hard share", cols, [cells(r) for r in rows]),
        print_table(
            "Cascades: targets",
            ["check", "value", "met"],
            [[k["check"], k["value"], "yes" if k["met"] else "NO"] for k in checks],
        ),
        print_table(
            f"Cascades: where the cascade's cost goes at {HEADLINE:.0%} (vs strong everywhere's cost)",
            ["part", "share"],
            [[k, v] for k, v in breakdown.items()],
        ),
    ]
    return {
        "rows": rows,
        "checks": checks,
        "tables": tables,
        "quick": quick,
        "reps": reps,
        "cost_parity_hard_share": parity,
        "breakdown_at_30": breakdown,
        "latency_scale": scale,
        "prices": PRICES,
        "latency_s": LATENCY,
        "seed": SEED,
    }


if __name__ == "__main__":
    data = run("--quick" in sys.argv)
    data["machine"] = machine_info()
    write_json("cascade", data)
