"""Mutation testing of agentorch's orchestration core and memory: do the tests notice a bug?

    python scripts/mutation.py                 # the fixed sample: 120 mutants, seed 2026
    python scripts/mutation.py --list          # every candidate mutant, without running tests
    python scripts/mutation.py --only _team.py --sample 0   # every mutant of one file

Each mutant is one small change to one line inside a function body (a comparison flipped, `and`
for `or`, a `not` dropped, a constant changed, `+` for `-`, a `raise` or a statement removed, a
returned value replaced by None). First the script runs every test file of the files' test
selection once under coverage, to learn which test files execute which lines. Then, for each
mutant, it writes the mutant into the file, runs the test files that execute the mutated
statement (`-x`, offline, no slow tests), and restores the file — always, even on Ctrl-C. A
mutant is *caught* when a test fails or times out, *survives* when they all pass, and is
*not covered* (a survivor) when no test executes its statement. Logging calls are never mutated
(a changed log line is not a bug a test should catch).

It edits the checkout it runs in: commit or stash first, and do not edit the files while it
runs. The report (`--out`, Markdown) lists the catch rate per file and every survivor.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_TESTS = ["tests/core", "tests/safety", "tests/test_cli.py"]
MEMORY_TESTS = ["tests/memory", "tests/safety/test_memory_isolation.py"]
# the files under test, and the tests that cover each
TARGETS: dict[str, list[str]] = {
    "agentorch/_engine/graph.py": CORE_TESTS,
    "agentorch/_engine/specialist.py": CORE_TESTS,
    "agentorch/_engine/dispatch.py": CORE_TESTS,
    "agentorch/_engine/services.py": CORE_TESTS,
    "agentorch/_engine/context.py": CORE_TESTS,
    "agentorch/_team.py": CORE_TESTS,
    "agentorch/_engine/runs.py": CORE_TESTS,
    "agentorch/_engine/state.py": CORE_TESTS,
    "agentorch/_plan.py": CORE_TESTS,
    "agentorch/_engine/events.py": CORE_TESTS,
    "agentorch/_engine/approvals.py": CORE_TESTS,
    "agentorch/_engine/effects.py": CORE_TESTS,
    "agentorch/_agent.py": CORE_TESTS,
    "memory/_store.py": MEMORY_TESTS,
    "memory/_context.py": MEMORY_TESTS,
    "memory/_lexical.py": MEMORY_TESTS,
    "memory/_embeddings.py": MEMORY_TESTS,
}
SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.And: ast.Or,
    ast.Or: ast.And,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
}
LOG_NAMES = {"log", "logger", "logging", "warnings"}


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int
    kind: str
    index: int  # position of the node among the file's candidates (identifies it)
    stmt_line: int = 0  # the line of the innermost statement holding it (what coverage records)

    def label(self) -> str:
        return f"{self.file}:{self.line} {self.kind}"


def _is_log_call(node: ast.AST) -> bool:
    call = node.value if isinstance(node, ast.Expr) else node
    if not isinstance(call, ast.Call):
        return False
    f = call.func
    while isinstance(f, ast.Attribute):
        f = f.value
    return isinstance(f, ast.Name) and f.id in LOG_NAMES


def _is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def candidates(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """Every (node, kind) that can be mutated, inside function bodies, in a stable order."""
    out: list[tuple[ast.AST, str]] = []
    skip: set[int] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for stmt in fn.body:
            for node in ast.walk(stmt):
                if id(node) in skip:
                    continue
                if _is_log_call(node) or _is_docstring(node):
                    skip.update(id(n) for n in ast.walk(node))
                    continue
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    continue  # nested functions are walked on their own
                if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
                    out.append((node, f"{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}"))
                elif isinstance(node, ast.BoolOp):
                    out.append((node, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}"))
                elif isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
                    out.append((node, f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}"))
                elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                    out.append((node, "drop not"))
                elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
                    out.append((node, f"{node.value} -> {not node.value}"))
                elif isinstance(node, ast.Constant) and type(node.value) is int:
                    out.append((node, f"{node.value} -> {node.value + 1}"))
                elif isinstance(node, ast.Raise):
                    out.append((node, "drop raise"))
                elif (
                    isinstance(node, ast.Return)
                    and node.value is not None
                    and not (isinstance(node.value, ast.Constant) and node.value.value is None)
                ):
                    out.append((node, "return None"))
                elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and not _is_docstring(node):
                    out.append((node, "drop statement"))
    seen: set[int] = set()
    unique = []
    for node, kind in out:  # nested functions are walked twice: keep each node once
        if (id(node), kind) not in seen:
            seen.add((id(node), kind))  # type: ignore[arg-type]
            unique.append((node, kind))
    return unique


class _Apply(ast.NodeTransformer):
    def __init__(self, target: ast.AST, kind: str) -> None:
        self.target, self.kind = target, kind

    def visit(self, node: ast.AST) -> ast.AST | None:
        if node is not self.target:
            return super().visit(node)
        if isinstance(node, ast.Compare):
            node.ops[0] = SWAPS[type(node.ops[0])]()
        elif isinstance(node, ast.BoolOp):
            node.op = SWAPS[type(node.op)]()
        elif isinstance(node, ast.BinOp):
            node.op = SWAPS[type(node.op)]()
        elif isinstance(node, ast.UnaryOp):
            return node.operand
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return ast.copy_location(ast.Constant(not node.value), node)
        elif isinstance(node, ast.Constant):
            return ast.copy_location(ast.Constant(node.value + 1), node)
        elif isinstance(node, ast.Return):
            return ast.copy_location(ast.Return(ast.Constant(None)), node)
        else:  # drop a raise or a statement
            return ast.copy_location(ast.Pass(), node)
        return node


def mutants_of(file: str) -> list[Mutant]:
    tree = ast.parse((ROOT / file).read_text())
    statement: dict[int, int] = {}  # node id -> line of its innermost enclosing statement
    for parent in ast.walk(tree):
        if isinstance(parent, ast.stmt):
            for child in ast.walk(parent):
                statement[id(child)] = parent.lineno  # inner statements come later and win
    return [
        Mutant(file, getattr(n, "lineno", 0), kind, i, statement.get(id(n), 0))
        for i, (n, kind) in enumerate(candidates(tree))
    ]


def mutated_source(m: Mutant) -> str:
    tree = ast.parse((ROOT / m.file).read_text())
    node, kind = candidates(tree)[m.index]
    return ast.unparse(ast.fix_missing_locations(_Apply(node, kind).visit(tree)))


def _pytest(args: list[str], **options: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "AGENTORCH_RANDOM_RUNS": os.environ.get("AGENTORCH_RANDOM_RUNS", "30")}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-m",
        "not slow",
        "-p",
        "no:cacheprovider",
        "--timeout",
        "15",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, **options)  # type: ignore[call-overload]


def test_files(selection: list[str]) -> list[str]:
    """The test files of a selection of files and folders."""
    out: list[str] = []
    for entry in selection:
        path = ROOT / entry
        found = sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
        out.extend(str(f.relative_to(ROOT)) for f in found if str(f.relative_to(ROOT)) not in out)
    return out


def coverage_map(files: list[str]) -> dict[str, dict[str, set[int]]]:
    """For each test file that the targets' selections name: the lines it executes, per target."""
    from coverage import CoverageData

    folder = ROOT / "build" / "mutation-coverage"
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted({str(ROOT / f.split("/")[0]) for f in files})
    out: dict[str, dict[str, set[int]]] = {}
    for n, test in enumerate(sorted({t for f in files for t in test_files(TARGETS[f])})):
        data_file = folder / f"cov-{n}"
        env = {**os.environ, "AGENTORCH_RANDOM_RUNS": "30"}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "coverage",
                "run",
                f"--data-file={data_file}",
                "--source=" + ",".join(sources),
                "-m",
                "pytest",
                "-q",
                "-m",
                "not slow",
                "-p",
                "no:cacheprovider",
                test,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
        data = CoverageData(basename=str(data_file))
        data.read()
        out[test] = {f: set(data.lines(str(ROOT / f)) or ()) for f in files}
        print(f"coverage: {test}", flush=True)
    return out


def run_tests(tests: list[str], timeout: float) -> str:
    if not tests:
        return "not covered"
    try:
        done = _pytest(tests, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "caught (timeout)"
    return "survived" if done.returncode == 0 else "caught"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=120, help="mutants to run (0: all)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--only", help="only files whose path contains this")
    ap.add_argument("--list", action="store_true", help="list the sample without running tests")
    ap.add_argument("--out", type=Path, help="write a Markdown report here")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per mutant's test run")
    ap.add_argument(
        "--again", type=Path, help="run only the survivors listed in this earlier report (after adding tests)"
    )
    args = ap.parse_args()
    files = [f for f in TARGETS if not args.only or args.only in f]
    everything = [m for f in files for m in mutants_of(f)]
    sample = (
        everything
        if not args.sample
        else sorted(
            random.Random(args.seed).sample(everything, min(args.sample, len(everything))),
            key=lambda m: (m.file, m.index),
        )
    )
    if args.again:
        wanted = set(re.findall(r"^- `([^`]+)`", args.again.read_text(), re.M))
        sample = [m for m in sample if m.label() in wanted]
    print(f"{len(everything)} candidate mutants in {len(files)} files; running {len(sample)}")
    if args.list:
        for m in sample:
            print(m.label())
        return 0
    outcomes: list[tuple[Mutant, str]] = []
    started = time.monotonic()
    covered = coverage_map(sorted({m.file for m in sample}))
    for n, m in enumerate(sample, 1):
        path = ROOT / m.file
        original = path.read_text()
        tests = [t for t in test_files(TARGETS[m.file]) if m.stmt_line in covered[t][m.file]]
        try:
            path.write_text(mutated_source(m))
            outcome = run_tests(tests, args.timeout)
        finally:
            path.write_text(original)
        outcomes.append((m, outcome))
        print(f"[{n}/{len(sample)}] {outcome:16} {m.label()}", flush=True)
    caught = sum(o.startswith("caught") for _, o in outcomes)
    rate = caught / len(outcomes) if outcomes else 1.0
    print(f"caught {caught} of {len(outcomes)} ({rate:.1%}) in {time.monotonic() - started:.0f} s")
    if args.out:
        args.out.write_text(report(outcomes, args, len(everything)))
    return 0


def report(outcomes: list[tuple[Mutant, str]], args: argparse.Namespace, total: int) -> str:
    caught = sum(o.startswith("caught") for _, o in outcomes)
    lines = [
        f"Sample: {len(outcomes)} of {total} candidate mutants, seed {args.seed}. "
        f"**Caught {caught} of {len(outcomes)} ({caught / max(1, len(outcomes)):.1%}).**",
        "",
        "| file | mutants | caught |",
        "| --- | --- | --- |",
    ]
    for f in TARGETS:
        mine = [o for m, o in outcomes if m.file == f]
        if mine:
            lines.append(f"| `{f}` | {len(mine)} | {sum(o.startswith('caught') for o in mine)} |")
    survivors = [m for m, o in outcomes if not o.startswith("caught")]
    lines += ["", "Survivors:" if survivors else "No survivors.", ""]
    src_cache: dict[str, list[str]] = {}
    for m in survivors:
        text = src_cache.setdefault(m.file, (ROOT / m.file).read_text().splitlines())
        outcome = dict((id(k), o) for k, o in outcomes)[id(m)]
        lines.append(
            f"- `{m.label()}`: `{text[m.line - 1].strip()}`"
            + (" (no test executes it)" if outcome == "not covered" else "")
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
