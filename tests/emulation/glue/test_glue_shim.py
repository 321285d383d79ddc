"""The awsglue shim that local job runs import (loaded from its folder, as runs do)."""

from __future__ import annotations

import subprocess
import sys

from emulation.glue.runner import SHIM_DIR


def _run(code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(SHIM_DIR)}
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=False, timeout=30
    )


def test_get_resolved_options() -> None:
    """getResolvedOptions returns the asked-for arguments, ignoring the others."""
    code = (
        "import sys, json; from awsglue.utils import getResolvedOptions; "
        "print(json.dumps(getResolvedOptions(sys.argv, ['JOB_NAME', 'day'])))"
    )
    result = _run(code, "--JOB_NAME", "daily", "--day", "2026-11-26", "--other", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '{"JOB_NAME": "daily", "day": "2026-11-26"}'


def test_missing_option_raises_glue_argument_error() -> None:
    """A missing argument raises GlueArgumentError, as on AWS Glue."""
    code = "import sys; from awsglue.utils import getResolvedOptions; getResolvedOptions(sys.argv, ['day'])"
    result = _run(code, "--JOB_NAME", "daily")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "awsglue.utils.GlueArgumentError: argument error: the following arguments are required: --day"
    )


def test_glue_context_says_it_needs_spark() -> None:
    """Importing awsglue.context explains that local runs have no Spark."""
    result = _run("import awsglue.context")
    assert "needs Apache Spark" in result.stderr
