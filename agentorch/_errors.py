"""The error tree: everything agentorch raises on purpose derives from `AgentorchError`.

    AgentorchError
    ├── ConfigError (also a ValueError)      misuse: the message says what to change
    │   ├── ModelNotConfigured               no model can be built from the environment
    │   ├── SuiteError                       an eval suite is wrong (file, case, field)
    │   └── CassetteError                    a recorded-calls file is unusable
    ├── PlanError                            no valid plan after the repair attempts
    ├── RunFailed                            a run stopped on an error; `.result`, resumable
    │   └── CriticError                      no valid verdict after the repair attempts
    ├── ScriptExhausted                      a scripted model has no answer left
    ├── CassetteMiss                         a replayed model got a request it never recorded
    └── ModelRequestsBlocked                 a real model call while requests are blocked

Control flow that never reaches users (a budget reached before a model call, a sub-task's
failure on its way to `RunFailed`) lives next to the code that raises and catches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from agentorch._types import RunResult, Usage

__all__ = [
    "AgentorchError",
    "ConfigError",
    "PlanError",
    "RunFailed",
    "ScriptExhausted",
    "ModelRequestsBlocked",
    "ModelNotConfigured",
    "CriticError",
    "SuiteError",
    "CassetteError",
    "CassetteMiss",
]


class AgentorchError(Exception):
    """Base class of every error agentorch raises on purpose."""


class ConfigError(AgentorchError, ValueError):
    """A team, agent, model or suite was set up wrongly; the message says what to change."""


class PlanError(AgentorchError):
    """The planner could not produce a valid plan, even after repair attempts.

    `problems` lists what was wrong with the last plan it proposed.
    """

    def __init__(
        self, message: str, problems: list[str] | None = None, *, spent: Usage | None = None
    ) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])
        self.spent = spent
        """What the failed planner calls used (they are in no checkpoint)."""
        self.result: RunResult | None = None
        """The run up to the failure, its usage including the failed planner calls (set by
        `Team.run`/`arun`/`stream`)."""


class RunFailed(AgentorchError):
    """A run stopped on an error it could not recover from.

    `result` holds everything that finished before the failure (status "failed"); the run can
    be continued with `team.resume(result.thread_id)` once the cause is fixed.
    """

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


class CriticError(RunFailed):
    """The critic gave no valid verdict, even after repair attempts.

    `problems` lists what was wrong with its last answer; `result` holds the run so far (every
    finished sub-task) and `team.resume(result.thread_id)` asks the critic again.
    """

    def __init__(
        self, message: str, problems: list[str] | None = None, result: RunResult | None = None
    ) -> None:
        AgentorchError.__init__(self, message)
        self.problems: list[str] = list(problems or [])
        self.result = result  # type: ignore[assignment]  # set by `Team.run` before it reaches you


class ModelNotConfigured(ConfigError):
    """No chat model can be built from the environment; the message says what to set."""


class SuiteError(ConfigError):
    """A suite (file or Python) is wrong. The message names the file, the case and the field.

    Attributes:
        file: the suite file ("" for a suite built in Python).
        case: the case id ("" when the problem is at suite level).
        field: the dotted field path, e.g. "expect.max_parallel" ("" when not about one field).
    """

    def __init__(self, problem: str, *, file: str = "", case: str = "", field: str = "") -> None:
        where = [f"`{file}`" if file else "suite"]
        if case:
            where.append(f"case `{case}`")
        if field:
            where.append(f"field `{field}`")
        super().__init__(f"{', '.join(where)}: {problem}")
        self.file = file
        self.case = case
        self.field = field
        self.problem = problem


class CassetteError(ConfigError):
    """A cassette file is missing, unreadable, truncated or not a cassette."""


class CassetteMiss(AgentorchError):
    """A replayed model was asked a request the cassette does not hold.

    The message shows the nearest recorded request of the same role and what differs.
    """


class ScriptExhausted(AgentorchError):
    """A `ScriptedChatModel` was called for a role whose script is missing or used up."""


class ModelRequestsBlocked(AgentorchError):
    """A real model client was called while model requests are blocked (tests, evals)."""


def describe_error(exc: BaseException) -> str:
    """`Type: message` for a failure report, plus where the failed request went when the
    exception carries one: the OpenAI SDK's "Connection error." alone does not say which server.
    Only scheme, host, port and path are shown — credentials and query strings never are.
    "Event loop is closed" gets its usual cause and cure."""
    text = f"{type(exc).__name__}: {exc}"
    try:  # httpx's `request` property raises when the exception was made without one
        url = getattr(getattr(exc, "request", None), "url", None)
        parts = urlsplit(str(url)) if url is not None else None
        port = f":{parts.port}" if parts and parts.port else ""
        where = f"{parts.scheme}://{parts.hostname}{port}{parts.path}" if parts and parts.hostname else ""
    except Exception:
        where = ""
    if where and where not in text:
        text += f" (request to {where})"
    if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
        text += (
            " — a client (langchain-openai's shared HTTP pool, for one) holds connections of an"
            " event loop that has ended: run every call on one loop (one `asyncio.run`, or the"
            " sync `team.run`), or build models with `agentorch.llms.from_env`, which keeps a"
            " pool per loop"
        )
    return text
