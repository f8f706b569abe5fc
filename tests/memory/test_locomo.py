"""The LoCoMo retrieval benchmark: reading the dataset's format, and skipping without it.

The data itself is not shipped (CC BY-NC 4.0); these tests write a two-session file of their own
in LoCoMo's format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentorch import ConfigError
from benchmarks import memory_bench
from benchmarks._locomo import load_locomo


def _sample() -> dict[str, Any]:
    return {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Kofi",
            "session_2_date_time": "9:00 am on 9 May, 2023",
            "session_2": [
                {"speaker": "Ana", "dia_id": "D2:1", "text": "Did you go to the pottery class?"},
                {"speaker": "Kofi", "dia_id": "D2:2", "text": "Yes, last Saturday!"},
            ],
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "My sister moved to Lisbon."},
                {
                    "speaker": "Kofi",
                    "dia_id": "D1:2",
                    "text": "Lisbon is lovely in spring.",
                    "blip_caption": "x",
                },
            ],
        },
        "qa": [
            {
                "question": "Where did Ana's sister move?",
                "answer": "Lisbon",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {"question": "When was the class?", "answer": "6 May", "evidence": ["D2:1; D2:2"], "category": 2},
            {"question": "What is unknown?", "adversarial_answer": "x", "evidence": ["D9:9"], "category": 5},
            {"question": "No evidence", "answer": "y", "evidence": [], "category": 1},
        ],
    }


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(data))
    return path


def test_turns_are_dated_records_in_session_order_and_questions_keep_their_evidence(tmp_path: Path) -> None:
    (name, workload), *_ = load_locomo(_write(tmp_path, [_sample()])).items()
    assert name == "conv-x"
    assert [t.text for t in workload.turns] == [
        "8 May, 2023: Ana: My sister moved to Lisbon.",
        "8 May, 2023: Kofi: Lisbon is lovely in spring.",
        "9 May, 2023: Ana: Did you go to the pottery class?",
        "9 May, 2023: Kofi: Yes, last Saturday!",
    ]
    times = [t.created_at for t in workload.turns]
    assert times == sorted(times) and len(set(times)) == 4
    assert times[2] - times[0] == 19 * 3600 + 4 * 60  # 1:56 pm on 8 May to 9:00 am on 9 May
    # questions whose evidence is not a turn of the conversation are left out
    assert [(q.kind, q.needed) for q in workload.questions] == [
        ("single-hop", ("conv-x:D1:1",)),
        ("temporal", ("conv-x:D2:1", "conv-x:D2:2")),
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "cannot read"),
        ('{"conversation": {}}', "not in LoCoMo's format"),
        ('[{"conversation": {"session_1": []}, "qa": []}]', "lacks a LoCoMo field"),
        (
            '[{"conversation": {"session_1_date_time": "yesterday", "session_1": []}, "qa": []}]',
            "is not like",
        ),
    ],
)
def test_a_file_not_in_locomo_format_is_a_config_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem):
        load_locomo(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_locomo(tmp_path / "missing.json")


def test_the_benchmark_skips_locomo_with_a_message_without_a_file(tmp_path: Path) -> None:
    assert memory_bench.run(True, parts=("locomo",)) == {"locomo": {"skipped": memory_bench.LOCOMO_SKIPPED}}
    missing = memory_bench.run(True, parts=("locomo",), locomo=str(tmp_path / "none.json"))
    assert "no file at" in missing["locomo"]["skipped"]


def test_the_benchmark_reports_each_category_with_hybrid_against_each_side(tmp_path: Path) -> None:
    rows = memory_bench.run(True, parts=("locomo",), locomo=str(_write(tmp_path, [_sample()])))["locomo"]
    default = [r for r in rows if r["embedding"].startswith("HashEmbeddings v2")]
    assert [r["set"] for r in default] == ["LoCoMo all", "LoCoMo temporal", "LoCoMo single-hop"]
    assert [r["questions"] for r in default] == [2, 1, 1]
    # four turns: hybrid and vector (top 10 of four) find every evidence turn; bm25 finds
    # only turns sharing a word with the question, so not "Yes, last Saturday!"
    assert [
        (r["hybrid"]["recall@10"], r["vector"]["recall@10"], r["lexical"]["recall@10"]) for r in default
    ] == [
        (1.0, 1.0, 0.75),
        (1.0, 1.0, 0.5),
        (1.0, 1.0, 1.0),
    ]
    assert default[0]["hybrid_vs@10"]["lexical"]["margin"] == 0.25
    assert default[0]["hybrid_vs@10"]["vector"] == {"margin": 0.0, "interval": (0.0, 0.0)}
