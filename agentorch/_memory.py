"""The contract between a team and its memory.

The team graph calls these methods; `agentorch.memory.ChromaMemory` implements them, and so can
any third-party backend. The team never reaches into a memory's storage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from agentorch._types import SubTask, SubTaskResult, Verdict

__all__ = ["TeamMemory", "Summarize"]

Summarize = Callable[[str, int], Awaitable[str]]
"""`summarize(text, max_tokens)`: ask the team's "summarizer" role for a summary of `text` of at
most `max_tokens` tokens. The text reaches the model as data; the limit as an instruction."""


@runtime_checkable
class TeamMemory(Protocol):
    """What a team needs from a memory backend."""

    async def arecall(self, goal: str, *, thread_id: str, budget: int) -> str:
        """Relevant past knowledge for planning `goal`, within `budget` tokens.

        The text is used in the planner's prompt as it is, so it must render every record as a
        delimited, labelled `<data>` block (see `agentorch.memory.render_data`): stored text is
        information, never instructions. Returns "" when nothing relevant is stored.
        """
        ...

    async def aassemble_context(
        self,
        *,
        goal: str,
        subtask: SubTask,
        dependencies: Mapping[str, SubTaskResult],
        thread_id: str,
        budget: int,
        summarize: Summarize,
    ) -> str:
        """The data a specialist sees for `subtask`, within `budget` tokens, as `<data>` blocks.

        It combines the dependencies' outputs, retrieved relevant records and the rolling summary
        of older work of this thread. What does not fit is summarized (through `summarize`) or
        referenced by id, never cut mid-sentence silently.
        """
        ...

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
        """Store what the run learned: the goal, accepted results, critic feedback, the answer.

        Must be idempotent for the same (thread_id, run_id): a resumed run may call it twice.
        """
        ...
