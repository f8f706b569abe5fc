"""--langsmith: uploads through the langsmith SDK when a key is set; nothing without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentorch.cli import main
from tests.fake_langsmith import FakeLangSmith

from .conftest import SUITES


def test_without_a_key_nothing_is_attempted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    import langsmith

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a LangSmith client was built without a key")

    monkeypatch.setattr(langsmith, "Client", no_client)
    code = main(
        ["eval", str(SUITES / "research_planning.yaml"), "-k", "smoke", "--langsmith", "--out", str(tmp_path)]
    )
    assert code == 0
    assert "LangSmith: skipped (LANGSMITH_API_KEY is not set)." in capsys.readouterr().out


def test_with_a_key_cases_become_a_dataset_and_the_run_an_experiment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeLangSmith() as fake:
        monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", fake.url)
        monkeypatch.setenv("LANGSMITH_TRACING", "false")
        code = main(
            [
                "eval",
                str(SUITES / "research_review.yaml"),
                "-k",
                "accepted",
                "-k",
                "max-rounds",
                "--langsmith",
                "--out",
                str(tmp_path),
            ]
        )
        out = capsys.readouterr().out
    assert code == 0, out
    assert "LangSmith: uploaded experiments research-review-" in out, out
    posts = fake.paths("POST")
    assert any(p.endswith("/datasets") for p in posts)
    assert [d["name"] for d in fake.datasets.values()] == ["agentorch-eval-research-review"]
    assert any("examples" in p for p in posts)
    sessions = [b for m, p, b in fake.requests if m == "POST" and p.endswith("/sessions")]
    assert sessions and sessions[0]["reference_dataset_id"] in fake.datasets
    feedback = [b for m, p, b in fake.requests if m == "POST" and p.endswith("/feedback")]
    assert {f["key"] for f in feedback} >= {"status", "rounds_at_most"}
    assert any("runs" in p for p in posts)
