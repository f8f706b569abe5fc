"""The API key never reaches an artefact: logs, traces, events, run records, checkpoints.

A team runs on a real `ChatOpenAI` (built by `from_env` with a distinctive fake key) against
the local server, with every logger at DEBUG, a LangChain run collector tracing every call,
and a SQLite checkpoint file; a run that fails on a 401 adds the error path. Then every
artefact is searched for the key, and for its distinctive tail (a partly masked key is a
leak too).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from langchain_core.tracers.context import collect_runs
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentorch import RunFailed
from agentorch.testing._openai_server import Fault, OpenAIServer

from .conftest import SECRET_KEY, faults_then, http_team, research_script, writer

TAIL = SECRET_KEY[-10:]


def _leaks(name: str, data: str | bytes) -> list[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [f"{name} contains the key{' tail' if k == TAIL else ''}" for k in (SECRET_KEY, TAIL) if k in text]


async def test_the_api_key_appears_in_no_artefact_of_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: agentorch, openai, httpx, httpcore, langgraph
    db = tmp_path / "checkpoints.sqlite"
    artefacts: dict[str, str | bytes] = {}
    script = research_script(writer=faults_then(writer, Fault(status=401)))
    with OpenAIServer(script) as server:
        async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
            team = http_team(server, checkpointer=saver)
            assert team.model_for("planner").openai_api_key.get_secret_value() == SECRET_KEY
            events = []
            with collect_runs() as traced:
                with pytest.raises(RunFailed) as failed:  # the 401 path: errors, warnings
                    async for event in team.astream("Write a brief", thread_id="secret-run"):
                        events.append(event)
                result = await team.aresume("secret-run")
            assert result.status == "completed", result.error
            assert "Error code: 401" in failed.value.result.error
        server.assert_complete()

    result.save(tmp_path / "run.json")
    failed.value.result.save(tmp_path / "failed.json")
    artefacts["run record"] = (tmp_path / "run.json").read_bytes()
    artefacts["failed run record"] = (tmp_path / "failed.json").read_bytes()
    artefacts["RunFailed message"] = str(failed.value)
    artefacts["HTML report"] = result._repr_html_()
    artefacts["events"] = json.dumps(events, default=str)
    artefacts["logs"] = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    artefacts["traces"] = "\n".join(run.model_dump_json() for run in traced.traced_runs)
    for path in tmp_path.iterdir():  # the checkpoint DB and its WAL / journal files
        if path.name.startswith("checkpoints"):
            artefacts[f"checkpoint file {path.name}"] = path.read_bytes()
    artefacts["server-recorded requests"] = "\n".join(
        json.dumps({"headers": dict(r.headers), "body": r.body}) for r in server.requests
    )
    artefacts["team and model reprs"] = repr(team.model_for("writer")) + team._repr_html_()

    # the artefacts are real: they hold the run, so an empty grep proves something
    assert len(caplog.records) > 50 and any(r.name.startswith("openai") for r in caplog.records)
    assert len(traced.traced_runs) > 5
    assert b"investment brief" in artefacts["run record"]  # type: ignore[operator]
    assert b"investment brief" in artefacts["checkpoint file checkpoints.sqlite"]  # type: ignore[operator]
    assert all(r.headers["authorization"] == "[redacted]" for r in server.requests)

    leaks = [leak for name, data in artefacts.items() for leak in _leaks(name, data)]
    assert leaks == []
