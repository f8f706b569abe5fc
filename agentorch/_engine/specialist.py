"""The specialist: one agent's bounded tool-calling loop on one sub-task.

It runs inside the `specialist` task the dispatcher starts per sub-task (`agentorch._engine.dispatch`).
Each model call (`model_call`, see `RunContext.call_model`) and each tool execution
(`tool_call`) is a LangGraph task of its own, so when the sub-task runs again — after a
tool-approval `interrupt()`, a failure or a crash — finished calls are replayed from the
checkpoint instead of being made again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp

from agentorch._agent import Agent, tool_needs_approval, tool_timeout
from agentorch._engine import approvals, effects
from agentorch._engine.context import BudgetExhausted, FirstCallFailed, RunContext, model_name_of
from agentorch._engine.data import data_block, digest
from agentorch._engine.state import SpecialistInput, SubtaskUpdate, add_usage
from agentorch._errors import AgentorchError, ConfigError, describe_error
from agentorch._keys import BUDGET_EXHAUSTED, SUMMARIZER
from agentorch._models import model_label
from agentorch._types import SubTask, SubTaskResult, TokenUsage, ToolCallRecord, ToolOutcome

log = logging.getLogger("agentorch")

__all__ = ["SubTaskFailed", "specialist", "subtask_failed", "usage_update"]


_MAX_SWITCHES = 10
"""At most this many failed attempts of one sub-task in one step move on to another model: a
guard against a `route_model` that keeps offering models that fail."""


@dataclass
class _Attempt:
    """What one attempt produced so far (kept when its model fails midway)."""

    model: str
    usage: TokenUsage = field(default_factory=TokenUsage)
    records: list[ToolCallRecord] = field(default_factory=list)
    output: str = ""
    data: dict[str, Any] | None = None
    status: str = "done"
    error: str = ""

    def count(self, usage: TokenUsage, answer: AIMessage) -> None:
        """Add one answer of this attempt's model (its priced `usage`) to the attempt."""
        self.usage = self.usage + usage
        self.model = model_name_of(answer)


class SubTaskFailed(AgentorchError):
    """A sub-task's model call failed after its retries; names the sub-task and the cause."""


def subtask_failed(subtask_id: str, agent: str, cause: BaseException) -> SubTaskFailed:
    """The error a run raises for a sub-task whose model call failed after its retries."""
    error = SubTaskFailed(f"Sub-task `{subtask_id}` (agent `{agent}`) failed: {describe_error(cause)}")
    error.__cause__ = cause
    return error


def usage_update(role: str, model: str, usage: TokenUsage) -> dict[str, Any]:
    """A `usage` state update for one role and model."""
    counts = usage.model_dump()
    return {"by_role": {role: counts}, "by_model": {model: counts}}


def _tool_call_key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True, default=str)


def task_text(st: SubTask, inp: SpecialistInput, context: str, draft: bool = True) -> str:
    """The human message of a specialist: the goal, its sub-task, feedback, and data. `draft`:
    a revision shows the opening of the rejected draft (not when another model takes over)."""
    parts = [f"Goal: {inp['goal']}", f"Your sub-task ({st.id}): {st.description}"]
    if st.expected_output:
        parts.append(f"Expected output: {st.expected_output}")
    if inp["feedback"]:
        parts.append("A reviewer asked for changes to your previous attempt:")
        parts.append(data_block(inp["feedback"], source="critic"))
        # the opening of the rejected draft says which answer it was; the feedback says what to fix
        if draft:
            parts.append(data_block(digest(inp["previous_output"]), source="your-previous-attempt"))
    if context:
        parts.append("Inputs:\n" + context)
    return "\n\n".join(parts)


async def work(
    ctx: RunContext,
    agent: Agent,
    model: Any,
    st: SubTask,
    inp: SpecialistInput,
    prompt: str,
    attempt: int,
    run: _Attempt,
    direct: bool = False,
) -> None:
    """One attempt: the agent's tool-calling loop on `model`, recorded into `run`; for a typed
    agent, then its answer as its `output` schema (see `typed_answer`). `direct`: make the
    first call in the sub-task's own task (`RunContext.call_model`)."""
    team = ctx.settings
    messages: list[BaseMessage] = [
        SystemMessage(ctx.services.specialist_prompt(agent)),
        HumanMessage(prompt),
    ]
    if agent.output is not None and not agent.tools:  # nothing to loop over: answer typed
        await typed_answer(ctx, agent, model, st, inp, messages, run)
        return
    tools = {t.name: t for t in agent.tools}
    seen: set[str] = set()
    while True:
        allow_tools = len(run.records) < team.max_tool_calls
        ai = await ctx.call_model(
            agent.name,
            messages,
            model=model.bind_tools(list(agent.tools)) if allow_tools and agent.tools else model,
            subtask_id=st.id,
            round=inp["round"],
            run_name=f"agent:{agent.name}",
            direct=direct,
        )
        direct = False
        run.count(ctx.priced(ai), ai)
        messages.append(ai)
        if not ai.tool_calls:
            run.output = ai.text.strip()
            break
        if not allow_tools:
            run.status = "failed"
            run.error = f"kept calling tools past max_tool_calls={team.max_tool_calls}"
            break
        for call in ai.tool_calls:
            record = await _handle_call(
                call,
                tools,
                seen,
                agent,
                st,
                (ctx.thread_id, inp["round"], attempt),
                team.tool_timeout,
                len(run.records),
                run.usage,
            )
            run.records.append(record)
            messages.append(
                ToolMessage(
                    data_block(record.error or record.output, source=f"tool:{call['name']}"),
                    tool_call_id=call.get("id") or "",
                )
            )
        if len(run.records) >= team.max_tool_calls:
            messages.append(
                HumanMessage(
                    f"You reached the limit of {team.max_tool_calls} tool calls. "
                    "Answer now with what you have."
                )
            )
    if run.status == "done" and agent.output is not None:
        messages.append(
            HumanMessage(
                f"Now give your final answer as a `{agent.output.__name__}` object, from the work above."
            )
        )
        await typed_answer(ctx, agent, model, st, inp, messages, run)
    elif run.status == "done" and not run.output:
        run.status, run.error = "failed", "the agent returned an empty answer"


async def typed_answer(
    ctx: RunContext,
    agent: Agent,
    model: Any,
    st: SubTask,
    inp: SpecialistInput,
    messages: list[BaseMessage],
    run: _Attempt,
) -> None:
    """A typed agent's answer: `messages` answered as its `output` schema by `model`, through
    `RunContext.call_structured` (an invalid answer is sent back with its problems, up to the
    team's `plan_retries` times). Valid: `run.data` and its JSON text in `run.output`;
    still invalid: the attempt fails, naming the agent, the schema and the problems."""
    schema = agent.output
    if schema is None:
        raise TypeError(f"agent `{agent.name}` has no output schema")
    retries = ctx.settings.plan_retries
    value, problems, _, _ = await ctx.call_structured(
        agent.name,
        schema,
        messages,
        retries=retries,
        round=inp["round"],
        model=model,
        subtask_id=st.id,
        run_name=f"agent:{agent.name}",
        on_answer=lambda ai: run.count(ctx.priced(ai), ai),
    )
    if value is None:
        run.status = "failed"
        run.error = (
            f"agent `{agent.name}` gave no valid `{schema.__name__}` in {retries + 1} "
            f"attempt{'s' if retries else ''}: " + "; ".join(problems)
        )
        return
    run.data = value.model_dump(mode="json")
    run.output = json.dumps(run.data, ensure_ascii=False, indent=2)


async def specialist(ctx: RunContext, inp: SpecialistInput) -> SubtaskUpdate:
    """Run one sub-task: its agent's attempts (several when a cascade moves on), as a state update."""
    team = ctx.settings
    st = SubTask.model_validate(inp["subtask"])
    agent = team.agent(st.agent)
    services = ctx.services
    routed = services.routed(agent.name)
    earlier = [SubTaskResult.model_validate(h) for h in inp.get("earlier", [])]
    attempt = inp["attempt"]
    write = get_stream_writer()
    summaries: list[tuple[TokenUsage, str]] = []  # summarizer calls: (usage, model)
    context, prompt = "", None  # assembled once, before the first model call
    finished: list[dict[str, Any]] = []  # this node's attempts (several when models fail)
    failed: tuple[Any, Exception] | None = None  # the model that failed last, and how

    def fail(run: _Attempt, e: Exception) -> SubTaskFailed:
        for r in finished:
            ctx.carry(agent.name, TokenUsage(**r["usage"]), r["model"])
        ctx.carry(agent.name, run.usage, run.model)
        for u, m in summaries:
            ctx.carry(SUMMARIZER, u, m)
        return subtask_failed(st.id, agent.name, e)

    while True:
        model = services.route(st, attempt, earlier) if routed else team.model_for(agent.name)
        if failed is not None and model is failed[0]:  # a hook that offers the same model again
            raise fail(_Attempt(model=""), failed[1]) from failed[1]
        run = _Attempt(model=model_label(model) if model is not None else "")
        started = time.time()
        escalate = False
        if model is None:
            run.status, run.error = "failed", services.no_model_left(st, attempt)
            log.warning("%s", run.error)
        else:
            write(
                {
                    "type": "subtask_started",
                    "subtask_id": st.id,
                    "agent": agent.name,
                    "round": inp["round"],
                    "attempt": attempt,
                    "model": run.model,
                    "started_at": started,
                }
            )
            try:
                if prompt is None:
                    context = await services.specialist_context(ctx, st, inp, summaries)
                    own = not earlier or earlier[-1].model == run.model  # its own draft
                    prompt = task_text(st, inp, context, draft=own)
                # the first call of a tool-less agent is made directly, when nothing was paid
                # before it in this task (see `RunContext`): a retry of the task repeats nothing
                direct = not routed and not agent.tools and agent.output is None and not summaries
                await work(ctx, agent, model, st, inp, prompt, attempt, run, direct)
            except BudgetExhausted as e:
                run.status, run.error = "skipped", f"budget exhausted: {e}"
            except (GraphBubbleUp, SubTaskFailed, ConfigError, FirstCallFailed):
                raise
            except Exception as e:  # our own errors too (ScriptExhausted...): say which sub-task
                # only the agent's model moves up a cascade: not a failed context assembly
                # (prompt None), nor our own errors (a script or a configuration to fix)
                if (
                    not routed
                    or prompt is None
                    or isinstance(e, AgentorchError)
                    or len(finished) >= _MAX_SWITCHES
                ):
                    raise fail(run, e) from e
                run.status, run.error = "failed", f"model `{run.model}` failed: {describe_error(e)}"
                failed, escalate = (model, e), True
                log.info("sub-task %s attempt %d: %s; trying the next model", st.id, attempt, run.error)
        result = SubTaskResult(
            subtask_id=st.id,
            agent=agent.name,
            output=run.output,
            data=run.data,
            status=run.status,
            attempts=attempt,
            round=inp["round"],
            error=run.error,
            started_at=started,
            finished_at=time.time(),
            usage=run.usage,
            tool_calls=run.records,
            context=context,
            model=run.model,
            prompt=prompt or "",
        )
        finished.append(result.model_dump(mode="json"))
        if not escalate:
            break
        earlier.append(result)
        attempt += 1
    usage: dict[str, Any] = {}
    for u, m in summaries:
        usage = add_usage(usage, usage_update(SUMMARIZER, m, u))
    for r in finished:
        usage = add_usage(usage, usage_update(agent.name, r["model"] or "unknown", TokenUsage(**r["usage"])))
    update: SubtaskUpdate = {
        "results": {st.id: finished[-1]},
        "history": finished,
        "feedback": {st.id: None},
        "usage": usage,
    }
    if finished[-1]["status"] == "skipped":
        update["stop"], update["error"] = BUDGET_EXHAUSTED, finished[-1]["error"]
    return update


async def _handle_call(
    call: ToolCall,
    tools: dict[str, BaseTool],
    seen: set[str],
    agent: Agent,
    st: SubTask,
    where: tuple[str, int, int],
    default_timeout: float | None,
    index: int,
    spent: TokenUsage,
) -> ToolCallRecord:
    """One tool call the model asked for, checked, approved when gated, executed once and
    recorded (`agentorch._engine.effects`). `where`: the thread, round and attempt."""
    thread_id, round, attempt = where
    name, args = call["name"], dict(call.get("args") or {})
    cid = effects.call_id(st.id, attempt, index, name, args)
    key = effects.effect_key(thread_id, round, cid)

    def record(outcome: ToolOutcome, error: str, **more: Any) -> ToolCallRecord:
        return ToolCallRecord(
            name=name, args=args, executed=False, key=key, outcome=outcome, error=error, **more
        )

    tool = tools.get(name)
    if tool is None:
        yours = ", ".join(sorted(tools)) or "none"
        log.warning("agent %s asked for tool %r it does not have", agent.name, name)
        return record("refused", f"`{name}` is not one of your tools (yours: {yours}). It was not run.")
    repeat = _tool_call_key(name, args)
    if repeat in seen:
        return record(
            "refused",
            f"You already called `{name}` with these arguments; its result is above. "
            "Do not repeat the call: use the result or answer.",
        )
    seen.add(repeat)
    payload = approvals.tool_payload(
        agent=agent.name, subtask_id=st.id, tool=name, args=args, call=cid, key=key, spent=spent
    )
    approved_by = ""
    problem = approvals.args_problem(tool, args)  # nobody is asked to approve a call that cannot run
    if problem is None and tool_needs_approval(tool):
        decision = await approvals.ask(payload)
        approved_by = decision["by"]
        if not decision["approved"]:
            return record(
                "denied", f"A person denied the call to `{name}`. It was not run; continue without it."
            )
        if decision["args"] != args:  # the person edited them (`Team.resume` checked them too)
            args = decision["args"]
            problem = approvals.args_problem(tool, args)
    if problem is not None:
        return record(
            "invalid",
            f"The arguments do not fit `{name}`: {problem}. It was not run; call it again with valid arguments.",
            approved_by=approved_by,
        )
    done = await effects.execute(
        tool, args, key=key, timeout=tool_timeout(tool, default_timeout), payload={**payload, "args": args}
    )
    return ToolCallRecord(
        name=name,
        args=args,
        executed=done.executions > 0,
        output=done.output,
        error=done.error,
        approved_by=done.approved_by or approved_by,
        key=key,
        outcome=done.outcome,
        executions=done.executions,
        in_doubt=done.in_doubt,
        started_at=done.started_at,
        finished_at=done.finished_at,
    )
