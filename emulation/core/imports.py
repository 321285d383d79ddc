"""Run code when a module is first imported (a post-import hook), not before.

Extensions patch moto's classes (pickling support, for instance). Importing the moto
service at engine start just to patch it costs start-up time for a service the session may
never use; :func:`when_imported` patches the module the moment it has been executed, in the
importing thread, before any other thread can use it (Python's per-module import lock makes
the others wait until the import, hook included, has finished).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_hooks: dict[str, list[Callable[[ModuleType], None]]] = {}
_finder_installed = False


def when_imported(module_name: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported (now, if it already is)."""
    global _finder_installed
    with _lock:
        module = sys.modules.get(module_name)
        if module is None:
            _hooks.setdefault(module_name, []).append(hook)
            if not _finder_installed:
                sys.meta_path.insert(0, _PostImportFinder())
                _finder_installed = True
            return
    hook(module)


class PostImportLoader(importlib.abc.Loader):
    """Runs a module with ``inner``, then ``after(module)`` (its post-import hooks)."""

    def __init__(self, inner: importlib.abc.Loader, after: Callable[[ModuleType], None]) -> None:
        self.inner = inner
        self.after = after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        self.after(module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, get_resource_reader...: the inner loader's
        return getattr(self.inner, name)


def _run_hooks(module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(module.__name__, [])
    for hook in hooks:
        hook(module)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _hooks:
            return None
        # The rest of the meta path (the engine's other finders included) finds the module.
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _PostImportFinder):
                continue
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                find(fullname, path, target) if find is not None else None
            )
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = PostImportLoader(spec.loader, _run_hooks)
                return spec
        return None
