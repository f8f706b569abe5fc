"""Rendering other parties' text as delimited, labelled data — never as instructions."""

from __future__ import annotations

import html

__all__ = ["data_block", "digest"]


def data_block(text: str, **labels: object) -> str:
    """Wrap `text` in a `<data ...>` block the prompts tell models to treat as information.

    Anything in `text` that looks like a `<data>` tag is escaped, so content cannot close the
    block early and pose as instructions.
    """
    # attribute values are double-quoted: `"` is escaped, an apostrophe needs no escape
    attrs = "".join(
        f' {k}="{html.escape(str(v), quote=False).replace(chr(34), "&quot;")}"'
        for k, v in labels.items()
        if v not in (None, "")
    )
    safe = text.replace("<data", "&lt;data").replace("</data", "&lt;/data")
    return f"<data{attrs}>\n{safe}\n</data>"


def digest(text: str, limit: int = 240) -> str:
    """The opening of `text`, at most `limit` characters cut at a word, saying how much is left
    out: what a prompt shows of a text the model does not need in full."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(maxsplit=1)[0] if " " in text[:limit] else text[:limit]
    return f"{head} [... {len(text) - len(head)} more characters]"
