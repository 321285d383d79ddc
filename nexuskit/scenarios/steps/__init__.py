"""The step implementations, one function per step type (see :data:`EXECUTORS`).

=================  ==============================================  =====================
step type          implementation                                  status
=================  ==============================================  =====================
token              :mod:`.token` (HTTP API ``POST /auth``, JWKS)   implemented
aws                :mod:`.aws`                                     implemented
expect_denied      :mod:`.aws`                                     implemented
wait_for           :mod:`.wait` (objects, records, lake rows,      implemented
                   producer delivery proof, workflow run)
assert             :mod:`.checks` (JSONPath, value, lake SQL)      implemented
snapshot           :mod:`.checks`                                  implemented
lake_promote       :mod:`.lake` (``nexuskit.lake.tiers``)        implemented
restart_engine     :mod:`.engine`                                  implemented
produce            :mod:`.produce` (``nexuskit.producers``)        implemented
put_video          :mod:`.produce` (producers + Kinesis Video)     implemented
workflow           :mod:`.agent` (``nexuskit.workflows``)          implemented
mcp_call           :mod:`.agent` (``nexuskit.mcpclient``)          implemented
=================  ==============================================  =====================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexuskit.scenarios.steps.agent import run_mcp_call, run_workflow_step
from nexuskit.scenarios.steps.aws import run_aws, run_expect_denied
from nexuskit.scenarios.steps.base import StepContext, StepReturn
from nexuskit.scenarios.steps.checks import run_assert, run_snapshot
from nexuskit.scenarios.steps.engine import run_restart_engine
from nexuskit.scenarios.steps.lake import run_lake_promote
from nexuskit.scenarios.steps.produce import run_produce, run_put_video
from nexuskit.scenarios.steps.token import run_token
from nexuskit.scenarios.steps.wait import run_wait_for

Executor = Callable[[StepContext, Any], StepReturn]

EXECUTORS: dict[str, Executor] = {
    "token": run_token,
    "produce": run_produce,
    "put_video": run_put_video,
    "wait_for": run_wait_for,
    "workflow": run_workflow_step,
    "lake_promote": run_lake_promote,
    "mcp_call": run_mcp_call,
    "aws": run_aws,
    "expect_denied": run_expect_denied,
    "assert": run_assert,
    "snapshot": run_snapshot,
    "restart_engine": run_restart_engine,
}
PENDING: tuple[str, ...] = ()  # every step type is implemented (see .pending for absent modules)

__all__ = ["EXECUTORS", "PENDING", "StepContext", "StepReturn"]
