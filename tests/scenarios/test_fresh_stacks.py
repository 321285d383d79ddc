"""Fresh stacks run the control plane only for scenarios that talk to its services."""

from __future__ import annotations

import pytest

from nexuskit.controlplane import lifecycle
from nexuskit.scenarios.stacks import FreshStacks, StackHandle, needs_control_plane
from tests.scenarios.conftest import shipped


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("orchestration", True),  # workflow steps
        ("mcp-read-only-refuses-writes", True),  # mcp_call steps
        ("bearer-denied-internal", False),
        ("medallion-to-vibranium", False),
        ("engine-restart-no-loss", False),
    ],
)
def test_which_shipped_scenarios_need_the_control_plane(name: str, needed: bool) -> None:
    assert needs_control_plane(shipped(name).scenario) is needed


@pytest.mark.e2e
def test_an_aws_only_scenario_gets_a_stack_without_services(scenario_stacks: FreshStacks) -> None:
    """The AWS-only stack runs no Deployment; the one for orchestration runs agent-core."""
    aws_only = scenario_stacks.stack_for(shipped("bearer-denied-internal").scenario)
    with_services = scenario_stacks.stack_for(shipped("orchestration").scenario)
    assert isinstance(aws_only, StackHandle) and isinstance(with_services, StackHandle)
    assert aws_only.settings.port != with_services.settings.port
    assert "AWS only" in aws_only.label
    assert lifecycle.service_endpoints(aws_only.settings)["agent_core"] is None
    assert lifecycle.service_endpoints(with_services.settings)["agent_core"]
