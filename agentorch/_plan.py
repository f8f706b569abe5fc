"""Plan validation, and the dispatch rule: when a sub-task may start (`may_start`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from agentorch._types import Plan, SubTask

__all__ = ["plan_problems", "may_start", "ready_subtasks", "downstream_of", "find_cycle"]


def find_cycle(subtasks: Iterable[SubTask]) -> list[str] | None:
    """Return one dependency cycle as a list of ids (first id repeated at the end), or None."""
    deps = {st.id: [d for d in st.depends_on] for st in subtasks}
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(deps, WHITE)
    for root in deps:
        if color[root] != WHITE:
            continue
        # iterative DFS so deep chains never hit Python's recursion limit
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = GREY
                path.append(node)
            children = [d for d in deps[node] if d in deps]
            if i < len(children):
                stack.append((node, i + 1))
                child = children[i]
                if color[child] == GREY:
                    return path[path.index(child) :] + [child]
                if color[child] == WHITE:
                    stack.append((child, 0))
            else:
                color[node] = BLACK
                path.pop()
    return None


def plan_problems(plan: Plan, agents: Collection[str], max_subtasks: int) -> list[str]:
    """Everything wrong with `plan`, as sentences the planner can act on. Empty if valid."""
    problems: list[str] = []
    if not plan.subtasks:
        return ["The plan has no sub-tasks; give at least one."]
    if len(plan.subtasks) > max_subtasks:
        problems.append(
            f"The plan has {len(plan.subtasks)} sub-tasks; the limit is {max_subtasks}. Merge related work."
        )
    seen: set[str] = set()
    for st in plan.subtasks:
        if not st.id.strip():
            problems.append("A sub-task has an empty `id`; give every sub-task a unique id.")
        elif st.id in seen:
            problems.append(f"Duplicate sub-task id `{st.id}`; ids must be unique.")
        seen.add(st.id)
        if not st.description.strip():
            problems.append(f"Sub-task `{st.id}` has an empty description.")
        if st.agent not in agents:
            problems.append(
                f"Sub-task `{st.id}` is assigned to unknown agent `{st.agent}`; "
                f"choose one of: {', '.join(sorted(agents))}."
            )
        for dep in st.depends_on:
            if dep == st.id:
                problems.append(f"Sub-task `{st.id}` depends on itself.")
    for st in plan.subtasks:
        for dep in st.depends_on:
            if dep not in seen:
                problems.append(f"Sub-task `{st.id}` depends on `{dep}`, which is not in the plan.")
    if not problems:
        cycle = find_cycle(plan.subtasks)
        if cycle:
            problems.append("The dependencies form a cycle: " + " -> ".join(f"`{c}`" for c in cycle) + ".")
    return problems


def may_start(
    depends_on: Collection[str],
    statuses: Mapping[str, str | None],
    ended: Mapping[str, int],
    stopped_at: int | None = None,
) -> bool:
    """The dispatch rule: whether a sub-task whose dependencies have all ended may start.

    `statuses[d]` is how dependency `d` ended ("done", "failed", "skipped", or None when it
    never ran); `ended[d]` is when it ended in this round (1 for the first task to end, ...;
    absent for results kept from an earlier round); `stopped_at` is how many tasks had ended
    when a budget stopped the run (None: no stop). A sub-task starts when every dependency
    finished "done" and it became ready no later than the stop: a sub-task ready before the
    stop starts (its first model call then finds the budget spent), one that became ready after
    is held back. The dispatcher (`agentorch._engine.dispatch`) applies it as each sub-task's
    dependencies end; `ready_subtasks` applies it to a whole plan.
    """
    if any(statuses.get(d) != "done" for d in depends_on):
        return False
    ready = max((ended.get(d, 0) for d in depends_on), default=0)
    return stopped_at is None or ready <= stopped_at


def ready_subtasks(plan: Plan, done: Collection[str], started: Collection[str] = ()) -> list[SubTask]:
    """Sub-tasks not yet done or started that `may_start` now that `done` finished "done",
    in plan order (the dispatcher starts each of them as its own dependencies end)."""
    statuses = dict.fromkeys(done, "done")
    return [
        st
        for st in plan.subtasks
        if st.id not in done and st.id not in started and may_start(st.depends_on, statuses, {})
    ]


def downstream_of(plan: Plan, ids: Iterable[str]) -> set[str]:
    """`ids` plus every sub-task that depends on them, directly or transitively."""
    out = set(ids)
    changed = True
    while changed:
        changed = False
        for st in plan.subtasks:
            if st.id not in out and any(d in out for d in st.depends_on):
                out.add(st.id)
                changed = True
    return out
