"""Eval reports: results.json (machine-readable), report.html (self-contained), comparisons."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentorch import __version__
from agentorch._errors import SuiteError
from agentorch._render.html import html_page
from agentorch.evals._runner import CaseResult, SuiteResult

__all__ = ["RESULTS_FORMAT", "write_results", "load_results", "write_html", "Comparison", "compare_results"]

RESULTS_FORMAT = "agentorch-eval-results/1"


def write_results(suites: Sequence[SuiteResult], path: str | Path, *, duration: float = 0.0) -> Path:
    """Write results.json: every suite and case with scores, tokens and durations."""
    cases = [c for s in suites for c in s.cases]
    data = {
        "format": RESULTS_FORMAT,
        "agentorch": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration": round(duration, 4),
        "summary": {"cases": len(cases), **summary_counts(suites)},
        "suites": [s.model_dump(mode="json") for s in suites],
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return p


def load_results(path: str | Path) -> list[SuiteResult]:
    """Read a results.json written by `write_results`; `SuiteError` if it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_bytes().decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
            raise ValueError(f"`format` is not {RESULTS_FORMAT!r}")
        return [SuiteResult.model_validate(s) for s in data["suites"]]
    except OSError as e:
        raise SuiteError(f"cannot read results ({e.strerror or e})", file=str(p)) from None
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise SuiteError(f"not an agentorch eval results file ({e})", file=str(p)) from None


@dataclass(frozen=True)
class Comparison:
    """How a run differs from an earlier one, case by case ("suite::case" keys)."""

    regressions: list[str] = field(default_factory=list)
    """Passed before, not now."""
    improvements: list[str] = field(default_factory=list)
    """Did not pass before, passes now."""
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    score_changes: dict[str, list[str]] = field(default_factory=dict)
    """Per case, scorers whose pass/fail flipped, e.g. ["answer_contains: passed -> failed"]."""


def compare_results(previous: Sequence[SuiteResult], current: Sequence[SuiteResult]) -> Comparison:
    """Regressions, improvements, new and removed cases of `current` against `previous`."""
    before = {c.key: c for s in previous for c in s.cases}
    after = {c.key: c for s in current for c in s.cases}
    out = Comparison(new=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys()))
    for key in sorted(after.keys() & before.keys()):
        old, now = before[key], after[key]
        if old.passed and not now.passed:
            out.regressions.append(key)
        elif now.passed and not old.passed:
            out.improvements.append(key)
        flips = _score_flips(old, now)
        if flips:
            out.score_changes[key] = flips
    return out


def _score_flips(old: CaseResult, now: CaseResult) -> list[str]:
    was = {s.name: s.passed for s in old.scores}
    word = {True: "passed", False: "failed"}
    return [
        f"{s.name}: {word[was[s.name]]} -> {word[s.passed]}"
        for s in now.scores
        if s.name in was and was[s.name] != s.passed
    ]


def write_html(
    suites: Sequence[SuiteResult], path: str | Path, *, comparison: Comparison | None = None
) -> Path:
    """Write a self-contained report.html (inline CSS, no scripts, no network)."""
    cases = [c for s in suites for c in s.cases]
    passed = sum(c.passed for c in cases)
    parts = [
        "<h1>agentorch eval report</h1>"
        f"<p>{passed} of {len(cases)} cases passed · agentorch {html.escape(__version__)}</p>"
    ]
    if comparison is not None:
        parts.append(_comparison_html(comparison))
    for s in suites:
        counts = s.counts()
        parts.append(
            f"<h2>{html.escape(s.name)} <small>({counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['error']} errors)</small></h2><table class=wide><tr><th>case</th><th>outcome</th>"
            "<th>status</th><th>scores</th><th class=num>tokens</th><th class=num>calls</th>"
            "<th class=num>seconds</th></tr>"
        )
        parts.extend(_case_row(c) for c in s.cases)
        parts.append("</table>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html_page("agentorch eval report", "".join(parts)), encoding="utf-8")
    return p


def _case_row(c: CaseResult) -> str:
    e = html.escape
    chips = "".join(
        f"<span class='chip {'ok' if s.passed else 'bad'}' title='{e(s.detail, quote=True)}'>"
        f"{e(s.name)}</span>"
        for s in c.scores
    )
    details = "".join(
        f"<li>{'✔' if s.passed else '✘'} <b>{e(s.name)}</b>: {e(s.detail)}</li>" for s in c.scores
    )
    body = (
        f"<details><summary>{e(c.case)}</summary><ul>{details}</ul>"
        + (f"<p><b>error</b></p><pre>{e(c.error)}</pre>" if c.error else "")
        + f"<p><b>answer</b></p><pre>{e(c.answer) or '(none)'}</pre></details>"
    )
    return (
        f"<tr><td>{body}</td><td class={c.outcome}>{c.outcome}</td><td>{e(c.status)}</td><td>{chips}</td>"
        f"<td class=num>{c.tokens}</td><td class=num>{c.llm_calls}</td><td class=num>{c.duration:.2f}</td></tr>"
    )


def _comparison_html(cmp: Comparison) -> str:
    def section(title: str, keys: list[str], css: str) -> str:
        if not keys:
            return ""
        items = "".join(f"<li>{html.escape(k)}</li>" for k in keys)
        return f"<h3 class={css}>{title} ({len(keys)})</h3><ul>{items}</ul>"

    return (
        "<h2>Compared with the previous run</h2>"
        + section("Regressions", cmp.regressions, "failed")
        + section("Improvements", cmp.improvements, "passed")
        + section("New cases", cmp.new, "")
        + section("Removed cases", cmp.removed, "")
        + ("" if cmp.regressions or cmp.improvements or cmp.new or cmp.removed else "<p>No changes.</p>")
    )


def summary_counts(suites: Sequence[SuiteResult]) -> dict[str, Any]:
    """Total cases per outcome."""
    out = {"passed": 0, "failed": 0, "error": 0}
    for s in suites:
        for k, v in s.counts().items():
            out[k] += v
    return out
