"""Named constants for wiring: node names, roles, metadata keys. No magic strings elsewhere."""

from __future__ import annotations

from typing import Final

# run-config metadata keys every LLM call carries
ROLE_KEY: Final = "agentorch_role"
SUBTASK_KEY: Final = "agentorch_subtask"
ROUND_KEY: Final = "agentorch_round"
THREAD_KEY: Final = "thread_id"

# roles that are not agent names
PLANNER: Final = "planner"
CRITIC: Final = "critic"
SYNTHESIZER: Final = "synthesizer"
SUMMARIZER: Final = "summarizer"
RESERVED_ROLES: Final = frozenset({PLANNER, CRITIC, SYNTHESIZER, SUMMARIZER})

# the status a budget stop ends a run with (also the value of the state's `stop`)
BUDGET_EXHAUSTED: Final = "budget_exhausted"

# graph node names
NODE_RECALL: Final = "recall"
NODE_PLAN: Final = "plan"
NODE_APPROVE: Final = "approve_plan"
NODE_DISPATCH: Final = "dispatch"
NODE_SPECIALIST: Final = "specialist"
NODE_CRITIC: Final = "critic"
NODE_SYNTHESIZE: Final = "synthesize"
NODE_REMEMBER: Final = "remember"

# tool metadata keys
REQUIRES_APPROVAL: Final = "agentorch_requires_approval"
TOOL_TIMEOUT: Final = "agentorch_timeout"
ON_IN_DOUBT: Final = "agentorch_on_in_doubt"
# run-config metadata key a tool execution carries: its effect key (see `tool_call_key`)
TOOL_CALL_KEY: Final = "agentorch_tool_call_key"
# key of a tool-approval interrupt's payload (and of its answer) naming the call it is about
CALL_KEY: Final = "call"

# configurable key under which `team.compile()`'s graph carries its team's settings (LangGraph keeps keys
# starting with "__" out of checkpoint metadata)
TEAM_CONFIG: Final = "__agentorch_team"

# plain trace metadata (LangSmith filters on these): the run, round and sub-task of every call
RUN_ID_KEY: Final = "run_id"
TRACE_ROUND_KEY: Final = "round"
TRACE_SUBTASK_KEY: Final = "subtask_id"
TEAM_KEY: Final = "agentorch_team"
