"""`nexuskit tf` and `nexuskit doctor`: one-line refusals, and what doctor says about Terraform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexuskit.cli import app
from nexuskit.terraform.mirrors import current_platform


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["init", "plan", "apply", "destroy"])
def test_stack_commands_need_local(command: str, tmp_path: Path) -> None:
    """Without --local the command refuses in one line and points at promotion for AWS."""
    result = CliRunner().invoke(app, ["tf", command, "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "pass --local" in result.stderr and "nexuskit promote" in result.stderr


def test_plan_without_a_running_engine_says_so(tmp_path: Path) -> None:
    """No engine for the state dir: one line that says how to start it; terraform never runs."""
    result = CliRunner().invoke(app, ["tf", "plan", "--local", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 1
    assert "no engine is running" in _lines(result.stderr)[0]
    assert not (tmp_path / "state" / "terraform" / "data").exists()


def test_local_runs_refuse_an_aws_parameter_set(tmp_path: Path) -> None:
    """--env prod deploys to AWS: --local refuses it before anything starts."""
    result = CliRunner().invoke(
        app, ["tf", "apply", "--local", "--env", "prod", "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "env prod deploys to AWS" in result.stderr


def test_doctor_reports_terraform_and_every_mirror_with_its_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor --json: terraform's version, each mirror (how it was found, providers and versions),
    and the providers each stack misses."""
    mirror = tmp_path / "mirror"
    build = mirror / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / current_platform()
    build.mkdir(parents=True)
    (build / "terraform-provider-aws_v5.100.0_x5").write_text("binary")
    monkeypatch.setenv("NEXUSKIT_TF_PLUGIN_DIR", str(mirror))
    monkeypatch.setenv("NEXUSKIT_TF_SEARCH_PREFIXES", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "none"))
    result = CliRunner().invoke(app, ["doctor", "--json", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["terraform"]
    assert report["mirrors"] == [
        {
            "path": str(mirror),
            "found_by": "NEXUSKIT_TF_PLUGIN_DIR",
            "providers": {"registry.terraform.io/hashicorp/aws": {"5.100.0": [current_platform()]}},
        }
    ]
    assert report["stacks"]["platform"]["missing"] == []
    assert report["stacks"]["workloads"]["missing"] == ["registry.terraform.io/hashicorp/kubernetes"]
    if report["binary"]:
        assert report["version"] and report["version"][0].isdigit()
