"""Resolve `module:attr` and `path/to/file.py:attr` references, and name a team the one way the
CLI (`--team`), `mcp-serve` and eval suites (`team:`) all accept.

Module references go to the standard library's `pkgutil.resolve_name`; files are loaded once
each under a name derived from their path, with their own folder importable (at the end of
`sys.path`: installed packages come first), so a team file can import the modules beside it.

A team reference is `path/to/file.py[:attr]` or `package.module[:attr]` (attr: `team`) naming
a `Team`, or a function returning one: either with no required argument (`def make_team()`) or
taking the model as its first argument (`def build_team(llm, **options)`, the form eval suites
call with their model and options).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentorch._team import Team

__all__ = ["resolve_ref", "resolve_team", "takes_model", "TEAM_REF_HELP"]

TEAM_REF_HELP = (
    "`path/to/team.py[:attr]` or `package.module[:attr]` (attr: `team`) naming a `Team`, a "
    "function `make_team() -> Team`, or a function `build_team(llm) -> Team`"
)
"""How a team is named, for messages and help texts."""


def resolve_ref(ref: str, *, base: Path | None = None, fresh: bool = False) -> Any:
    """The object `ref` names: `package.module:attr` or `path/to/file.py:attr` (relative to
    `base`). Raises `LookupError` (message says what to change) when it cannot be found.
    A file is loaded once per process, or, with `fresh`, again (replacing the earlier load)."""
    if not isinstance(ref, str) or ":" not in ref:
        raise LookupError(f"{ref!r} is not a reference; write `package.module:attr` or `file.py:attr`.")
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise LookupError(f"{ref!r} is not a reference; write `package.module:attr` or `file.py:attr`.")
    if not target.endswith(".py"):
        try:
            return pkgutil.resolve_name(ref)
        except ImportError as e:
            raise LookupError(f"cannot import module `{target}`: {e}") from None
        except AttributeError:
            raise LookupError(f"`{target}` has no attribute `{attr}`.") from None
    obj: Any = _load_file(target, base, fresh)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise LookupError(f"`{target}` has no attribute `{attr}`.")
        obj = getattr(obj, part)
    return obj


def resolve_team(ref: str, *, base: Path | None = None, fresh: bool = False) -> Team | Callable[..., Any]:
    """The `Team`, or the function returning one, that the team reference `ref` names (see the
    module docstring; the attribute defaults to `team`). Raises `LookupError` saying what to
    change."""
    target, colon, attr = ref.rpartition(":") if ref.count(":") == 1 else (ref, "", "")
    if not colon:
        target, attr = ref, "team"
    obj = resolve_ref(f"{target}:{attr}", base=base, fresh=fresh)
    if isinstance(obj, Team) or (callable(obj) and not isinstance(obj, type)):
        return obj
    raise LookupError(f"`{target}:{attr}` is a {type(obj).__name__}; a team reference names {TEAM_REF_HELP}.")


def takes_model(factory: Callable[..., Any]) -> bool:
    """Whether the team function `factory` needs the model as its first argument (False: it
    can be called with no argument)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: assume the common form
        return True
    return any(
        p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for p in params
    )


def _load_file(target: str, base: Path | None, fresh: bool) -> Any:
    path = Path(target)
    if not path.is_absolute() and base is not None:
        path = base / path
    path = path.resolve()
    if not path.is_file():
        raise LookupError(f"file `{path}` does not exist.")
    name = "agentorch_ref_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules and not fresh:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LookupError(f"cannot import `{path}` as a Python module.")
    folder = str(path.parent)
    if folder not in sys.path:
        # the modules beside it import, as under `python file.py` — but last, so a folder that
        # holds a module named like an installed package (a `tests/mcp`) never shadows it
        sys.path.append(folder)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(name, None)
        raise LookupError(f"importing `{path}` failed: {type(e).__name__}: {e}") from None
    return module
