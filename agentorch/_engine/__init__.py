"""The engine: the LangGraph state machine a team runs on, and the run façade over it.

Runs (`runs`), the graph and its nodes (`graph`), eager dispatch (`dispatch`), one sub-task's
tool loop (`specialist`), the state schema (`state`), the per-run context every model call and
budget check goes through (`context`), the services nodes use (`services`), stream events
(`events`) and data blocks for other parties' text (`data`). It imports neither rendering nor the
CLI.
"""
