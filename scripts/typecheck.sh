#!/usr/bin/env bash
# Type-check agentorch as it is installed: the top-level folders memory/, evals/, graphs/ and
# prompts/ are the packages agentorch.memory, .evals, .graphs and .prompts (see pyproject.toml's
# package-dir). mypy cannot follow setuptools' editable finder, so this builds the package tree
# from symlinks under build/typecheck and checks it with the config in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/agentorch"
for f in agentorch/*; do ln -s "$PWD/$f" "$tree/agentorch/"; done
for pkg in memory evals graphs prompts; do ln -s "$PWD/$pkg" "$tree/agentorch/$pkg"; done
MYPYPATH="$tree" python -m mypy --config-file pyproject.toml -p agentorch "$@"
