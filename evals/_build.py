"""Build a fresh model, memory and team for each case, so nothing leaks between cases."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.types import RetryPolicy

from agentorch import Budget, SubTask, SubTaskResult, Team, Verdict
from agentorch._errors import SuiteError
from agentorch._refs import takes_model
from agentorch.evals._suite import Case, ModelSetup, Suite
from agentorch.llms import ScriptedChatModel

__all__ = ["build_model", "build_team", "ObservedMemory", "new_memory"]


def build_model(
    setup: ModelSetup, case: Case | None = None, *, file: str = "", field: str = "model"
) -> BaseChatModel:
    """A fresh chat model for one case: the suite's setup with the case's overrides."""
    overrides = dict(case.script) if case else {}
    latency: float | Mapping[str, float] = (
        case.latency if case and case.latency is not None else setup.latency
    )
    if setup.cassette is not None:
        from agentorch.evals._cassette import ReplayChatModel

        if overrides:
            raise SuiteError(
                "a replayed cassette cannot take script overrides",
                file=file,
                case=case.id if case else "",
                field="script",
            )
        return ReplayChatModel(setup.cassette)
    base: dict[str, Any] = {}
    name = "scripted"
    if setup.factory is not None:
        model = setup.factory()
        if not isinstance(model, BaseChatModel):
            raise SuiteError(
                f"the factory returned {type(model).__name__}, not a chat model",
                file=file,
                field=f"{field}.factory",
            )
        if not isinstance(model, ScriptedChatModel):
            if overrides or setup.script:
                raise SuiteError(
                    "script overrides need a factory returning a ScriptedChatModel",
                    file=file,
                    case=case.id if case else "",
                    field="script",
                )
            return model
        latency_override = (case is not None and case.latency is not None) or bool(setup.latency)
        if not (overrides or setup.script or latency_override):
            return model  # the factory's own fresh model, untouched
        base, name = dict(model.script), model.model_name
        if not latency_override:
            latency = model.latency
    script = {**base, **setup.script, **overrides}
    if not script:
        raise SuiteError(
            "no model: give `model.script`, `model.factory` or `model.cassette`",
            file=file,
            case=case.id if case else "",
            field=field,
        )
    return ScriptedChatModel(script, latency=latency, model_name=name)


def build_team(suite: Suite, case: Case, llm: BaseChatModel, memory: Any = None) -> Team:
    """The suite's team for `case`, on `llm`, with merged team options."""
    options = {**suite.team_options, **case.team_options}
    field = "team_options"
    try:
        if isinstance(options.get("budget"), Mapping):
            options["budget"] = Budget(**options["budget"])
        if isinstance(options.get("retry"), Mapping):
            options["retry"] = RetryPolicy(**options["retry"])
    except (TypeError, ValueError) as e:
        raise SuiteError(str(e), file=suite.file, case=case.id, field=field) from None
    if memory is not None:
        options["memory"] = memory
    factory = suite.team
    if not isinstance(factory, Team) and not takes_model(factory):
        factory = factory()  # `make_team() -> Team`: built once per case, then put on `llm`
        if not isinstance(factory, Team):
            raise SuiteError(
                f"the team function returned {type(factory).__name__}, not a Team",
                file=suite.file,
                field="team",
            )
    if isinstance(factory, Team):
        factory = _rebuilder(factory)
    try:
        team = factory(llm, **options)
    except TypeError as e:
        raise SuiteError(
            f"the team function rejected the options: {e}", file=suite.file, case=case.id, field=field
        ) from None
    if not isinstance(team, Team):
        raise SuiteError(
            f"the team function returned {type(team).__name__}, not a Team", file=suite.file, field="team"
        )
    return team


def _rebuilder(team: Team) -> Any:
    """A function rebuilding `team` on another model (per-role models are replaced)."""

    def rebuild(llm: BaseChatModel, **options: Any) -> Team:
        settings: dict[str, Any] = dict(
            name=team.name,
            max_rounds=team.max_rounds,
            max_subtasks=team.max_subtasks,
            plan_retries=team.plan_retries,
            max_tool_calls=team.max_tool_calls,
            critic=team.critic,
            approve_plan=team.approve_plan,
            budget=team.budget,
            memory=team.memory,
            context_budget=team.context_budget,
            retry=team.retry,
            model_timeout=team.model_timeout,
            tool_timeout=team.tool_timeout,
            prices=team.prices,
            route_model=team.route_model,
        )
        settings.update(options)
        return Team(agents=list(team.agents), llm=llm, **settings)

    return rebuild


class ObservedMemory:
    """A `TeamMemory` wrapper that keeps what the memory handed to the team."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.recalled: list[str] = []

    async def arecall(self, goal: str, *, thread_id: str, budget: int) -> str:
        text: str = await self.inner.arecall(goal, thread_id=thread_id, budget=budget)
        if text:
            self.recalled.append(text)
        return text

    async def aassemble_context(
        self,
        *,
        goal: str,
        subtask: SubTask,
        dependencies: Mapping[str, SubTaskResult],
        thread_id: str,
        budget: int,
        summarize: Any,
    ) -> str:
        text: str = await self.inner.aassemble_context(
            goal=goal,
            subtask=subtask,
            dependencies=dependencies,
            thread_id=thread_id,
            budget=budget,
            summarize=summarize,
        )
        if text:
            self.recalled.append(text)
        return text

    async def aremember_run(
        self,
        *,
        goal: str,
        thread_id: str,
        run_id: str,
        results: Mapping[str, SubTaskResult],
        verdicts: Sequence[Verdict],
        answer: str,
    ) -> None:
        await self.inner.aremember_run(
            goal=goal, thread_id=thread_id, run_id=run_id, results=results, verdicts=verdicts, answer=answer
        )


async def new_memory(seed: Sequence[str]) -> ObservedMemory:
    """A fresh ephemeral Chroma memory (offline hashing embeddings) holding `seed` as notes."""
    from agentorch.memory import ChromaMemory, HashEmbeddings

    memory = ChromaMemory.ephemeral(embedding=HashEmbeddings(), namespace=f"eval-{uuid.uuid4().hex[:12]}")
    for text in seed:
        await memory.aadd(text, kind="note")
    return ObservedMemory(memory)
