"""The core library never imports the edge frameworks (typer, textual, fastapi, mcp)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from typing import Any

import pytest

import nexuskit

EDGE = ("typer", "textual", "fastapi", "mcp")
CORE_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(nexuskit.__path__, "nexuskit.")
    if m.name != "nexuskit.cli" and not m.name.startswith("nexuskit.cli.")
)
# Third-party libraries the core modules share, imported once before the forks. None of them
# pulls in an edge framework (the checker refuses to run if one does), so what each module
# adds to ``sys.modules`` on top of them decides the answer exactly as in a bare interpreter.
SHARED = ("boto3", "botocore.session", "pydantic", "pydantic_settings", "yaml", "pyarrow", "psutil", "rich")

# One fresh interpreter: it imports the shared libraries, then forks a child per core module;
# each child imports its module and reports the edge frameworks in ``sys.modules`` (or the
# import's error) as one JSON line.
CHECKER = """
import importlib, json, os, sys, traceback
edge, shared, modules = json.loads(sys.argv[1])
for name in shared:
    importlib.import_module(name)
loaded = [m for m in edge if m in sys.modules]
if loaded:
    sys.exit(f"the shared libraries import {loaded}")
for module in modules:
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(module)
            answer = {"module": module, "edge": [m for m in edge if m in sys.modules]}
        except BaseException:
            answer = {"module": module, "error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\\n")
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, dict[str, Any]]:
    """What importing each core module in a fresh interpreter pulls in, by module name."""
    argument = json.dumps([EDGE, SHARED, CORE_MODULES])
    out = subprocess.run(
        [sys.executable, "-c", CHECKER, argument], capture_output=True, text=True, check=True
    )
    answers = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {answer["module"]: answer for answer in answers}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_edge_framework(module: str, imported: dict[str, dict[str, Any]]) -> None:
    """Importing a core module in a fresh interpreter pulls in no CLI/TUI/web framework."""
    answer = imported.get(module)
    assert answer is not None, f"the checker gave no answer for {module} (did its child crash?)"
    assert "error" not in answer, f"{module} does not import: {answer['error']}"
    assert answer["edge"] == [], f"{module} imports {','.join(answer['edge'])}"
