"""One-off: move the README's manual sections into docs/ pages (run once, from the repo root).

Each `## Section` of the README becomes (part of) a page, its headings one level up; links to
other sections become links to their pages; links to files outside docs/ become plain text.
The README keeps its first five minutes (set-up lines, what agentorch is, the quick start) and
gains a map of the site. Prints which section went to which page.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# README section (its `##` or `###` heading) -> (page, the page's title when it starts the page)
MOVES: dict[str, tuple[str, str | None]] = {
    "## Concepts": ("concepts.md", "Concepts"),
    "### People in the loop": ("approvals.md", "Approvals and guarantees"),
    "### The compiled graph": ("concepts.md", None),
    "## Memory": ("memory.md", "Memory"),
    "## Command line": ("cli.md", "Command line"),
    "## Seeing the team work": ("observability.md", "Seeing the team work"),
    "## Real models": ("models.md", "Real models"),
    "## MCP": ("mcp.md", "MCP"),
    "## Cascades and costs": ("cascades.md", "Cascades and costs"),
    "## Scaling out": ("scaling.md", "Scaling out"),
    "## Evals": ("evals.md", "Evals"),
    "## Guarantees": ("approvals.md", None),
    "## Benchmarks": ("benchmarks.md", "Benchmarks"),
    "## Testing": ("testing.md", "Testing"),
}
KEEP = ("# agentorch", "## Quick start")


def slug(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")


def split(text: str) -> list[tuple[str, str]]:
    """(heading line, body) of the README's `##` sections and the `###` ones MOVES names."""
    parts: list[tuple[str, str]] = []
    heading, body, fenced = "", [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        top = not fenced and (line.startswith("## ") or line.startswith("# ") or line.rstrip() in MOVES)
        if top:
            parts.append((heading, "".join(body)))
            heading, body = line.rstrip(), []
        else:
            body.append(line)
    parts.append((heading, "".join(body)))
    return [p for p in parts if p[0] or p[1].strip()]


def promote(body: str, by: int) -> str:
    """Headings `by` levels up, outside code fences."""
    out, fenced = [], False
    for line in body.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{2,6} ", line):
            line = line[by:]
        out.append(line)
    return "".join(out)


def main() -> None:
    sections = split(README.read_text(encoding="utf-8"))
    anchors: dict[str, str] = {}  # README anchor -> page (+ anchor)
    for heading, body in sections:
        if heading in MOVES:
            page = MOVES[heading][0]
            anchors[slug(heading.lstrip("# "))] = page if MOVES[heading][1] else f"{page}#{slug(heading.lstrip('# '))}"
            for sub in re.findall(r"(?m)^#{3,5} (.+)$", body):
                anchors.setdefault(slug(sub), f"{page}#{slug(sub)}")

    def relink(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            label, target = m.group(1), m.group(2)
            if target.startswith("#"):
                return f"[{label}]({anchors.get(target[1:], target)})"
            if target.startswith(("http://", "https://", "mailto:")) or target.endswith(".md") and (DOCS / target).exists():
                return m.group(0)
            return f"{label} (`{target.split('#')[0]}` in the repository)"

        return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", one, text)

    pages: dict[str, list[str]] = {}
    kept: list[str] = []
    moved: list[str] = []
    for heading, body in sections:
        if heading in MOVES:
            page, title = MOVES[heading]
            level = len(heading) - len(heading.lstrip("#"))
            if title is not None and page not in pages:
                chunk = f"# {title}\n" + promote(body, level - 1)
            else:  # a later part of a page: its heading one level below the title
                chunk = f"{'#' * 2} {heading.lstrip('# ')}\n" + promote(body, level - 2)
            pages.setdefault(page, []).append(relink(chunk))
            moved.append(f"{heading} -> docs/{page}")
        else:
            kept.append(heading + "\n" + body if heading else body)
    for page, chunks in pages.items():
        (DOCS / page).write_text("\n".join(c.rstrip("\n") + "\n" for c in chunks), encoding="utf-8")
    README.write_text("".join(kept).rstrip("\n") + "\n", encoding="utf-8")
    print("\n".join(moved))


if __name__ == "__main__":
    main()
