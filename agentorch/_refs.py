"""Resolve `module:attr` and `path/to/file.py:attr` references (the CLI's `--team`, eval suites).

Module references go to the standard library's `pkgutil.resolve_name`; files are loaded once
each under a name derived from their path."""

from __future__ import annotations

import hashlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Any

__all__ = ["resolve_ref"]


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


def _load_file(target: str, base: Path | None, fresh: bool) -> Any:
    path = Path(target)
    if not path.is_absolute() and base is not None:
        path = base / path
    path = path.resolve()
    if not path.is_file():
        raise LookupError(f"file `{path}` does not exist.")
    name = "agentorch_eval_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules and not fresh:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LookupError(f"cannot import `{path}` as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(name, None)
        raise LookupError(f"importing `{path}` failed: {type(e).__name__}: {e}") from None
    return module
