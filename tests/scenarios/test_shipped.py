"""Every shipped scenario replays green on a fresh embedded stack (one test per file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexuskit.scenarios.loader import load_scenario
from nexuskit.scenarios.results import render_failure
from nexuskit.scenarios.runner import run_scenario
from nexuskit.scenarios.stacks import FreshStacks
from tests.scenarios.conftest import shipped_files

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.stem)
def test_shipped_scenario_replays(path: Path, scenario_stacks: FreshStacks) -> None:
    """The scenario passes against its recorded snapshots (or is skipped, saying why)."""
    result = run_scenario(load_scenario(path), scenario_stacks)
    if result.status == "skipped":
        pytest.skip(result.message)
    assert result.status == "passed", render_failure(result)
