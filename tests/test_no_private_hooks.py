"""The library touches no private name of asyncio, CPython, openai, langchain, langgraph or
chromadb: no `_private` imports from other packages and no `obj._private` attribute on objects
that are not our own. What truly has no public way is listed in ALLOWED with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ["agentorch", "memory", "evals", "graphs", "prompts"]
# names that hold objects of our own classes in the functions that use them
OURS = {"owner", "server", "handler", "index", "memory", "team", "ctx", "record"}
ALLOWED: dict[tuple[str, str], str] = {
    # (file, what): why
    ("agentorch/testing/_block.py", "guard._agentorch_guard"): "a marker on our own wrapper function",
    ("agentorch/testing/_block.py", "aguard._agentorch_guard"): "a marker on our own wrapper function",
    (
        "agentorch/testing/_block.py",
        "cls.__dict__.get('_prepare_request')",
    ): "the opt-in request guard of the pytest plugin: openai has no public hook that sees every "
    "request of every client a test builds (a custom http_client covers only the clients we "
    "build); see README 'pytest'",
    ("agentorch/testing/_block.py", "cls._prepare_request"): "the same guard, installing itself",
    (
        "agentorch/testing/_block.py",
        "getattr(hook, '_agentorch_guard', False)",
    ): "reads the marker on our own wrapper function",
}
STRING_ACCESS = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _by_string(call: ast.Call) -> bool:
    """`getattr(x, "_private")`, `setattr(...)`, `x.__dict__.get("_private")` and the like."""
    f = call.func
    if isinstance(f, ast.Name) and f.id in STRING_ACCESS and len(call.args) >= 2:
        key = call.args[1]
    elif (
        isinstance(f, ast.Attribute)
        and f.attr == "get"
        and isinstance(f.value, ast.Attribute)
        and f.value.attr == "__dict__"
        and call.args
    ):
        key = call.args[0]
    else:
        return False
    return isinstance(key, ast.Constant) and isinstance(key.value, str) and _private(key.value)


def _own_receivers(tree: ast.Module) -> set[int]:
    """ids of `Name` nodes that are a method's `self`/`cls` (its first parameter, inside a class)."""
    own: set[int] = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for fn in ast.walk(cls):  # methods, also those defined under an `if` in the class body
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.args.args:
                first = fn.args.args[0].arg
                own.update(id(n) for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == first)
    return own


def _violations(path: Path) -> list[tuple[str, int, str]]:
    rel = str(path.relative_to(ROOT))
    tree = ast.parse(path.read_text())
    own = _own_receivers(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and _by_string(node)
            and not (isinstance(node.func, ast.Name) and id(node.args[0]) in own)
        ):
            found.append((rel, node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("agentorch"):
            parts = node.module.split(".")
            names = [a.name for a in node.names]
            if any(_private(p) for p in parts) or any(_private(n) for n in names):
                found.append((rel, node.lineno, f"from {node.module} import {', '.join(names)}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("agentorch") and any(_private(p) for p in alias.name.split(".")):
                    found.append((rel, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and (id(base) in own or base.id in OURS or _private(base.id)):
                continue  # our own object, or a private module/name of ours
            if (
                isinstance(base, ast.Attribute)
                and isinstance(base.value, ast.Name)
                and (id(base.value) in own or base.value.id in OURS)
            ):
                continue  # self.something._ours
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            found.append((rel, node.lineno, ast.unparse(node)))
    return [v for v in found if (v[0], v[2]) not in ALLOWED]


def test_the_library_uses_no_private_names_of_other_packages() -> None:
    files = [p for d in LIBRARY for p in (ROOT / d).rglob("*.py")]
    problems = [v for p in files for v in _violations(p)]
    assert not problems, "\n".join(f"{f}:{line}: {what}" for f, line, what in problems)
