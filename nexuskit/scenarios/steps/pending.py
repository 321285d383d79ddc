"""How a step fails when the module behind it is not in this checkout.

Every step type is implemented against its module (``nexuskit.producers``,
``nexuskit.workflows``, ``nexuskit.mcpclient``, ``nexuskit.lake``...). When that module is
absent the step fails clearly - ``step type mcp_call needs nexuskit.mcpclient which is not
available`` - and is never faked; a scenario that uses it should say ``requires: [mcp]``
so the runner skips it with the reason instead.
"""

from __future__ import annotations

from nexuskit.scenarios.capabilities import CAPABILITIES, missing_modules
from nexuskit.scenarios.results import StepFailedError


def require(step_type: str, capability: str) -> None:
    """StepFailedError unless every module of ``capability`` is here."""
    missing = missing_modules(capability)
    if missing:
        raise StepFailedError(
            f"step type {step_type} needs {' and '.join(missing)} which is not available",
            hint=f"{CAPABILITIES[capability].what}: mark the scenario "
            f"`requires: [{capability}]` until it lands",
        )
