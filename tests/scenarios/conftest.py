"""Fresh embedded stacks for the scenario tests, started once per session.

``scenario_stacks`` is the runner's own :class:`~nexuskit.scenarios.stacks.FreshStacks`:
one stack per distinct stack profile of the shipped scenarios (and one of its own for
each ``exclusive`` scenario), each started with ``nexuskit up --local`` as a user starts
it, all in parallel at the start of the session, stopped and wiped at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nexuskit.scenarios.capabilities import skip_reason
from nexuskit.scenarios.loader import LoadedScenario, load_all, load_scenario
from nexuskit.scenarios.runner import shipped_folder
from nexuskit.scenarios.stacks import FreshStacks, StackHandle

SHIPPED = shipped_folder()


def shipped_files() -> list[Path]:
    return sorted(SHIPPED.glob("*.yaml"))


def shipped(name: str) -> LoadedScenario:
    return load_scenario(SHIPPED / f"{name}.yaml")


@pytest.fixture(scope="session")
def scenario_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshStacks]:
    """The fresh stacks every scenario test runs on (started in parallel up front)."""
    stacks = FreshStacks(base_dir=tmp_path_factory.mktemp("scenario-stacks"))
    runnable = [s.scenario for s in load_all([SHIPPED]) if not skip_reason(list(s.scenario.requires))]
    try:
        stacks.prepare(runnable)
        yield stacks
    finally:
        stacks.close()


@pytest.fixture(scope="session")
def default_stack(scenario_stacks: FreshStacks) -> StackHandle:
    """The stack of the default profile (IAM enforced, no skew), shared by most scenarios."""
    handle = scenario_stacks.stack_for(shipped("bearer-denied-internal").scenario)
    assert isinstance(handle, StackHandle), handle
    return handle
