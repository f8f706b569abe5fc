"""MkDocs hook: the API reference reads `agentorch.memory`, `.evals`, `.graphs` and `.prompts`
by their installed names, though their sources are top-level folders (pyproject maps them into
the package). Griffe reads sources, not the install, so this lays out `build/docs-src/agentorch`
as the installed package looks: links to `agentorch/*` plus the mapped folders."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "build" / "docs-src"
MAPPED = ("graphs", "memory", "prompts", "evals")


def _lay_out() -> None:
    package = SOURCE / "agentorch"
    shutil.rmtree(SOURCE, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (ROOT / "agentorch").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name in MAPPED:
        (package / name).symlink_to(ROOT / name)


# laid out when MkDocs loads this hook, before any plugin reads its configuration: mkdocstrings
# keeps only search paths that exist when it is configured, so a fresh clone needs it now
_lay_out()
