"""Upload eval cases to LangSmith as a dataset and a run as an experiment (opt-in)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from agentorch.evals._runner import SuiteResult
from agentorch.evals._suite import Suite

log = logging.getLogger("agentorch.evals")

__all__ = ["upload_to_langsmith", "LANGSMITH_API_KEY"]

LANGSMITH_API_KEY = "LANGSMITH_API_KEY"


def upload_to_langsmith(
    suites: Sequence[Suite], results: Sequence[SuiteResult], *, client: Any = None
) -> str:
    """Upload each suite's cases as a dataset (`agentorch-eval-<suite>`) and this run as an
    experiment on it, one run per case with its scores as feedback.

    Without `LANGSMITH_API_KEY` (and no `client`), nothing is attempted. Returns a one-line
    summary for the CLI; upload errors are reported there, never raised.
    """
    if client is None and not os.environ.get(LANGSMITH_API_KEY):
        return "LangSmith: skipped (LANGSMITH_API_KEY is not set)."
    try:
        if client is None:
            from langsmith import Client

            client = Client()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        names = []
        for suite, result in zip(suites, results, strict=True):
            names.append(_upload_suite(client, suite, result, stamp))
        flush = getattr(client, "flush", None)
        if flush is not None:
            flush()
    except Exception as e:  # a reporting side channel must not fail the eval run
        log.warning("LangSmith upload failed: %r", e)
        return f"LangSmith: upload failed ({type(e).__name__}: {e})."
    return "LangSmith: uploaded experiments " + ", ".join(names) + "."


def _upload_suite(client: Any, suite: Suite, result: SuiteResult, stamp: str) -> str:
    dataset_name = f"agentorch-eval-{suite.name}"
    if client.has_dataset(dataset_name=dataset_name):
        dataset = client.read_dataset(dataset_name=dataset_name)
        existing = {
            e.metadata.get("case_id"): e.id for e in client.list_examples(dataset_id=dataset.id) if e.metadata
        }
    else:
        dataset = client.create_dataset(
            dataset_name, description=suite.description or f"agentorch suite {suite.name}"
        )
        existing = {}
    missing = [c for c in suite.cases if c.id not in existing]
    if missing:
        created = client.create_examples(
            dataset_id=dataset.id,
            examples=[
                {
                    "inputs": {"goal": c.goal},
                    "reference_outputs": {"expect": c.expect.model_dump(exclude_none=True)},
                    "metadata": {"case_id": c.id, "suite": suite.name},
                }
                for c in missing
            ],
        )
        ids = _created_ids(created)
        existing.update({c.id: i for c, i in zip(missing, ids, strict=False)})
    experiment = f"{suite.name}-{stamp}-{uuid.uuid4().hex[:6]}"
    project = client.create_project(
        experiment, reference_dataset_id=dataset.id, metadata={"suite": suite.name, "file": suite.file}
    )
    for case in result.cases:
        run_id = uuid.uuid4()
        end = dt.datetime.now(dt.UTC)
        client.create_run(
            name=case.case,
            run_type="chain",
            id=run_id,
            project_name=project.name,
            inputs={"goal": next((c.goal for c in suite.cases if c.id == case.case), "")},
            outputs={"answer": case.answer, "status": case.status, "outcome": case.outcome},
            reference_example_id=existing.get(case.case),
            error=case.error or None,
            start_time=end - dt.timedelta(seconds=case.duration),
            end_time=end,
            extra={"metadata": {"tokens": case.tokens, "llm_calls": case.llm_calls}},
        )
        for score in case.scores:
            client.create_feedback(
                run_id,
                key=score.name,
                score=float(score.passed),
                comment=score.detail[:500],
                value=score.value,
            )
    return experiment


def _created_ids(created: Any) -> list[Any]:
    if isinstance(created, dict):
        return list(created.get("example_ids", []))
    return [getattr(e, "id", None) for e in created or []]
