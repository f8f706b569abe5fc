"""The JSON Schema of suite files, generated from the `Suite` model.

Regenerate the shipped `suite.schema.json` with `python -m agentorch.evals._schema`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentorch.evals._suite import Suite

__all__ = ["suite_schema", "SCHEMA_PATH"]

SCHEMA_PATH = Path(__file__).with_name("suite.schema.json")


def suite_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an agentorch suite file."""
    schema = Suite.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/agentorch/agentorch/evals/suite.schema.json",
        "title": "agentorch eval suite",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _render() -> str:
    return json.dumps(suite_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(_render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
