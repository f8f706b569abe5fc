"""Errors of the eval harness: every one is an `agentorch.ConfigError` or a `RunFailed`-style
run error, never a bare KeyError or AttributeError from inside."""

from __future__ import annotations

from agentorch import AgentorchError, ConfigError

__all__ = ["SuiteError", "CassetteError", "CassetteMiss"]


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
