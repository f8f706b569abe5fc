"""`CaseLoop`: eval cases take turns — one runs until it waits — instead of interleaving."""

from __future__ import annotations

import asyncio
import contextvars
import dis
import inspect
import itertools
import sys
import threading
import time
from typing import Any

import pytest

from agentorch.evals import Case, ModelSetup, Suite, run_suite
from agentorch.evals._loop import QUANTUM, CaseLoop, enter_case
from agentorch.graphs.research import DEMO_GOAL, demo_model


def _run(main: Any, loop_factory: Any = CaseLoop) -> Any:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


async def _stepping_case(name: str, steps: list[str]) -> None:
    enter_case()  # from the next step on, this task's callbacks belong to the case
    await asyncio.sleep(0)
    for i in range(3):
        steps.append(f"{name}{i}")
        await asyncio.sleep(0)  # ready again at once: the same case goes on
    await asyncio.sleep(0.01)  # waits: the others get their turn
    steps.append(f"{name}-woke")


def _order(loop_factory: Any) -> list[str]:
    steps: list[str] = []

    async def main() -> None:
        await asyncio.gather(_stepping_case("a", steps), _stepping_case("b", steps))

    _run(main, loop_factory)
    return steps


def test_a_case_runs_until_it_waits_then_the_next_takes_its_turn() -> None:
    assert _order(CaseLoop) == ["a0", "a1", "a2", "b0", "b1", "b2", "a-woke", "b-woke"]
    # a plain asyncio loop interleaves the two cases callback by callback
    assert _order(asyncio.new_event_loop) == ["a0", "b0", "a1", "b1", "a2", "b2", "a-woke", "b-woke"]


def test_a_case_that_never_waits_cannot_starve_the_others() -> None:
    """A case polling with `sleep(0)` for what another case does yields after its quantum."""
    flag = asyncio.Event()

    async def poller() -> str:
        enter_case()
        while not flag.is_set():
            await asyncio.sleep(0)
        return "saw it"

    async def setter() -> None:
        enter_case()
        flag.set()

    async def main() -> Any:
        polling = asyncio.ensure_future(poller())
        await asyncio.sleep(0)  # the poller becomes the active case first
        return await asyncio.wait_for(asyncio.gather(polling, setter()), timeout=5)

    assert _run(main)[0] == "saw it"


def test_errors_in_callbacks_go_to_the_exception_handler_and_the_loop_goes_on() -> None:
    seen: list[dict[str, Any]] = []

    def boom() -> None:
        raise ValueError("broken callback")

    async def main() -> str:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: seen.append(ctx))
        enter_case()
        asyncio.get_running_loop().call_soon(boom)
        await asyncio.sleep(0.01)
        return "still running"

    assert _run(main) == "still running"
    assert [str(c["exception"]) for c in seen] == ["broken callback"]
    assert "boom" in seen[0]["message"]


def test_errors_are_reported_outside_any_case_as_on_a_plain_loop() -> None:
    """The exception handler runs in the loop's context, not in another case's."""
    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="the loop")

    def boom() -> None:
        raise ValueError("broken callback")

    async def case(name: str) -> None:
        enter_case()
        who.set(name)
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(boom)
        await asyncio.sleep(0.01)

    def reported(loop_factory: Any) -> list[str]:
        seen: list[str] = []

        async def main() -> None:
            asyncio.get_running_loop().set_exception_handler(lambda _loop, _ctx: seen.append(who.get()))
            await asyncio.gather(case("a"), case("b"))

        _run(main, loop_factory)
        return seen

    assert reported(CaseLoop) == reported(asyncio.new_event_loop) == ["the loop", "the loop"]


def test_a_loop_stop_inside_a_case_takes_effect_as_on_a_plain_loop() -> None:
    """Callbacks a case schedules after `loop.stop()` wait for the next run, as asyncio's do."""
    for loop_factory in (CaseLoop, asyncio.new_event_loop):
        loop, ran = loop_factory(), []
        case = contextvars.copy_context()
        case.run(enter_case)

        def step(name: str, then: str | None) -> None:
            ran.append(name)
            loop.stop()
            if then:
                loop.call_soon(step, then, None, context=case)

        loop.call_soon(step, "first", "second", context=case)
        loop.run_forever()
        assert ran == ["first"], loop_factory
        loop.run_forever()
        assert ran == ["first", "second"], loop_factory
        loop.call_soon(ran.append, "ready", context=case)
        loop.stop()  # the "run once" idiom: what is ready runs, then the loop stops
        loop.run_forever()
        assert ran == ["first", "second", "ready"], loop_factory
        loop.close()


def test_a_case_past_its_quantum_goes_behind_the_cases_its_time_woke() -> None:
    """A case that never waits runs a quantum at a time; a case whose timer fires meanwhile runs
    as soon as that quantum ends, not a quantum or two later."""
    delays: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        async def busy() -> None:
            enter_case()
            while not stop.is_set():
                await asyncio.sleep(0)
                sum(range(300))

        async def sleeper() -> None:
            enter_case()
            for _ in range(20):
                due = loop.time() + 0.001
                await asyncio.sleep(0.001)
                delays.append(loop.time() - due)
            stop.set()

        await asyncio.gather(busy(), sleeper())

    _run(main)
    delays.sort()
    assert delays[len(delays) // 2] < 1.5 * QUANTUM, delays


def test_callbacks_from_other_threads_do_not_slow_the_loop_down() -> None:
    """Each callback another thread schedules into a case wakes the loop once; it does not leave
    an extra round of case scheduling behind that would delay timers a quantum per call."""
    lags: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = False
        case = contextvars.copy_context()
        case.run(enter_case)

        async def busy() -> None:  # a case that never waits
            enter_case()
            while not stop:
                await asyncio.sleep(0)

        spinning = asyncio.ensure_future(busy())

        def pinger() -> None:
            for _ in range(30):
                loop.call_soon_threadsafe(lambda: None, context=case)
                time.sleep(0.002)

        thread = threading.Thread(target=pinger)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.01)
        for _ in range(5):
            due = loop.time() + 0.001
            await asyncio.sleep(0.001)
            lags.append(loop.time() - due)
        stop = True
        await spinning

    _run(main)
    assert sorted(lags)[2] < 3 * QUANTUM, lags


@pytest.mark.timeout(60)  # a lost wake-up hangs the loop
def test_callbacks_scheduled_from_inside_the_loops_own_bookkeeping_are_never_lost() -> None:
    """A finalizer, a signal handler or another thread can schedule a callback between any two
    bytecodes, even while the loop switches cases. Under `sys.settrace`, each call into
    CaseLoop's code gets one callback per case scheduled before one of its bytecodes, a
    different one each call, round all of them; each of those schedules a follow-up in its case
    when it runs. Every callback runs, and within a case in the order they were scheduled."""
    own_code = {f.__code__ for f in vars(CaseLoop).values() if inspect.isfunction(f)}
    spots = sorted(((code.co_name, ins.offset) for code in own_code for ins in dis.get_instructions(code)))
    contexts: list[contextvars.Context] = []
    scheduled: list[list[int]] = [[], [], []]
    ran: list[list[int]] = [[], [], []]
    counter = itertools.count()
    where: dict[str, Any] = {"depth": 0, "calls": 0, "spot": None, "scheduling": False}

    async def worker() -> None:
        enter_case()
        contexts.append(contextvars.copy_context())
        for i in range(400):
            await asyncio.sleep(0.0001 if i % 2 else 0)  # the case waits every other step

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def schedule(case: int, follow_up: bool) -> None:
            n = next(counter)
            scheduled[case].append(n)
            where["scheduling"] = True  # a call interrupting this one would come first: no order
            loop.call_soon(run, case, n, follow_up, context=contexts[case])
            where["scheduling"] = False

        def run(case: int, n: int, follow_up: bool) -> None:
            ran[case].append(n)
            if follow_up:
                schedule(case, False)  # in the case's context, during its burst

        def in_own_code(frame: Any, event: str, _arg: Any) -> Any:
            if event == "return":
                where["depth"] -= 1
            elif (frame.f_code.co_name, frame.f_lasti) == where["spot"] and not where["scheduling"]:
                where["spot"] = None  # once per call
                for case in range(3):
                    schedule(case, True)
            return in_own_code

        def on_call(frame: Any, _event: str, _arg: Any) -> Any:
            if frame.f_code not in own_code or len(contexts) < 3:
                return None
            frame.f_trace_opcodes = True  # an event before every bytecode
            if where["depth"] == 0:
                where["calls"] += 1
                where["spot"] = spots[where["calls"] * 7 % len(spots)]
            where["depth"] += 1
            return in_own_code

        sys.settrace(on_call)
        try:
            await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(3))), timeout=20)
        finally:
            sys.settrace(None)
        for _ in range(1000):  # the last callbacks may still be waiting for their turn
            if ran == scheduled:
                break
            await asyncio.sleep(0.001)

    _run(main)
    assert sum(map(len, scheduled)) > 1000  # (about 2,000)
    assert ran == scheduled


@pytest.mark.timeout(60)  # a lost wake-up hangs the loop
def test_a_misuse_from_another_thread_is_refused_and_the_loop_goes_on() -> None:
    """In debug mode `call_soon` from a foreign thread raises, as asyncio's does, and leaves the
    loop's scheduling intact."""
    errors: list[str] = []

    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        enter_case()
        case = contextvars.copy_context()

        def misuse() -> None:
            try:
                loop.call_soon(print, context=case)
            except RuntimeError as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=misuse)
        thread.start()
        thread.join()
        for _ in range(3):
            await asyncio.sleep(0)
        return "still scheduling"

    assert _run(main) == "still scheduling"
    assert len(errors) == 1 and "thread" in errors[0]


def test_cancelled_callbacks_do_not_run() -> None:
    ran: list[str] = []

    async def main() -> None:
        enter_case()
        loop = asyncio.get_running_loop()
        loop.call_soon(ran.append, "kept")
        loop.call_soon(ran.append, "cancelled").cancel()
        await asyncio.sleep(0.01)

    _run(main)
    assert ran == ["kept"]


def test_threads_and_executors_reach_their_case() -> None:
    async def main() -> list[Any]:
        enter_case()
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        threading.Thread(target=lambda: loop.call_soon_threadsafe(done.set_result, "from a thread")).start()
        in_pool = await loop.run_in_executor(None, lambda: "from the pool")
        return [in_pool, await asyncio.wait_for(done, timeout=5)]

    assert _run(main) == ["from the pool", "from a thread"]


def test_run_suite_runs_its_cases_on_a_case_loop() -> None:
    loops: list[str] = []

    def which_loop(result: Any, case: Case) -> bool:
        loops.append(type(asyncio.get_running_loop()).__name__)
        return result.status == "completed"

    suite = Suite(name="loop", team="research", model=ModelSetup(factory=demo_model),
                  cases=[Case(id=f"c{i}", goal=DEMO_GOAL, scorers=[which_loop]) for i in range(3)])
    assert run_suite(suite, concurrency=3).passed
    assert loops == ["CaseLoop"] * 3


def test_cases_with_equal_latency_all_finish() -> None:
    """Eight cases with the same latency per call, as in the benchmark, all complete and pass
    on the case loop (the benchmark measures their throughput)."""
    suite = Suite(name="equal", team="research", model=ModelSetup(factory=lambda: demo_model(latency=0.01)),
                  cases=[Case(id=f"c{i}", goal=DEMO_GOAL, expect={"status": "completed", "tool_called": "search"})
                         for i in range(8)])
    result = run_suite(suite, concurrency=8)
    assert result.passed, [c.error for c in result.cases]
    assert len(result.cases) == 8
