"""Run suites: cases concurrently (asyncio + a semaphore over `team.arun`), optionally spread
over worker processes, each case on a fresh team, model and memory; score them; collect
`SuiteResult`s in suite and case order."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
)

from agentorch import ConfigError, PendingInterrupt, PlanError, RunFailed, RunResult, Team
from agentorch.evals._build import ObservedMemory, build_model, build_team, new_memory
from agentorch.evals._expect import Approvals, ToolApproval
from agentorch.evals._judge import LLMJudge
from agentorch.evals._scorers import Observation, Score, scorers_for
from agentorch.evals._suite import Case, Suite, load_suites

log = logging.getLogger("agentorch.evals")

__all__ = [
    "CaseResult",
    "SuiteResult",
    "Outcome",
    "arun_suites",
    "arun_suite",
    "run_suite",
    "run_suites",
    "case_matches",
]

Outcome = Literal["passed", "failed", "error"]
"""passed: every scorer passed; failed: a scorer failed; error: the case could not be run or scored."""

_MAX_APPROVALS = 50


class CaseResult(BaseModel):
    """The outcome of one case (an entry of results.json)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    suite: str
    case: str
    outcome: Outcome
    status: str
    """The run status ("completed", "max_rounds", ...) or "error"."""
    scores: list[Score] = Field(default_factory=list)
    tokens: int = 0
    llm_calls: int = 0
    rounds: int = 0
    duration: float = 0.0
    answer: str = ""
    error: str = ""
    tags: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every scorer passed."""
        return self.outcome == "passed"

    @property
    def key(self) -> str:
        """ "suite::case", unique across a run."""
        return f"{self.suite}::{self.case}"

    @field_serializer("duration")
    def _rounded(self, seconds: float) -> float:
        return round(seconds, 4)


class SuiteResult(BaseModel):
    """The outcome of one suite: its cases in suite order (an entry of results.json, which
    also holds its `counts`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    file: str = ""
    cases: list[CaseResult] = Field(default_factory=list)
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(c.passed for c in self.cases)

    def counts(self) -> dict[str, int]:
        """Cases per outcome."""
        out = {"passed": 0, "failed": 0, "error": 0}
        for c in self.cases:
            out[c.outcome] += 1
        return out

    @field_serializer("duration")
    def _rounded(self, seconds: float) -> float:
        return round(seconds, 4)

    @model_serializer(mode="wrap")
    def _with_counts(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {**handler(self), "counts": self.counts()}


def case_matches(suite: Suite, case: Case, filters: Sequence[str] | None) -> bool:
    """`-k` filtering: a case runs when any filter is a substring (case-insensitive) of
    "suite::case" or equals one of its tags."""
    if not filters:
        return True
    key = f"{suite.name}::{case.id}".casefold()
    return any(f.casefold() in key or f in case.tags for f in filters)


async def arun_suites(
    suites: Sequence[Suite | str | Path],
    *,
    concurrency: int = 4,
    filters: Sequence[str] | None = None,
    on_case_done: Callable[[CaseResult], None] | None = None,
) -> list[SuiteResult]:
    """Run every matching case of `suites` (objects or file paths), at most `concurrency` at once.

    `on_case_done` is called as each case finishes (the CLI's progress bar uses it). Cases run
    on the caller's event loop; to use several processes, see `run_suites(..., workers=N)`.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"`concurrency` must be an integer >= 1, got {concurrency!r}.")
    loaded = [s if isinstance(s, Suite) else load_suites([s])[0] for s in suites] if suites else []
    gate = asyncio.Semaphore(concurrency)

    async def one(suite: Suite, case: Case) -> CaseResult:
        async with gate:
            outcome = await arun_case(suite, case)
        if on_case_done is not None:
            on_case_done(outcome)
        return outcome

    started = time.perf_counter()
    jobs = [[one(s, c) for c in s.cases if case_matches(s, c, filters)] for s in loaded]
    flat = await asyncio.gather(*(j for group in jobs for j in group))
    out, i = [], 0
    for suite, group in zip(loaded, jobs, strict=True):
        cases = list(flat[i : i + len(group)])
        i += len(group)
        out.append(
            SuiteResult(
                name=suite.name, file=suite.file, cases=cases, duration=sum(c.duration for c in cases)
            )
        )
    log.info("ran %d cases in %.2fs", len(flat), time.perf_counter() - started)
    return out


async def arun_suite(
    suite: Suite | str | Path, *, concurrency: int = 4, filters: Sequence[str] | None = None
) -> SuiteResult:
    """Run one suite (a `Suite` or a YAML file path) and return its result."""
    return (await arun_suites([suite], concurrency=concurrency, filters=filters))[0]


def run_suite(
    suite: Suite | str | Path, *, concurrency: int = 4, filters: Sequence[str] | None = None
) -> SuiteResult:
    """Sync `arun_suite`.

    Example:
        >>> from agentorch.evals import run_suite
        >>> result = run_suite("evals/suites/research_planning.yaml")  # doctest: +SKIP
        >>> result.passed  # doctest: +SKIP
        True
    """
    return run_blocking(arun_suite(suite, concurrency=concurrency, filters=filters))


def run_suites(
    suites: Sequence[Suite | str | Path],
    *,
    concurrency: int = 4,
    workers: int = 1,
    filters: Sequence[str] | None = None,
    on_case_done: Callable[[CaseResult], None] | None = None,
) -> list[SuiteResult]:
    """Sync `arun_suites`, on `workers` processes (default 1: this one).

    Cases are CPU-bound with scripted models, so one process uses one core. With `workers=N`,
    the matching cases are dealt out to N worker processes in turn (case k to worker k mod N);
    each runs its share `concurrency` at a time on a plain asyncio loop, and the results are put
    back in suite and case order, so the output does not depend on N. Worker processes load the
    suites from their files: `Suite` objects built in Python need `workers=1`.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"`workers` must be an integer >= 1, got {workers!r}.")
    if workers == 1:
        return run_blocking(
            arun_suites(suites, concurrency=concurrency, filters=filters, on_case_done=on_case_done)
        )
    loaded = [s if isinstance(s, Suite) else load_suites([s])[0] for s in suites]
    unfiled = [s.name for s in loaded if not s.file]
    if unfiled:
        raise ConfigError(
            f"Suites {unfiled} were built in Python; `workers` > 1 loads suites from "
            "their files in each worker process: pass file paths, or use workers=1."
        )
    keys = [f"{s.name}::{c.id}" for s in loaded for c in s.cases if case_matches(s, c, filters)]
    shares = [keys[i::workers] for i in range(workers)]
    files = [s.file for s in loaded]
    by_key: dict[str, CaseResult] = {}
    # "spawn": a fresh interpreter per worker; forking a process that may hold threads (Chroma,
    # a running loop's executor) can deadlock the child
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_run_share, files, share, concurrency) for share in shares if share]
        for future in concurrent.futures.as_completed(futures):
            for case in future.result():
                by_key[case.key] = case
                if on_case_done is not None:
                    on_case_done(case)
    return [
        SuiteResult(
            name=s.name,
            file=s.file,
            cases=(cases := [by_key[f"{s.name}::{c.id}"] for c in s.cases if f"{s.name}::{c.id}" in by_key]),
            duration=sum(c.duration for c in cases),
        )
        for s in loaded
    ]


def _run_share(files: list[str], keys: list[str], concurrency: int) -> list[CaseResult]:
    """A worker process: run the cases named by `keys` ("suite::case") of the suite `files`."""
    wanted = set(keys)
    suites = [
        s.model_copy(update={"cases": [c for c in s.cases if f"{s.name}::{c.id}" in wanted]})
        for s in load_suites(files)
    ]
    results = asyncio.run(arun_suites([s for s in suites if s.cases], concurrency=concurrency))
    return [c for r in results for c in r.cases]


def run_blocking(coro: Any) -> Any:
    """Run `coro` to completion from sync code, on a private thread if a loop is already
    running (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def arun_case(suite: Suite, case: Case) -> CaseResult:
    """Run one case on a fresh model, memory and team, and score it."""
    started = time.perf_counter()
    memory: ObservedMemory | None = None
    team: Team | None = None
    try:
        setup = case.memory if case.memory is not None else suite.memory
        memory = await new_memory(setup.seed) if setup is not None else None
        team = build_team(suite, case, build_model(suite.model, case, file=suite.file), memory)
        result, interrupts = await _run(
            team, case, case.approvals if case.approvals is not None else suite.approvals
        )
    except ConfigError as e:
        log.warning("case %s::%s could not run: %s", suite.name, case.id, e)
        return _errored(suite, case, f"{type(e).__name__}: {e}", started)
    finally:
        if memory is not None:
            _close(memory)
    observed = Observation(
        result=result,
        case=case,
        team=team,
        interrupts=interrupts,
        recalled=list(memory.recalled) if memory else [],
    )
    scores = await _score(suite, case, observed)
    total = result.usage.total
    return CaseResult(
        suite=suite.name,
        case=case.id,
        outcome="passed" if all(s.passed for s in scores) else "failed",
        status=result.status,
        scores=scores,
        tokens=total.total_tokens,
        llm_calls=total.calls,
        rounds=result.rounds,
        duration=time.perf_counter() - started,
        answer=result.answer,
        error=result.error,
        tags=list(case.tags),
    )


async def _run(team: Team, case: Case, approvals: Approvals) -> tuple[RunResult, list[PendingInterrupt]]:
    thread_id = f"eval-{case.id}-{uuid.uuid4().hex[:8]}"
    answers = _answers(approvals)
    seen: list[PendingInterrupt] = []
    try:
        result = await team.arun(case.goal, thread_id=thread_id)
        for _ in range(_MAX_APPROVALS):
            if result.status != "interrupted":
                break
            seen.extend(result.interrupts)
            decisions = {}
            for pending in result.interrupts:
                answer = next(answers, None)
                if answer is None:
                    return result, seen
                decisions[pending.id] = answer
            result = await team.aresume(thread_id, decisions=decisions)
    except RunFailed as e:
        result = e.result
    except PlanError as e:
        partial = e.result or RunResult(goal=case.goal, thread_id=thread_id)
        result = partial.model_copy(update={"status": "failed", "error": f"PlanError: {e}"})
    return result, seen


def _answers(approvals: Approvals) -> Any:
    if approvals in ("approve", "reject"):
        while True:
            yield approvals == "approve"
    for a in approvals or []:
        yield a.model_dump() if isinstance(a, ToolApproval) else a == "approve"


async def _score(suite: Suite, case: Case, observed: Observation) -> list[Score]:
    def judge(spec: Any) -> LLMJudge:
        if suite.judge_model is None:
            raise ConfigError("`expect.judge` needs a `judge_model` in the suite")
        setup = suite.judge_model
        return LLMJudge(
            lambda: build_model(setup, file=suite.file, field="judge_model"), spec.rubric, spec.threshold
        )

    try:
        scorers = scorers_for(case, judge)
    except ConfigError as e:
        return [Score(name="judge", passed=False, detail=str(e))]
    scores = []
    for scorer in scorers:
        try:
            scores.append(await scorer.ascore(observed))
        except Exception as e:  # a broken scorer fails its case, not the whole run
            log.warning("scorer %s raised on %s::%s: %r", scorer.name, suite.name, case.id, e)
            scores.append(
                Score(name=scorer.name, passed=False, detail=f"scorer raised {type(e).__name__}: {e}")
            )
    return scores


def _errored(suite: Suite, case: Case, message: str, started: float) -> CaseResult:
    return CaseResult(
        suite=suite.name,
        case=case.id,
        outcome="error",
        status="error",
        error=message,
        duration=time.perf_counter() - started,
        tags=list(case.tags),
    )


def _close(memory: ObservedMemory) -> None:
    close = getattr(memory.inner, "close", None)
    if close is not None:
        close()
