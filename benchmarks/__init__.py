"""agentorch's benchmarks: `python -m benchmarks [workload ...] [--quick]` (see BENCHMARKS.md).

Not part of the installed package: run them from a checkout, with the `bench` extra installed
(`pip install -e ".[bench]"`: langgraph-supervisor and pyinstrument).
"""
