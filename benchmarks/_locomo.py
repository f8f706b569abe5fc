"""LoCoMo (Maharana et al., ACL 2024) as a retrieval workload: one record per dialogue turn.

The data is CC BY-NC 4.0 and is not shipped: `load_locomo(path)` reads a file in the
dataset's own format (`data/locomo10.json` of snap-research/LoCoMo, or a subset of its
samples). Each turn becomes `"<session date>: <speaker>: <text>"` (the date as "8 May, 2023"), created at the session's
date (turn order kept), and each question with at least one evidence turn is asked with its
evidence turns as the answer to find.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any

from agentorch import ConfigError

try:
    from benchmarks._memory_data import Question, Turn, Workload
except ImportError:  # run as a script from inside benchmarks/
    from _memory_data import Question, Turn, Workload  # type: ignore[no-redef]

__all__ = ["CATEGORIES", "load_locomo"]

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
"""LoCoMo's question categories by number, as its authors' evaluation code names them."""
_SESSION = re.compile(r"session_(\d+)$")
_EVIDENCE = re.compile(r"D\d+:\d+")


def _session_time(text: str) -> float:
    """'1:56 pm on 8 May, 2023' -> seconds since the epoch (UTC)."""
    try:
        when = datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError as e:
        raise ConfigError(f"LoCoMo session date {text!r} is not like '1:56 pm on 8 May, 2023'") from e
    return when.replace(tzinfo=UTC).timestamp()


def _conversation(sample: dict[str, Any]) -> Workload:
    name = str(sample.get("sample_id", "conv"))
    conversation = sample["conversation"]
    workload = Workload()
    known: set[str] = set()
    sessions = sorted(int(m.group(1)) for key in conversation if (m := _SESSION.match(key)))
    for number in sessions:
        date = str(conversation[f"session_{number}_date_time"])
        start = _session_time(date)
        day = date.partition(" on ")[2]  # '8 May, 2023': the time of day is the session's
        for position, turn in enumerate(conversation[f"session_{number}"]):
            turn_id = f"{name}:{turn['dia_id']}"
            known.add(turn_id)
            text = f"{day}: {turn['speaker']}: {turn['text']}"
            workload.turns.append(Turn(turn_id, number, text, created_at=start + position))
    for qa in sample["qa"]:
        # a few evidence fields hold several ids in one string ("D8:6; D9:17")
        evidence = [f"{name}:{e}" for item in qa.get("evidence", []) for e in _EVIDENCE.findall(str(item))]
        evidence = [e for e in dict.fromkeys(evidence) if e in known]
        if not evidence:
            continue
        kind = CATEGORIES.get(int(qa["category"]), str(qa["category"]))
        workload.questions.append(
            Question(
                text=str(qa["question"]),
                evidence=evidence[0],
                kind=kind,
                updated=False,
                evidence_ids=tuple(evidence),
            )
        )
    return workload


def load_locomo(path: str | os.PathLike[str]) -> dict[str, Workload]:
    """The conversations of a LoCoMo-format file, by sample id. Raises `ConfigError` when the
    file is missing or not in LoCoMo's format."""
    try:
        with open(path, encoding="utf-8") as f:
            samples = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read LoCoMo file {os.fspath(path)!r}: {e}") from e
    if not isinstance(samples, list) or not all(
        isinstance(s, dict) and "conversation" in s and "qa" in s for s in samples
    ):
        raise ConfigError(
            f"{os.fspath(path)!r} is not in LoCoMo's format (a list of samples with "
            "`conversation` and `qa`, like data/locomo10.json of snap-research/LoCoMo)"
        )
    try:
        return {str(s.get("sample_id", i)): _conversation(s) for i, s in enumerate(samples)}
    except (KeyError, TypeError) as e:
        raise ConfigError(f"{os.fspath(path)!r}: a sample lacks a LoCoMo field: {e}") from e
