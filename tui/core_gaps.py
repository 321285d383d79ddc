"""Reaching core modules that may not be there yet, and saying so precisely.

The Producers and Workflows screens talk to ``nexuskit.producers`` and
``nexuskit.workflows`` through the small interfaces in :mod:`tui.producer_runs` and
:mod:`tui.workflow_runs`. Those import the core lazily; when a module or a function is
missing they raise :class:`CoreNotAvailableError`, whose reason the screen shows as
``not available: <reason>`` (and the tests skip with) — never made-up data.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


class CoreNotAvailableError(Exception):
    """A core module or function the dashboard needs is missing; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def core_module(name: str) -> ModuleType:
    """Import ``name`` or raise CoreNotAvailableError("<name> not available: <why>")."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise CoreNotAvailableError(f"{name} not available: {exc}") from None


def core_function(module: ModuleType, *names: str) -> Callable[..., Any]:
    """The first of ``names`` that ``module`` defines, or CoreNotAvailableError naming them all."""
    for name in names:
        found = getattr(module, name, None)
        if callable(found):
            return found  # type: ignore[no-any-return]
    wanted = " or ".join(f"{name}()" for name in names)
    raise CoreNotAvailableError(f"{module.__name__} not available: it has no {wanted} yet")
