"""The `nexuskit promote` command: missing terraform, --dry-run, --json."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nexuskit.cli import app
from nexuskit.promote import STEPS
from tests.promote.support import Checkout


@pytest.fixture
def cli(checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(checkout.path)
    return CliRunner()


def test_missing_terraform_is_one_line(cli: CliRunner, checkout: Checkout) -> None:
    """With no terraform on PATH the command says so in one line and exits non-zero."""
    checkout.green_record()
    checkout.fakes.remove("terraform")
    result = cli.invoke(app, ["promote", "--env", "prod"])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "terraform is not installed" in lines[0], result.output
    assert result.stdout == ""


def test_dry_run_executes_nothing(cli: CliRunner, checkout: Checkout) -> None:
    """--dry-run prints every step and its commands, and no tool is executed."""
    (checkout.path / "uncommitted.txt").write_text("a dirty tree would fail a real run\n")
    result = cli.invoke(app, ["promote", "--env", "prod", "--dry-run"])
    assert result.exit_code == 0, result.output
    for _, title in STEPS:
        assert title in result.stdout
    assert "$ terraform -chdir=terraform/stacks/platform apply" in result.stdout
    assert "$ docker push" in result.stdout
    assert not checkout.fakes.tf_log.exists()
    assert not checkout.fakes.docker_log.exists()
    assert not (checkout.path / ".nexus").exists()


def test_dry_run_json_lists_every_step(cli: CliRunner) -> None:
    """--dry-run --json gives every step, in order, with its commands."""
    result = cli.invoke(app, ["promote", "--env", "prod", "--dry-run", "--json"])
    doc = json.loads(result.stdout)
    assert [s["name"] for s in doc["steps"]] == [name for name, _ in STEPS]
    assert {s["status"] for s in doc["steps"]} == {"dry-run"}
    init = next(s for s in doc["steps"] if s["name"] == "init")
    assert init["commands"] == [
        "terraform -chdir=terraform/stacks/platform init -input=false -no-color -reconfigure "
        "-backend-config=../../envs/prod/backend.hcl"
    ]


def test_failed_gate_in_json_and_exit_status(cli: CliRunner, checkout: Checkout) -> None:
    """--json reports the gates that ran, the failing one last, and the exit status is 1."""
    result = cli.invoke(app, ["promote", "--env", "prod", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(s["name"], s["status"]) for s in doc["steps"]] == [("clean-tree", "pass"), ("scenarios", "fail")]
    assert doc["outcome"] == "stopped"


def test_failed_gate_is_printed_with_its_reason(cli: CliRunner, checkout: Checkout) -> None:
    """Each gate prints PASS/FAIL with its reason; the stop is repeated on stderr."""
    result = cli.invoke(app, ["promote", "--env", "prod"])
    assert result.exit_code == 1
    assert "PASS  clean git tree: working tree clean" in result.stdout
    assert "FAIL  scenario suite green for this commit: no scenario record" in result.stdout
    assert "promotion stopped at scenarios" in result.stderr


def test_local_env_is_refused(cli: CliRunner) -> None:
    """Promoting the local parameter set is refused in one line."""
    result = cli.invoke(app, ["promote", "--env", "local", "--dry-run"])
    assert result.exit_code == 2
    assert "env local" in result.stderr


def test_malformed_approve_is_refused(cli: CliRunner) -> None:
    """--approve that is not 12+ hex digits is refused before anything runs."""
    result = cli.invoke(app, ["promote", "--env", "prod", "--approve", "yes"])
    assert result.exit_code == 2
    assert "not a plan hash" in result.stderr
