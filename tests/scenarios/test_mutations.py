"""Each shipped scenario FAILS, readably, when its key assertion is broken on purpose.

The step marked ``key: true`` is mutated in memory: the first operator of its first check
is inverted or pushed out of reach (``equals`` -> ``not_equals``, ``at_least`` -> a huge
number...), or an ``expect_denied`` waits for an error code that never comes. The run must
then fail at exactly that step, and the failure must say which step, in which file and
line, and what was expected against what was seen.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from nexuskit.scenarios.loader import LoadedScenario, load_scenario
from nexuskit.scenarios.results import render_failure
from nexuskit.scenarios.runner import run_scenario
from nexuskit.scenarios.stacks import FreshStacks
from tests.scenarios.conftest import shipped_files

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NEVER = "broken-on-purpose"


def _break_check(check: dict[str, Any]) -> dict[str, Any]:
    """The check with its first operator made unsatisfiable by the real value."""
    broken = dict(check)
    for op in ("equals", "not_equals", "at_least", "at_most", "length", "contains", "matches", "exists"):
        if op not in check:
            continue
        value = broken.pop(op)
        if op == "equals":
            broken["not_equals"] = value
        elif op == "not_equals":
            broken["equals"] = value
        elif op in ("at_least", "length"):
            broken[op] = 10**9
        elif op == "at_most":
            broken[op] = -(10**9)
        elif op == "contains":
            broken[op] = {NEVER: True} if isinstance(value, dict) else NEVER
        elif op == "matches":
            broken[op] = f"^{NEVER}$"
        else:
            broken[op] = not value
        return broken
    raise AssertionError(f"check without an operator: {check}")


def break_key_step(loaded: LoadedScenario) -> tuple[LoadedScenario, int]:
    """A copy of the scenario whose key step expects what does not happen; its index."""
    keys = [i for i, step in enumerate(loaded.scenario.steps, start=1) if step.key]
    assert len(keys) == 1, f"{loaded.path} must mark exactly one step `key: true` (has {len(keys)})"
    index = keys[0]
    mutated = copy.deepcopy(loaded)
    raw = mutated.raw_steps[index - 1]
    if "assert" in raw:
        checks = raw["assert"] if isinstance(raw["assert"], list) else [raw["assert"]]
        raw["assert"] = [_break_check(checks[0]), *checks[1:]]
    elif "expect_denied" in raw:
        raw["expect_denied"] = {**raw["expect_denied"], "error": "NoSuchErrorCodeOnPurpose"}
    else:
        raise AssertionError(f"{loaded.path}: the key step must be an assert or an expect_denied")
    return mutated, index


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.stem)
def test_breaking_the_key_assertion_fails_readably(path: Path, scenario_stacks: FreshStacks) -> None:
    """The run fails at the key step, naming step, file:line, expected and actual."""
    mutated, index = break_key_step(load_scenario(path))
    result = run_scenario(mutated, scenario_stacks)
    if result.status == "skipped":
        pytest.skip(result.message)
    assert result.status == "failed", f"{path.name} still passes with its key assertion broken"
    failure = result.failure
    assert failure is not None
    assert failure.step_index == index, render_failure(result)
    text = render_failure(result)
    line = mutated.step_line(index)
    assert f"failed at step {index} (" in text
    assert f"{path}:{line}" in text
    assert "expected" in text and ("actual" in text or "instead of" in text), text
