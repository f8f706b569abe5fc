"""An LLM-as-judge scorer: any chat model grades the answer against a rubric."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agentorch._keys import ROLE_KEY
from agentorch.evals._scorers import Observation, Score

__all__ = ["LLMJudge", "JudgeVerdict", "JUDGE_ROLE"]

JUDGE_ROLE = "judge"
"""The role a judge call carries, so a ScriptedChatModel scripts it under "judge"."""

_SYSTEM = (
    "You are a strict evaluator. Grade the answer to the goal against the rubric. "
    "Give a score from 0 (fails the rubric) to 1 (fully meets it) and a short reason."
)


class JudgeVerdict(BaseModel):
    """What the judge model returns (through `with_structured_output`)."""

    score: float = Field(ge=0, le=1, description="0 = fails the rubric, 1 = fully meets it.")
    reasoning: str = Field(default="", description="Why, in one or two sentences.")


class LLMJudge:
    """Scores a case by asking a chat model to grade the answer against `rubric`.

    Args:
        model: a chat model, or a function returning a fresh one per case.
        rubric: what a good answer does.
        threshold: the lowest passing score (0..1).

    Example:
        >>> from agentorch.llms import ScriptedChatModel
        >>> judge = LLMJudge(ScriptedChatModel({"judge": [{"score": 0.9}]}), "Names a risk")
    """

    def __init__(
        self,
        model: BaseChatModel | Callable[[], BaseChatModel],
        rubric: str,
        threshold: float = 0.5,
        name: str = "judge",
    ) -> None:
        self.model = model
        self.rubric = rubric
        self.threshold = threshold
        self.name = name

    async def ascore(self, observed: Observation) -> Score:
        model = self.model if isinstance(self.model, BaseChatModel) else self.model()
        grader = model.with_structured_output(JudgeVerdict)
        messages = [
            SystemMessage(_SYSTEM),
            HumanMessage(
                f"Rubric:\n{self.rubric}\n\nGoal:\n{observed.result.goal}\n\n"
                f"Answer:\n{observed.result.answer or '(no answer)'}"
            ),
        ]
        raw = await grader.ainvoke(messages, config={"metadata": {ROLE_KEY: JUDGE_ROLE}})
        verdict = raw if isinstance(raw, JudgeVerdict) else JudgeVerdict.model_validate(raw)
        return Score(
            name=self.name,
            passed=verdict.score >= self.threshold,
            value=verdict.score,
            detail=f"judge {verdict.score:.2f} (threshold {self.threshold}): {verdict.reasoning}",
        )
