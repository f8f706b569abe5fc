"""Subprocess for the Chroma-server test: run the research team with memory on a server.

    python _chroma_worker.py URL NAMESPACE GOAL

Prints one JSON line: the run's status and the planner's input (which holds what the team
recalled from memory before planning).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from agentorch._keys import PLANNER, ROLE_KEY
from agentorch.graphs.research import build_team, demo_model
from agentorch.memory import ChromaMemory, HashEmbeddings


class PlannerInput(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        if (kwargs.get("metadata") or {}).get(ROLE_KEY) == PLANNER:
            self.seen.append(str(messages[0][-1].content))


if __name__ == "__main__":
    url, namespace, goal = sys.argv[1:4]
    spy = PlannerInput()
    model = demo_model()
    model.callbacks = [spy]
    memory = ChromaMemory.from_url(url, namespace=namespace, embedding=HashEmbeddings(dim=256))
    result = build_team(model, memory=memory).run(goal)
    print(json.dumps({"status": result.status, "planner_input": spy.seen[0]}))
