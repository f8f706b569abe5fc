"""The services a team's nodes use at run time, apart from model calls and budgets
(`RunContext`): prompts, the model of each attempt, structured-output models, and the one
context builder (with memory and without).

`Services.of(settings)` derives these from a team's settings (`Team.settings()`) once per
settings value. Nodes reach them through their run context (`ctx.services`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

import agentorch.prompts as prompt_files
from agentorch._agent import Agent
from agentorch._engine.data import data_block
from agentorch._engine.quote import Observed
from agentorch._engine.state import SpecialistInput
from agentorch._errors import ConfigError
from agentorch._keys import SUMMARIZER
from agentorch._models import Cascade, ChatModel, chat_model_problem
from agentorch._types import SubTask, SubTaskResult, TokenUsage

if TYPE_CHECKING:
    from agentorch._engine.context import RunContext
    from agentorch._settings import TeamSettings

__all__ = ["Services"]

_BUILT: weakref.WeakKeyDictionary[TeamSettings, Services] = weakref.WeakKeyDictionary()


class Services:
    """Prompts, per-attempt model routing, structured-output models and context assembly for
    one team (see the module's docstring)."""

    def __init__(self, settings: TeamSettings) -> None:
        self.settings = settings
        # structured-output runnables per (role, schema): converting a schema costs ~2 ms
        self._structured: dict[tuple[int, type[BaseModel]], Runnable[Any, Any]] = {}
        self.observed = Observed()
        """What the team's finished runs measured, for cost quotes (`quote_plan`)."""

    @classmethod
    def of(cls, settings: TeamSettings) -> Services:
        """The services of a team's `settings`, built once per settings value."""
        if settings not in _BUILT:
            _BUILT[settings] = cls(settings)
        return _BUILT[settings]

    # -- models -------------------------------------------------------------------------------

    def routed(self, agent: str) -> bool:
        """Whether `agent`'s attempts are routed (a cascade or `route_model`): a failed model
        call then moves on to the next model instead of failing the run."""
        return self.settings.route_model is not None or isinstance(self.settings.model_spec(agent), Cascade)

    def route(self, subtask: SubTask, attempt: int, history: Sequence[SubTaskResult]) -> ChatModel | None:
        """The chat model for `attempt` of `subtask` given its earlier attempts, or None when
        no model is left: `route_model` if set, else the agent's cascade (or its one model)."""
        if self.settings.route_model is None:
            spec = self.settings.model_spec(subtask.agent)
            return spec.route(subtask, attempt, history) if isinstance(spec, Cascade) else spec
        chosen = self.settings.route_model(subtask, attempt, list(history))
        if chosen is not None and (isinstance(chosen, Cascade) or chat_model_problem(chosen)):
            raise ConfigError(
                f"`route_model` must return a chat model or None for sub-task `{subtask.id}`, got {chosen!r}."
            )
        return chosen

    def structured_model(self, role: str, schema: type[BaseModel], model: Any = None) -> Runnable[Any, Any]:
        """`role`'s model (or the given chat `model`, e.g. a cascade's member for one attempt)
        asking for `schema` (with the raw message), built once per team, model and schema.

        The call is never streamed (nothing reads its tokens, and some servers break streamed
        tool calls). With "json_mode" the schema goes in the request too (`response_format:
        {type: json_object, schema: ...}`: llama.cpp constrains decoding to it)."""
        chat = model if model is not None else self.settings.model_for(role)
        key = (id(chat), schema)  # the settings hold `chat`, so its id stays unique
        if key not in self._structured:
            method = self.settings.structured_output_method
            options: dict[str, Any] = {"method": method} if method else {}  # not every model takes it
            if method == "json_mode":
                options["response_format"] = {"type": "json_object", "schema": schema.model_json_schema()}
            if isinstance(chat, BaseChatModel) and chat.disable_streaming is not True:
                chat = chat.model_copy(update={"disable_streaming": True})
            self._structured[key] = chat.with_structured_output(schema, include_raw=True, **options)
        return self._structured[key]

    def no_model_left(self, subtask: SubTask, attempt: int) -> str:
        """Why `attempt` of `subtask` has no model (`route` returned None)."""
        if self.settings.route_model is not None:
            why = f"`route_model` returned no model for attempt {attempt}"
        else:
            why = f"its agent's {self.settings.model_spec(subtask.agent)!r} has no model left for attempt {attempt}"
        return f"Sub-task `{subtask.id}` (agent `{subtask.agent}`) ran out of models: {why}."

    # -- prompts and context ------------------------------------------------------------------

    def prompt(self, name: str) -> str:
        """The prompt called `name`: the team's override, or the bundled one."""
        return self.settings.prompts.get(name) or prompt_files.load(name)

    def planner_prompt(self) -> str:
        """The planner's system prompt for this team."""
        roster = "\n".join(
            f"- {a.name}: {a.role}" + (f" (tools: {', '.join(t.name for t in a.tools)})" if a.tools else "")
            for a in self.settings.agents
        )
        return prompt_files.render(
            self.prompt("planner"), agents=roster, max_subtasks=self.settings.max_subtasks
        )

    def critic_answers(self) -> bool:
        """Whether the critic's accept carries the final answer (no separate synthesizer)."""
        return self.settings.critic and not self.settings.synthesizer

    def critic_prompt(self) -> str:
        """The critic's system prompt; it asks for the answer with an accept when the critic
        writes it (`critic_answers`)."""
        answer = (
            '\nWith "accept", also write the final answer to the goal in `answer`, composed from '
            "the results: use only what they support and say plainly what is missing.\n"
            if self.critic_answers()
            else ""
        )
        return prompt_files.render(self.prompt("critic"), answer=answer)

    def synthesizer_prompt(self) -> str:
        """The synthesizer's system prompt."""
        return self.prompt("synthesizer")

    def specialist_prompt(self, agent: Agent) -> str:
        """The system prompt of `agent`: its name, role and instructions — never other agents' text.
        The sentence about tools is there only for an agent that has some."""
        return prompt_files.render(
            self.prompt("specialist"),
            name=agent.name,
            role=agent.role,
            instructions=agent.instructions + "\n" if agent.instructions else "",
            tools=" Use your tools when they help; you can call only the tools you were given."
            if agent.tools
            else "",
        )

    async def specialist_context(
        self, ctx: RunContext, st: SubTask, inp: SpecialistInput, spent: list[tuple[TokenUsage, str]]
    ) -> str:
        """The data a specialist gets for `st`. Each summarizer call made to assemble it is
        appended to `spent` (usage, model) as it answers, so none is lost if a later one fails."""
        deps = {k: SubTaskResult.model_validate(v) for k, v in inp["dependencies"].items()}
        if self.settings.memory is None:
            return "\n".join(data_block(r.output, source=f"subtask:{k}") for k, r in deps.items())

        from agentorch._engine.context import model_name_of

        async def summarize(text: str, max_tokens: int) -> str:
            request = f"Summarize the records below in at most {max_tokens} tokens.\n\n"
            ai = await ctx.call_model(
                SUMMARIZER,
                [
                    SystemMessage(self.prompt("summarizer")),
                    HumanMessage(request + data_block(text, source="records")),
                ],
                subtask_id=st.id,
            )
            spent.append((ctx.priced(ai), model_name_of(ai)))
            return ai.text

        return await self.settings.memory.aassemble_context(
            goal=inp["goal"],
            subtask=st,
            dependencies=deps,
            thread_id=ctx.thread_id,
            budget=self.settings.context_budget,
            summarize=summarize,
        )
