"""agentorch: teams of LLM agents on LangGraph.

A planner splits a goal into a DAG of sub-tasks, specialists work on them in parallel, and a
critic reviews them; its accept carries the answer (or a synthesizer writes it). `from agentorch import Team, Agent, tool` is enough for a
first team; see the README for the rest.
"""

import logging

from agentorch._agent import Agent, requires_approval, tool
from agentorch._engine.context import RunContext
from agentorch._engine.effects import tool_call_key
from agentorch._engine.events import (
    CriticVerdict,
    Event,
    Final,
    Interrupted,
    PlanCreated,
    Replanned,
    SubtaskFinished,
    SubtaskStarted,
    Token,
)
from agentorch._errors import (
    AgentorchError,
    ConfigError,
    CriticError,
    ModelRequestsBlocked,
    PlanError,
    RunFailed,
    ScriptExhausted,
)
from agentorch._mcp import TeamRunSummary, mcp_server, mcp_tools, mcp_tools_sync
from agentorch._memory import Summarize, TeamMemory
from agentorch._plan import plan_problems, ready_subtasks
from agentorch._protocols.a2a import a2a_app
from agentorch._protocols.a2a_client import RemoteAgentError, a2a_agent, a2a_agent_sync
from agentorch._protocols.agui import agui_app
from agentorch._team import Team
from agentorch._types import (
    DEFAULT_PRICES,
    DEFAULT_PRICES_DATE,
    Budget,
    Cost,
    ModelPrice,
    PendingInterrupt,
    Plan,
    Quote,
    RunResult,
    RunStatus,
    StepRecord,
    SubTask,
    SubTaskResult,
    SubTaskStatus,
    TokenUsage,
    ToolCallRecord,
    ToolOutcome,
    Usage,
    Verdict,
)

__version__ = "0.1.0"

# a library logs and never prints: silent unless the application configures logging (Python's
# "last resort" handler would otherwise print agentorch's warnings to stderr)
logging.getLogger("agentorch").addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_PRICES",
    "DEFAULT_PRICES_DATE",
    "Agent",
    "AgentorchError",
    "Budget",
    "ConfigError",
    "CriticError",
    "Cost",
    "CriticVerdict",
    "Event",
    "Final",
    "Interrupted",
    "ModelPrice",
    "ModelRequestsBlocked",
    "PendingInterrupt",
    "Plan",
    "PlanCreated",
    "PlanError",
    "Quote",
    "Replanned",
    "RemoteAgentError",
    "RunContext",
    "RunFailed",
    "RunResult",
    "RunStatus",
    "ScriptExhausted",
    "StepRecord",
    "SubTask",
    "SubTaskResult",
    "SubTaskStatus",
    "SubtaskFinished",
    "SubtaskStarted",
    "Summarize",
    "Team",
    "TeamMemory",
    "TeamRunSummary",
    "Token",
    "TokenUsage",
    "ToolCallRecord",
    "ToolOutcome",
    "Usage",
    "Verdict",
    "a2a_agent",
    "a2a_agent_sync",
    "a2a_app",
    "agui_app",
    "mcp_server",
    "mcp_tools",
    "mcp_tools_sync",
    "plan_problems",
    "ready_subtasks",
    "requires_approval",
    "tool",
    "tool_call_key",
    "__version__",
]
