"""The runner's behaviour around the steps: skips, profiles, pending steps, events, records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nexuskit.config import KitSettings
from nexuskit.errors import ScenarioError
from nexuskit.scenarios import capabilities
from nexuskit.scenarios.loader import parse_scenario
from nexuskit.scenarios.model import Scenario
from nexuskit.scenarios.results import RunEvent, render_failure
from nexuskit.scenarios.runner import run_scenario, run_suite
from nexuskit.scenarios.stacks import CurrentStack, FreshStacks, StackHandle, StackProvider
from tests.helpers import free_port


class NoStack(StackProvider):
    """A provider that must not be asked (the scenario is skipped before)."""

    def stack_for(self, scenario: Scenario) -> StackHandle | str:
        raise AssertionError("no stack should be needed")


def scenario(text: str, tmp_path: Path, name: str = "t") -> Any:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"schema_version: 1\nname: {name}\n{text}")
    return parse_scenario(path.read_text(), path)


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make this checkout look as if ``module`` had not landed yet."""
    real = capabilities.module_available
    monkeypatch.setattr(capabilities, "module_available", lambda name: name != module and real(name))


def test_missing_capability_skips_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`requires: [workflows]` without nexuskit.workflows: skipped, saying so, no stack asked."""
    _without(monkeypatch, "nexuskit.workflows")
    loaded = scenario("requires: [workflows]\nsteps:\n  - assert: {value: 1, equals: 1}\n", tmp_path)
    result = run_scenario(loaded, NoStack())
    assert result.status == "skipped"
    assert result.message == "requires workflows (not available: nexuskit.workflows is not in this checkout)"


@pytest.mark.e2e
def test_current_stack_without_the_profile_skips_saying_what_it_needs(
    tmp_path: Path, default_stack: StackHandle
) -> None:
    """On the current stack, a scenario needing a clock skew is skipped with how to get one."""
    loaded = scenario("stack: {clock_skew_s: 1200}\nsteps:\n  - assert: {value: 1, equals: 1}\n", tmp_path)
    result = run_scenario(loaded, CurrentStack(default_stack.settings))
    assert result.status == "skipped"
    assert result.message.startswith("needs a stack with clock_skew_s=1200 (this stack has 0)")
    assert "--fresh" in result.message


def test_no_current_stack_is_one_clear_error(tmp_path: Path) -> None:
    """Nothing answers on the port: one error naming it, and what to do."""
    settings = KitSettings(port=free_port(), state_dir=tmp_path / "none")
    with pytest.raises(ScenarioError) as caught:
        CurrentStack(settings).handle()
    assert caught.value.message.startswith(f"no stack answers on http://127.0.0.1:{settings.port}")
    assert "--fresh" in (caught.value.hint or "")


@pytest.mark.e2e
def test_a_step_whose_module_has_not_landed_fails_clearly(
    tmp_path: Path, scenario_stacks: FreshStacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mcp_call without nexuskit.mcpclient is a clear failure, never a fake success."""
    _without(monkeypatch, "nexuskit.mcpclient")
    loaded = scenario("steps:\n  - mcp_call: {service: database, tool: list_tables}\n", tmp_path)
    result = run_scenario(loaded, scenario_stacks)
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure.message == "step type mcp_call needs nexuskit.mcpclient which is not available"
    assert "requires: [mcp]" in (result.failure.hint or "")


@pytest.mark.e2e
def test_events_arrive_live_in_order_and_results_chain(tmp_path: Path, scenario_stacks: FreshStacks) -> None:
    """The callback sees each step start and end; a result feeds the next step's template."""
    loaded = scenario(
        "steps:\n"
        "  - id: who\n    aws: {service: sts, operation: GetCallerIdentity}\n"
        "  - assert: {value: '{{ steps.who.Account }}', equals: '{{ stack.account_id }}'}\n",
        tmp_path,
    )
    events: list[RunEvent] = []
    result = run_scenario(loaded, scenario_stacks, on_event=events.append)
    assert result.status == "passed", render_failure(result)
    kinds = [(e.kind, e.step.index if e.step else None) for e in events]
    assert kinds == [
        ("scenario_start", None),
        ("step_start", 1),
        ("step_end", 1),
        ("step_start", 2),
        ("step_end", 2),
        ("scenario_end", None),
    ]


@pytest.mark.e2e
def test_a_failed_step_shows_expected_actual_and_the_new_log_lines(
    tmp_path: Path, scenario_stacks: FreshStacks
) -> None:
    """A refused call that was expected to succeed fails with its code and the IAM denial log."""
    loaded = scenario(
        "steps:\n"
        "  - id: tok\n    token: {user: t}\n"
        "  - aws:\n      service: kinesis\n      operation: put_record\n      as: tok\n"
        "      params: {StreamName: '{{ stack.streams.primary }}', Data: x, PartitionKey: p}\n",
        tmp_path,
    )
    result = run_scenario(loaded, scenario_stacks)
    assert result.status == "failed"
    text = render_failure(result)
    assert "failed at step 2 (aws)" in text
    assert "kinesis.put_record failed: AccessDeniedException" in text
    assert "iam-denials.jsonl" in text and "kinesis:PutRecord" in text


@pytest.mark.e2e
def test_suite_writes_junit_and_the_promotion_record(tmp_path: Path, scenario_stacks: FreshStacks) -> None:
    """run_suite writes a JUnit report and .nexus/scenario-results/<commit>.json for the gate."""
    good = scenario("steps:\n  - aws: {service: sts, operation: get_caller_identity}\n", tmp_path, "good")
    bad = scenario("steps:\n  - assert: {value: 2, equals: 3}\n", tmp_path, "bad")
    commit = "a" * 40
    suite = run_suite(
        [good, bad], scenario_stacks, junit=tmp_path / "junit.xml", record_root=tmp_path, commit=commit
    )
    assert not suite.ok
    assert suite.junit_path == tmp_path / "junit.xml"
    record = json.loads((tmp_path / ".nexus" / "scenario-results" / f"{commit}.json").read_text())
    assert (record["passed"], record["failed"], record["skipped"]) == (1, 1, 0)
    assert [s["name"] for s in record["scenarios"]] == ["good", "bad"]
