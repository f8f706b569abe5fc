"""`python -m benchmarks [workload ...] [--quick] [--locomo PATH]` — run the benchmarks, print tables, write JSON.

Workloads: dag (parallel DAG vs the critical-path bound and three baselines), uneven (per-agent
latencies: wall against the latency-weighted critical-path bound), overhead
(orchestration time per sub-task), tokens (prompt tokens as prior work grows), scale (RSS and
checkpoint bytes up to 1,000 sub-tasks), cascade (cost and wall time of a cheap-then-strong
model cascade against strong and cheap models everywhere), otel (runs with no tracer provider
against runs traced by the OpenTelemetry SDK), streaming (runs with and without token events),
memory (the memory layer's own
benchmark, benchmarks/memory_bench.py) and evals (benchmarks/evals_bench.py, when present). No workload
named: all of them. `--quick` runs small sizes (about a minute in all); it is what the tests run.
`--locomo PATH` gives the memory benchmark a LoCoMo-format file (not shipped; without it that
part is skipped with a message).

Results go to benchmarks/results/<workload>.json, plus all.json (everything, with the machine,
versions and command) and report.md (every table, ready for BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks._common import RESULTS_DIR, machine_info, write_json

OWN = ("dag", "uneven", "overhead", "tokens", "scale", "cascade", "otel", "streaming")
EXTERNAL = {"memory": "benchmarks.memory_bench", "evals": "benchmarks.evals_bench"}
USAGE = __doc__


def _external(module_name: str) -> Callable[..., dict[str, Any]] | None:
    """`run(quick)` of a benchmark module another layer owns, or None if it is not there yet."""
    if importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    return getattr(module, "run", None)


def _run_external(name: str, module_name: str, quick: bool, **options: Any) -> dict[str, Any] | None:
    run = _external(module_name)
    if run is None:
        print(f"[{name}] {module_name} not found: skipped", flush=True)
        return None
    data = run(quick, **options)
    module = sys.modules[module_name]
    formatter = getattr(module, "format_table", None)
    printer = getattr(module, "_print", None)
    if callable(formatter):  # the module's own table
        printed = str(formatter(data)).rstrip("\n") + "\n"
    elif callable(printer):  # the module's own table, captured for the report
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            printer(data)
        printed = buffer.getvalue()
    else:
        printed = json.dumps(data, indent=2, default=str)
    print(printed, flush=True)
    return {"result": data, "tables": [f"### {name} (from {module_name})\n\n```\n{printed}```\n"]}


def main(argv: list[str]) -> int:
    locomo = None
    if "--locomo" in argv:  # the memory benchmark's LoCoMo file (not shipped: CC BY-NC)
        at = argv.index("--locomo")
        if at + 1 >= len(argv):
            print("`--locomo` needs a path to a LoCoMo-format file", file=sys.stderr)
            return 2
        locomo, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    if "-h" in argv or "--help" in argv:
        print(USAGE)
        return 0
    unknown = [n for n in names if n not in OWN and n not in EXTERNAL]
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from {', '.join((*OWN, *EXTERNAL))}", file=sys.stderr)
        return 2
    selected = names or [*OWN, *EXTERNAL]
    machine = machine_info()
    command = "python -m benchmarks " + " ".join(argv)
    print(
        f"# agentorch benchmarks{' (quick)' if quick else ''}\n"
        f"{machine['nproc']} cores, {machine['cpu']}, {machine['ram_gb']} GB RAM, Python "
        f"{machine['python']}, langgraph {machine['versions']['langgraph']}\n",
        flush=True,
    )
    everything: dict[str, Any] = {
        "command": command.strip(),
        "quick": quick,
        "machine": machine,
        "workloads": {},
    }
    started = time.perf_counter()
    failed: list[str] = []
    for name in selected:
        print(f"## {name}", flush=True)
        t0 = time.perf_counter()
        try:
            if name in OWN:
                data: dict[str, Any] | None = importlib.import_module(f"benchmarks.{name}").run(quick)
            else:
                options = {"locomo": locomo} if name == "memory" else {}
                data = _run_external(name, EXTERNAL[name], quick, **options)
        except Exception as e:  # one broken workload must not lose the others' results
            traceback.print_exc()
            failed.append(name)
            data = {
                "error": f"{type(e).__name__}: {e}",
                "tables": [f"### {name}: FAILED\n\n`{type(e).__name__}: {e}`\n"],
            }
        if data is None:
            continue
        data["seconds"] = round(time.perf_counter() - t0, 1)
        data["machine"] = machine
        write_json(name, data)
        everything["workloads"][name] = data
        print(f"[{name}: {data['seconds']} s]\n", flush=True)
    everything["seconds"] = round(time.perf_counter() - started, 1)
    write_json("all", everything)
    report = [f"Command: `{everything['command']}` — {everything['seconds']} s in all\n"]
    for name, data in everything["workloads"].items():
        report.append(f"## {name} ({data['seconds']} s)\n")
        report += data.get("tables", [])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "report.md").write_text("\n".join(report))
    print(
        f"results: {RESULTS_DIR}/ (all.json, report.md, one JSON per workload); "
        f"{everything['seconds']} s in all",
        flush=True,
    )
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
