"""The real terraform initialises and validates every stack offline, providers from the mirrors.

`nexuskit tf validate` copies terraform/ into a workspace under the state dir, writes its own
CLI config there and runs ``init -backend=false`` + ``validate``; a stack whose provider is in
no mirror is skipped with one line and the others are still validated.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tfreal import require_aws_provider, require_terraform
from typer.testing import CliRunner

from nexuskit.cli import app
from nexuskit.params import repo_root
from nexuskit.terraform import validate_stacks
from nexuskit.terraform.mirrors import current_platform, discover_mirrors


def _git_status(root: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "terraform"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_platform_initialises_and_validates_offline(tmp_path: Path) -> None:
    """stacks/platform: init (AWS provider from the mirror, no registry) and validate pass."""
    require_aws_provider()
    (result,) = validate_stacks(repo_root(), tmp_path / "ws", ["platform"])
    assert result.status == "valid", result.reason


def test_workloads_validates_or_says_in_one_line_which_provider_is_missing(tmp_path: Path) -> None:
    """stacks/workloads needs hashicorp/kubernetes: valid where a mirror has it, else skipped with
    one line that names the provider (and this test skips with that line)."""
    require_aws_provider()
    (result,) = validate_stacks(repo_root(), tmp_path / "ws", ["workloads"])
    if discover_mirrors().holding("hashicorp/kubernetes", current_platform()):
        assert result.status == "valid", result.reason
        return
    assert result.status == "skipped"
    assert "hashicorp/kubernetes" in result.reason and "\n" not in result.reason
    pytest.skip(result.reason)


def test_a_missing_provider_skips_that_stack_only(tmp_path: Path) -> None:
    """With a mirror holding only the AWS provider, workloads is skipped in one line and the
    platform is still validated (the mirror named by NEXUSKIT_TF_PLUGIN_DIR, nothing else)."""
    require_aws_provider()
    aws_only = discover_mirrors().holding("hashicorp/aws", current_platform())[0].path
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NEXUSKIT_TF_PLUGIN_DIR": str(aws_only),
        "NEXUSKIT_TF_SEARCH_PREFIXES": "",
        "XDG_DATA_DIRS": str(tmp_path / "none"),
    }
    if discover_mirrors(env).holding("hashicorp/kubernetes", current_platform()):
        pytest.skip(f"{aws_only} also holds hashicorp/kubernetes")
    platform, workloads = validate_stacks(repo_root(), tmp_path / "ws", env=env)
    assert (platform.status, workloads.status) == ("valid", "skipped")
    assert workloads.reason.startswith("workloads: provider hashicorp/kubernetes is in no mirror")


def test_validation_leaves_the_checkout_untouched(tmp_path: Path) -> None:
    """No .terraform/, lock file or override appears under terraform/ of the checkout."""
    require_aws_provider()
    before = _git_status(repo_root())
    validate_stacks(repo_root(), tmp_path / "ws")
    assert _git_status(repo_root()) == before
    assert (tmp_path / "ws" / "src" / "terraform" / "stacks" / "platform" / ".terraform.lock.hcl").is_file()


def test_tf_validate_command_prints_one_line_per_stack(tmp_path: Path) -> None:
    """`nexuskit tf validate` prints each stack's verdict on one line and exits 0 when none is invalid."""
    require_terraform()
    result = CliRunner().invoke(app, ["tf", "validate", "--state-dir", str(tmp_path / "state")])
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.exit_code == 0, result.output
    assert [line.split()[1].rstrip(":") for line in lines] == ["platform", "workloads"]
    assert lines[0].startswith("valid")
