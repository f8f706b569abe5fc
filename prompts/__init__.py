"""Default prompt templates (Markdown files beside this module) and their loader.

Templates use `$name` placeholders (`string.Template`), so JSON and braces in prompts need no
escaping. Override a prompt per team with `Team(prompts={"planner": "..."})`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

__all__ = ["load", "render", "PROMPT_NAMES"]

PROMPT_NAMES = ("planner", "critic", "synthesizer", "specialist", "summarizer")


@cache
def load(name: str) -> str:
    """The text of the bundled prompt `name` (one of `PROMPT_NAMES`)."""
    if name not in PROMPT_NAMES:
        raise KeyError(f"No prompt named {name!r}; known prompts: {', '.join(PROMPT_NAMES)}.")
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(template: str, **values: object) -> str:
    """Fill `$placeholders` in `template`; unknown placeholders are left as they are."""
    return Template(template).safe_substitute({k: str(v) for k, v in values.items()})
