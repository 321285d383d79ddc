"""The JSON Schema of scenario files (``scenarios/schema.json``), generated from the model.

Editors use it through the first line of each scenario file
(``# yaml-language-server: $schema=./schema.json``); a test checks the committed file is
what :func:`schema_text` generates now (regenerate with :func:`write_schema`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nexuskit.scenarios.model import SCHEMA_VERSION, Scenario

SCHEMA_ID = "https://nexuskit.local/schemas/scenario-v1.json"
FILE_NAME = "schema.json"


def scenario_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"nexuskit scenario (schema_version {SCHEMA_VERSION})",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(folder: Path) -> Path:
    """Write ``<folder>/schema.json``; return its path."""
    path = folder / FILE_NAME
    path.write_text(schema_text(), encoding="utf-8")
    return path
