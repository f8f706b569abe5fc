"""`TeamSettings`: everything the engine reads of a team, as one frozen value.

`Team` is what a user builds and may change between runs; at the start of every run (and when
it compiles a graph) it takes a snapshot, `Team.settings()`, which the run context carries
(`RunContext.settings`). The engine reads settings, never the `Team` — as openai-agents keeps
`RunConfig` apart from the agent, and pydantic-ai its `GraphAgentDeps` apart from the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langgraph.types import RetryPolicy

from agentorch._agent import Agent
from agentorch._errors import ConfigError
from agentorch._models import ChatModel, ModelSpec, RouteModel, StructuredOutputMethod, first_model, members
from agentorch._types import Budget, ModelPrice

if TYPE_CHECKING:
    from agentorch._memory import TeamMemory

__all__ = ["TeamSettings"]


@dataclass(frozen=True, kw_only=True, eq=False)
class TeamSettings:
    """A team's settings for one run (see `Team` for what each means)."""

    name: str
    agents: tuple[Agent, ...]
    models: Mapping[str, ModelSpec]
    """The model of every role that has one: an agent's own, else `llms[role]`, else `llm`."""
    budget: Budget
    prices: Mapping[str, ModelPrice]
    retry: RetryPolicy
    model_timeout: float | None
    tool_timeout: float | None
    max_rounds: int
    max_subtasks: int
    plan_retries: int
    max_tool_calls: int
    context_budget: int
    critic: bool
    synthesizer: bool
    """Whether a separate synthesizer call writes the answer after the critic accepts."""
    approve_plan: bool
    memory: TeamMemory | None
    route_model: RouteModel | None
    prompts: Mapping[str, str]
    structured_output_method: StructuredOutputMethod | None

    @property
    def agent_names(self) -> list[str]:
        """Names of the team's agents, in order."""
        return [a.name for a in self.agents]

    def agent(self, name: str) -> Agent:
        """The agent called `name`."""
        for a in self.agents:
            if a.name == name:
                return a
        raise KeyError(name)

    def model_spec(self, role: str) -> ModelSpec | None:
        """What `role` (an agent name or a team role) is configured with: a chat model, a
        cascade, or None."""
        return self.models.get(role)

    def model_for(self, role: str) -> ChatModel:
        """The chat model that answers for `role`; for a cascade, its first model."""
        return first_model(self._model(role))

    def models_for(self, role: str) -> tuple[ChatModel, ...]:
        """Every chat model `role` may run on: a cascade's members in order, or its one model."""
        return members(self._model(role))

    def _model(self, role: str) -> ModelSpec:
        model = self.models.get(role)
        if model is None:
            raise ConfigError(f"No model configured for role `{role}`.")
        return model
