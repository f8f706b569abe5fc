"""MkDocs hook: the API reference reads `agentorch.memory`, `.evals`, `.graphs` and `.prompts`
by their installed names, though their sources are top-level folders (pyproject maps them into
the package). Griffe reads sources, not the install, so this lays out `build/docs-src/agentorch`
as the installed package looks: links to `agentorch/*` plus the mapped folders."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "build" / "docs-src"
MAPPED = ("graphs", "memory", "prompts", "evals")


def on_config(config: Any, **_: Any) -> Any:
    package = SOURCE / "agentorch"
    shutil.rmtree(SOURCE, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (ROOT / "agentorch").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name in MAPPED:
        (package / name).symlink_to(ROOT / name)
    return config
