"""Validation of namespaces and deterministic record ids."""

from __future__ import annotations

import hashlib
import re

from agentorch._errors import ConfigError

__all__ = ["validate_namespace", "record_id", "MAX_NAMESPACE_LENGTH"]

MAX_NAMESPACE_LENGTH = 128
_NAMESPACE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_ALLOWED = (
    f"1-{MAX_NAMESPACE_LENGTH} characters of letters, digits, '.', '_' and '-', "
    "starting and ending with a letter or digit, without '..'"
)


def validate_namespace(namespace: object) -> str:
    """Return `namespace` if it can name a Chroma collection, else raise `ConfigError`.

    Chroma collection names allow only `[a-zA-Z0-9._-]`; we add a prefix, so the namespace
    must also start and end with a letter or digit.
    """
    if not isinstance(namespace, str):
        raise ConfigError(f"`namespace` must be a string, got {namespace!r}; allowed: {_ALLOWED}")
    problem = ""
    if not namespace:
        problem = "is empty"
    elif len(namespace) > MAX_NAMESPACE_LENGTH:
        problem = f"is {len(namespace)} characters long"
    elif any(ch in namespace for ch in "/\\"):
        problem = "contains a path separator"
    elif ".." in namespace:
        problem = "contains '..'"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in namespace):
        problem = "contains a control character"
    elif not _NAMESPACE.fullmatch(namespace):
        problem = "contains characters Chroma does not allow, or starts/ends with one of '._-'"
    if problem:
        raise ConfigError(f"`namespace` {namespace!r} {problem}; allowed: {_ALLOWED}")
    return namespace


def record_id(*parts: str) -> str:
    """A deterministic record id from its identifying parts, e.g. (thread, run, kind, sub-task).

    The same parts always give the same id, so re-storing a run upserts instead of duplicating.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]
    return f"r-{digest}"
