"""A small MCP server for the tests, built with the `mcp` package's FastMCP.

`python _server.py stdio` serves over stdio; `python _server.py http PORT` serves streamable HTTP
on 127.0.0.1:PORT at /mcp. Notes live as files in $NOTES_DIR, so a test sees what a call did.
`crash` ends the server's process in the middle of the call."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

server = FastMCP("facts", log_level="WARNING")

FACTS = {"lithium": "Lithium-metal anodes reach 400-500 Wh/kg.", "sodium": "Sodium cells cost 30% less."}


@server.tool()
def lookup(topic: str) -> str:
    """Look up a fact about a battery topic."""
    return FACTS.get(topic.lower(), f"No fact about {topic}.")


@server.tool()
def delete_note(name: str) -> str:
    """Delete a stored note (destructive)."""
    (Path(os.environ["NOTES_DIR"]) / name).unlink()
    return f"deleted note {name}"


@server.tool()
async def wait(seconds: float) -> str:
    """Wait, then answer."""
    await asyncio.sleep(seconds)
    return "waited"


@server.tool()
def crash(reason: str) -> str:
    """Stop the server in the middle of the call."""
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.settings.port = int(sys.argv[2])
        server.run("streamable-http")
