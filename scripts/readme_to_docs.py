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

# what the moved text says that issue 28 changed (page, old, new); a miss is reported
FIXUPS: list[tuple[str, str, str]] = [
    (
        "cli.md",
        "| a team with the model from the environment; exits 2 with what to set when none is configured |",
        "| your team: `path/to/team.py[:attr]` or `module[:attr]` naming a `Team` or a function returning "
        "one; a team that brings its models runs with them, a function taking `llm` gets the "
        "environment's model, and the command says which model each role uses (see "
        "[Getting started](getting-started.md)) |",
    ),
    ("mcp.md", '(`pip install "agentorch[mcp]"`:', '(`pip install -e ".[mcp]"` from a checkout:'),
    (
        "mcp.md",
        'server = FastMCP("facts")',
        'server = FastMCP("facts", log_level="WARNING")  # no INFO line per request',
    ),
    (
        "mcp.md",
        "--team`, on the model from the environment)",
        "--team`: a team that brings its models runs with them, a team function taking `llm` gets "
        "the environment's)",
    ),
    (
        "observability.md",
        "agentorch report run.json -o report.html --prices prices.json",
        "agentorch report run.json -o report.html --prices '{\"scripted-demo\": [0.15, 0.60]}'",
    ),
]

# examples another test runs (it needs a server, a subprocess or checks of its own), and
# fragments that do not run alone: (page, the block's first line, the marker before it)
MARKS: list[tuple[str, str, str]] = [
    ("concepts.md", "from pydantic import BaseModel, Field", "run by tests/test_readme.py"),
    ("concepts.md", 'for event in team.stream("Write a brief", thread_id="t1"):', "not run: a fragment"),
    (
        "concepts.md",
        "from agentorch import Agent, Team\nfrom agentorch.llms import ScriptedChatModel\n\nteam = Team(",
        "run by tests/test_readme.py",
    ),
    ("cascades.md", "from agentorch import Agent, Budget, Team", "run by tests/test_readme.py"),
    ("cascades.md", "  ladder = cascade(cheap, strong)", "not run: a fragment"),
    ("mcp.md", "# facts_server.py", "run by tests/mcp/test_readme_mcp.py"),
    (
        "mcp.md",
        "import sys\nfrom langchain_core.messages import AIMessage",
        "run by tests/mcp/test_readme_mcp.py",
    ),
    ("memory.md", "from agentorch import Team, Agent", "run by tests/memory/test_units.py"),
    ("evals.md", "import yaml", "run by tests/evals/test_readme_evals.py"),
    (
        "evals.md",
        "from agentorch import Agent, Team\n\ndef test_my_team",
        "run by tests/evals/test_readme_evals.py",
    ),
    ("observability.md", 'result.save("run.json")', "run by tests/observability/test_readme_section.py"),
    ("observability.md", "from opentelemetry import trace", "run by tests/observability/test_otel_export.py"),
    ("approvals.md", "team = Team(agents=..., llm=..., approve_plan=True)", "not run: a fragment"),
    ("approvals.md", 'paused = team.run("goal", thread_id="t2")', "not run: a fragment"),
    (
        "scaling.md",
        "from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver",
        "not run: needs PostgreSQL and a model",
    ),
    ("scaling.md", "from langgraph_sdk import get_client", "not run: needs a LangGraph server"),
]

TESTING_ADDITION = """
## A real HTTP model, offline

`agentorch.testing.OpenAIServer` is a real OpenAI-compatible Chat Completions server on
127.0.0.1 that answers from a script: text, tool calls (`ToolCalls`), structured output (a
mapping, for both `json_schema` response formats and forced function calls), streamed chunks,
usage, and faults (`Fault`: HTTP errors with `Retry-After`, hangs, malformed bodies). Point a
`ChatOpenAI` team at it to test the HTTP path — retries, timeouts, structured-output methods —
with no key and no network. It records every request (`.requests`) and answers HTTP 500 with
the reason when the script runs out or does not fit (`.errors`; `assert_complete()` raises).

```python
from agentorch import Agent, Team
from agentorch.llms import from_env
from agentorch.testing import OpenAIServer

plan = {"subtasks": [{"id": "w", "description": "Greet the reader", "agent": "writer"}]}
with OpenAIServer([plan, "Hello, reader!", "Hello, reader!"]) as server:  # replies in order
    llm = from_env(env={"OPENAI_BASE_URL": server.base_url, "AGENTORCH_MODEL": "agentorch-test"})
    team = Team(agents=[Agent(name="writer", role="Writes")], llm=llm, critic=False)
    result = team.run("Greet the reader")
    server.assert_complete()
print(result.answer, len(server.requests))  # Hello, reader! 3
```

A script can also be a function of the request JSON, or a dict from a substring of the system
prompt to replies (one list per role). The pytest plugin gives the `scripted_model`,
`openai_server` and `run_eval_suite` fixtures.
"""


SITE_MAP = """## Documentation

The manual is a site (`pip install -e ".[docs]" && mkdocs serve`, then http://127.0.0.1:8000),
its pages in `docs/`:

- [Getting started](docs/getting-started.md): your own team from a file to `agentorch run`, an
  approval, a resume and a report.
- [Concepts](docs/concepts.md): agents, tools, plans, typed outputs, how a run flows, events,
  checkpoints, errors, the compiled graph.
- [Approvals and guarantees](docs/approvals.md): people in the loop; what survives what.
- [Memory](docs/memory.md) · [Command line](docs/cli.md) ·
  [Seeing the team work](docs/observability.md) (reports, OpenTelemetry) ·
  [Real models](docs/models.md) · [MCP](docs/mcp.md) ·
  [Cascades and costs](docs/cascades.md) · [Scaling out](docs/scaling.md) ·
  [Evals](docs/evals.md) · [Testing](docs/testing.md) · [Benchmarks](docs/benchmarks.md)
- [API reference](docs/reference.md), generated from the docstrings.

The code examples on the pages run in the tests (`tests/test_docs.py`; the few that are fragments or need a server say so).
"""


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
            anchors[slug(heading.lstrip("# "))] = (
                page if MOVES[heading][1] else f"{page}#{slug(heading.lstrip('# '))}"
            )
            for sub in re.findall(r"(?m)^#{3,5} (.+)$", body):
                anchors.setdefault(slug(sub), f"{page}#{slug(sub)}")

    def relink(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            label, target = m.group(1), m.group(2)
            if target.startswith("#"):
                return f"[{label}]({anchors.get(target[1:], target)})"
            if target.startswith("BENCHMARKS.md"):  # included in the benchmarks page
                return f"[{label}](benchmarks.md{target[len('BENCHMARKS.md') :]})"
            if (
                target.startswith(("http://", "https://", "mailto:"))
                or target.endswith(".md")
                and (DOCS / target).exists()
            ):
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
            if title is not None and page not in pages and level == 2:
                chunk = f"# {title}\n" + promote(body, level - 1)
            elif title is not None and page not in pages:  # a `###` section starts the page
                chunk = f"# {title}\n\n## {heading.lstrip('# ')}\n" + promote(body, level - 2)
            else:  # a later part of a page: its heading one level below the title
                chunk = f"{'#' * 2} {heading.lstrip('# ')}\n" + promote(body, level - 2)
            pages.setdefault(page, []).append(relink(chunk))
            moved.append(f"{heading} -> docs/{page}")
        else:
            kept.append(heading + "\n" + body if heading else body)
    pages["testing.md"].append(TESTING_ADDITION)
    pages["benchmarks.md"].append('--8<-- "BENCHMARKS.md:2:"\n')  # the tables, from the one file
    texts = {page: "\n".join(c.rstrip("\n") + "\n" for c in chunks) for page, chunks in pages.items()}
    for page, old, new in FIXUPS:
        if old in texts[page]:
            texts[page] = texts[page].replace(old, new)
        else:
            print(f"FIXUP MISSED in {page}: {old[:60]!r}")
    for page, first, marker in MARKS:
        fence = "```python\n" + first
        if fence in texts[page]:
            texts[page] = texts[page].replace(fence, f"<!-- example: {marker} -->\n{fence}", 1)
        else:
            print(f"MARK MISSED in {page}: {first[:60]!r}")
    for page, text in texts.items():
        (DOCS / page).write_text(text, encoding="utf-8")
    README.write_text("".join(kept).rstrip("\n") + "\n\n" + SITE_MAP, encoding="utf-8")
    print("\n".join(moved))


if __name__ == "__main__":
    main()
