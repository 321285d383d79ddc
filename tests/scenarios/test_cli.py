"""`nexuskit scenario run|list|new` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nexuskit.scenarios.loader import load_scenario
from nexuskit.scenarios.stacks import StackHandle
from tests.e2e.conftest import nexuskit
from tests.scenarios.conftest import SHIPPED, shipped_files

FAILING = """\
schema_version: 1
name: always-fails
steps:
  - id: who
    aws: {service: sts, operation: get_caller_identity}
  - key: true
    assert: {path: $.steps.who.Account, equals: "000000000000"}
"""


@pytest.mark.e2e
def test_run_on_the_current_stack_writes_junit_json_and_exits_non_zero(
    tmp_path: Path, default_stack: StackHandle
) -> None:
    """A passing and a failing scenario: exit 1, JSON on stdout, live steps on stderr, JUnit."""
    shutil.copy(SHIPPED / "bearer-denied-internal.yaml", tmp_path)
    (tmp_path / "snapshots").mkdir()
    shutil.copy(SHIPPED / "snapshots" / "bearer-denied-internal.json", tmp_path / "snapshots")
    (tmp_path / "always-fails.yaml").write_text(FAILING)
    junit = tmp_path / "report" / "junit.xml"
    settings = default_stack.settings
    stack = ["--port", str(settings.port), "--state-dir", str(settings.state_dir)]
    result = nexuskit("scenario", "run", str(tmp_path), *stack, "--junit", str(junit), "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["passed"], doc["failed"], doc["ok"]) == (1, 1, False)
    assert "✓" in result.stderr and "bearer-denied-internal" in result.stderr
    assert "failed at step 2 (assert)" in result.stderr

    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["bearer-denied-internal"].find("failure") is None
    failure = cases["always-fails"].find("failure")
    assert failure is not None
    assert '"000000000000"' in (failure.text or "")


def test_list_shows_every_shipped_scenario_and_what_it_needs() -> None:
    """`scenario list --json` names each shipped scenario with its requirements."""
    result = nexuskit("scenario", "list", "--json")
    assert result.returncode == 0, result.stderr
    items = {item["name"]: item for item in json.loads(result.stdout)}
    assert set(items) == {p.stem for p in shipped_files()}
    assert items["expired-token-refused"]["stack"] == {"iam": "enforce", "clock_skew_s": 1200.0}
    assert "workflows" in items["orchestration"]["requires"]


def test_new_writes_a_template_that_runs_through_the_loader(tmp_path: Path) -> None:
    """`scenario new NAME --dir D` prints the path of a valid, commented scenario."""
    result = nexuskit("scenario", "new", "night-shift", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == tmp_path / "night-shift.yaml"
    assert load_scenario(path).name == "night-shift"


def test_a_bad_file_is_one_line_per_problem(tmp_path: Path) -> None:
    """Running an invalid file fails before any stack is needed, naming file:line and field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: bad\nsteps:\n  - aws: {service: s3}\n")
    result = nexuskit("scenario", "run", str(bad), "--port", "1")
    assert result.returncode == 1
    assert f"{bad}:4: step 1 (aws), field aws.operation: field required" in result.stderr
