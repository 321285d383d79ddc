"""The layer table, enforced on every import anywhere in a module (not only at import time).

=============  ==========================================================================
layer          may not import
=============  ==========================================================================
``emulation``  ``nexuskit``, ``services``, ``tui`` (the engine and the runtime stand alone)
``services``   ``emulation``, ``nexuskit``, ``tui`` (they run as pods, in AWS too)
``nexuskit``   ``tui`` (except the CLI's ``nexuskit tui`` entry); ``emulation`` only
               through the public interfaces below
``tui``        ``emulation``, ``services`` (the dashboard goes through the core)
=============  ==========================================================================

The core starts the engine and the runtime as processes (``python -m emulation``,
``python -m emulation.runtime``); in-process it may only use the packages' public
interfaces, ``emulation.runtime`` and ``emulation.kind`` (what their ``__init__`` exports)
and ``emulation.modelcache`` (botocore's models parsed once per machine, for both), never
their modules.

The scan reads each module's syntax tree: ``import x``/``from x import y`` at any depth
(inside functions too, where lazy imports hide) and ``importlib.import_module("x")`` with a
literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("emulation", "services", "nexuskit", "tui")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "emulation": ("nexuskit", "services", "tui"),
    "services": ("emulation", "nexuskit", "tui"),
    "nexuskit": ("tui",),
    "tui": ("emulation", "services"),
}
#: the only modules of a forbidden layer a module may import, and why
EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "nexuskit/cli/tui.py": ("tui",),  # `nexuskit tui` starts the dashboard
}
#: what the core may import of the engine and the runtime
EMULATION_PUBLIC = ("emulation.runtime", "emulation.kind", "emulation.modelcache")


def imports(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Every module name ``path`` imports, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            # `from emulation import runtime` names a module too
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def violations(layer: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        allowed = EXCEPTIONS.get(rel, ())
        flagged: set[int] = set()  # one finding per import statement
        for line, module in sorted(set(imports(path, root))):
            if line in flagged:
                continue
            top = module.split(".")[0]
            if top in FORBIDDEN[layer] and top not in allowed:
                found.append(f"{rel}:{line} imports {module} ({layer} may not import {top})")
                flagged.add(line)
            elif layer == "nexuskit" and top == "emulation" and not _public(module):
                found.append(
                    f"{rel}:{line} imports {module} (the core may use only {', '.join(EMULATION_PUBLIC)} "
                    "of the engine and the runtime)"
                )
                flagged.add(line)
    return found


def _public(module: str) -> bool:
    """``emulation.runtime`` or ``emulation.runtime.<name it exports>`` (not a submodule)."""
    for package in EMULATION_PUBLIC:
        if module == package:
            return True
        if module.startswith(package + "."):
            name = module[len(package) + 1 :]
            return (
                "." not in name
                and not (ROOT / package.replace(".", "/") / name).exists()
                and not (ROOT / package.replace(".", "/") / f"{name}.py").exists()
            )
    return False


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_the_table_allows(layer: str) -> None:
    assert violations(layer) == []


def test_the_scan_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function, a relative one and an
    ``import_module`` literal are all seen (a scan that misses them would pass anything)."""
    (tmp_path / "nexuskit").mkdir()
    (tmp_path / "nexuskit" / "_layer_probe.py").write_text(
        "import importlib\n"
        "def f():\n"
        "    from tui import app\n"
        "    from emulation.runtime import identity\n"
        "    importlib.import_module('emulation.core.app')\n"
        "from .cli import tui\n"
        "from emulation.runtime import TokenIssuer\n",
        encoding="utf-8",
    )
    assert violations("nexuskit", tmp_path) == [
        "nexuskit/_layer_probe.py:3 imports tui (nexuskit may not import tui)",
        "nexuskit/_layer_probe.py:4 imports emulation.runtime.identity (the core may use only "
        "emulation.runtime, emulation.kind, emulation.modelcache of the engine and the runtime)",
        "nexuskit/_layer_probe.py:5 imports emulation.core.app (the core may use only "
        "emulation.runtime, emulation.kind, emulation.modelcache of the engine and the runtime)",
    ]
