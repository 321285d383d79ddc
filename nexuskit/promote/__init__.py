"""Promotion to AWS us-west-2: gates, terraform plan/apply, policy checks, approval, smoke test.

:func:`promote` runs the steps listed in :mod:`nexuskit.promote.pipeline`; the scenario
runner records its results with :func:`write_scenario_record` (format in
:mod:`nexuskit.promote.records`).
"""

from __future__ import annotations

from nexuskit.promote.pipeline import (
    STEPS,
    ApprovalRequest,
    PromoteOptions,
    PromotionReport,
    StepResult,
    promote,
)
from nexuskit.promote.policy import PolicyReport, Violation, check_plan
from nexuskit.promote.records import (
    ScenarioOutcome,
    ScenarioRecord,
    read_scenario_record,
    record_path,
    write_scenario_record,
)

__all__ = [
    "STEPS",
    "ApprovalRequest",
    "PolicyReport",
    "PromoteOptions",
    "PromotionReport",
    "ScenarioOutcome",
    "ScenarioRecord",
    "StepResult",
    "Violation",
    "check_plan",
    "promote",
    "read_scenario_record",
    "record_path",
    "write_scenario_record",
]
