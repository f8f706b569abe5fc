"""Token counting and chunking of long texts with overlap."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

__all__ = ["TokenCounter", "approximate_tokens", "Chunk", "split_text", "join_chunks"]

TokenCounter = Callable[[str], int]
"""Counts the tokens of a text."""

_PIECE = re.compile(r"\S+\s*")
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*\s+$|\n\s*$")


def approximate_tokens(text: str) -> int:
    """langchain-core's offline approximate count (about 4 characters per token)."""
    return count_tokens_approximately([HumanMessage(content=text)], extra_tokens_per_message=0)


@dataclass(frozen=True)
class Chunk:
    """A slice `text[start:end]` of a longer text."""

    start: int
    end: int
    text: str


def _sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentence-like pieces; a piece ends after sentence punctuation or a newline."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _PIECE.finditer(text):
        if _SENTENCE_END.search(match.group()):
            spans.append((start, match.end()))
            start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in _PIECE.finditer(text[start:end])]


def split_text(text: str, *, chunk_tokens: int, overlap: int, count: TokenCounter) -> list[Chunk]:
    """Split `text` into chunks of at most about `chunk_tokens`, cut between sentences when
    possible (between words otherwise), consecutive chunks sharing about `overlap` tokens.

    A text that fits is one chunk. `join_chunks` rebuilds the original exactly.
    """
    if count(text) <= chunk_tokens:
        return [Chunk(0, len(text), text)]
    pieces: list[tuple[int, int, int]] = []
    for start, end in _sentences(text):
        tokens = count(text[start:end])
        if tokens <= chunk_tokens:
            pieces.append((start, end, tokens))
        else:  # an over-long sentence is cut between words
            pieces.extend((s, e, count(text[s:e])) for s, e in _words(text, start, end))
    chunks: list[Chunk] = []
    first = 0
    while first < len(pieces):
        last, total = first, 0
        while last < len(pieces) and (last == first or total + pieces[last][2] <= chunk_tokens):
            total += pieces[last][2]
            last += 1
        start, end = pieces[first][0], pieces[last - 1][1]
        chunks.append(Chunk(start, end, text[start:end]))
        if last >= len(pieces):
            break
        back, shared = last, 0
        while back - 1 > first and shared < overlap:
            back -= 1
            shared += pieces[back][2]
        first = back
    return chunks


def join_chunks(chunks: list[Chunk]) -> str:
    """Rebuild the text from its chunks (in any order), dropping the overlaps."""
    out: list[str] = []
    end = 0
    for chunk in sorted(chunks, key=lambda c: c.start):
        if chunk.end <= end:
            continue
        out.append(chunk.text[max(0, end - chunk.start) :])
        end = chunk.end
    return "".join(out)
