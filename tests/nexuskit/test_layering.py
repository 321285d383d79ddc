"""The core library never imports the edge frameworks (typer, textual, fastapi, mcp)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import nexuskit

EDGE = ("typer", "textual", "fastapi", "mcp")
CORE_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(nexuskit.__path__, "nexuskit.")
    if m.name != "nexuskit.cli" and not m.name.startswith("nexuskit.cli.")
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_edge_framework(module: str) -> None:
    """Importing a core module in a fresh interpreter pulls in no CLI/TUI/web framework."""
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(','.join(m for m in {EDGE!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"
