"""agentorch.evals: offline eval suites for agent teams.

Suites (YAML files, or `Suite` objects) name a team, a model setup and cases with
expectations; `run_suite` runs the cases concurrently on fresh teams and scripted (or replayed)
models and scores them. `agentorch eval PATH...` does the same from the command line and writes
results.json and report.html.

>>> from agentorch.evals import Case, ModelSetup, Suite, run_suite
>>> from agentorch.graphs.research import demo_model
>>> suite = Suite(name="demo", team="research", model=ModelSetup(factory=demo_model),
...               cases=[Case(id="brief", goal="Write a brief on solid-state batteries",
...                           expect={"status": "completed", "tool_called": "search"})])
>>> run_suite(suite).passed
True
"""

from agentorch._errors import CassetteError, CassetteMiss, SuiteError
from agentorch.evals._cassette import RecordingChatModel, ReplayChatModel
from agentorch.evals._expect import Expectations, FieldCheck
from agentorch.evals._judge import JudgeVerdict, LLMJudge
from agentorch.evals._langsmith import upload_to_langsmith
from agentorch.evals._report import Comparison, compare_results, load_results, write_html, write_results
from agentorch.evals._runner import (
    CaseResult,
    Outcome,
    SuiteResult,
    arun_suite,
    arun_suites,
    run_suite,
    run_suites,
)
from agentorch.evals._scorers import Observation, Score, Scorer, peak_parallel
from agentorch.evals._suite import Case, MemorySetup, ModelSetup, Suite, load_suite, load_suites

__all__ = [
    "Case",
    "CaseResult",
    "CassetteError",
    "CassetteMiss",
    "Comparison",
    "Expectations",
    "FieldCheck",
    "JudgeVerdict",
    "LLMJudge",
    "MemorySetup",
    "ModelSetup",
    "Observation",
    "Outcome",
    "RecordingChatModel",
    "ReplayChatModel",
    "Score",
    "Scorer",
    "Suite",
    "SuiteError",
    "SuiteResult",
    "arun_suite",
    "arun_suites",
    "compare_results",
    "load_results",
    "load_suite",
    "load_suites",
    "peak_parallel",
    "run_suite",
    "run_suites",
    "upload_to_langsmith",
    "write_html",
    "write_results",
]
