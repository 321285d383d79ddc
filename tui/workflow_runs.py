"""What the Workflows screen needs from ``nexuskit.workflows`` (imported lazily).

The catalogue, launching a run asynchronously, polling a run's steps, and past runs —
the functions behind ``nexuskit workflow list`` and ``nexuskit workflow run``. Until that
module exists (or lacks a function), every call raises
:class:`~tui.core_gaps.CoreNotAvailableError` with the precise reason.
"""

from __future__ import annotations

from typing import Any

from nexuskit.config import KitSettings
from tui.core_gaps import CoreNotAvailableError, core_function, core_module

MODULE = "nexuskit.workflows"

__all__ = ["CoreNotAvailableError", "WorkflowRuns"]

FINISHED = {"succeeded", "failed"}


def _plain(value: Any) -> Any:
    return value.as_dict() if hasattr(value, "as_dict") else value


class WorkflowRuns:
    """Catalogue, launch and runs of agent-core's workflows for one stack."""

    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings

    def _module(self) -> Any:
        return core_module(MODULE)

    def check(self) -> None:
        module = self._module()
        for name in ("list_workflows", "run_workflow", "get_run"):
            core_function(module, name)

    def catalogue(self) -> list[dict[str, Any]]:
        found = core_function(self._module(), "list_workflows")(self.settings)
        return [dict(_plain(item)) for item in found]

    def launch(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Start a run without waiting (``--async``): at least ``run_id`` and ``status``."""
        run = core_function(self._module(), "run_workflow")
        return dict(_plain(run(self.settings, name, payload, wait=False)))

    def run(self, run_id: str) -> dict[str, Any]:
        """``run_id``, ``status``, ``steps`` (id, kind, call, status, duration, result, error), ``result``."""
        return dict(_plain(core_function(self._module(), "get_run")(self.settings, run_id)))

    def past_runs(self) -> list[dict[str, Any]] | None:
        """Runs agent-core remembers, or None while the core has no ``list_runs()``."""
        module = self._module()
        try:
            runs = core_function(module, "list_runs")
        except CoreNotAvailableError:
            return None
        return [dict(_plain(item)) for item in runs(self.settings)]
