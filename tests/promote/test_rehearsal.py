"""The rehearsal for real: the prod configuration applied to a scratch engine and destroyed.

Real terraform (offline, the AWS provider from the mirror), a real scratch engine, the
packaged auth Lambda imported and invoked in a clean interpreter. The package is built for
this machine from the installed wheels (no network); promotion builds it for the Lambda
runtime (python3.11, manylinux2014_x86_64) from the wheel cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nexuskit.edge.package import LambdaTarget
from nexuskit.engine import EmbeddedEngine
from nexuskit.promote.rehearsal import rehearse
from nexuskit.terraform import discover_mirrors, terraform_binary
from nexuskit.terraform.mirrors import current_platform
from tests.promote.support import MAIN

# The item (a real terraform apply and destroy of the prod stack) takes ~3 minutes when it
# runs in the suite's first, busiest minutes; the suite's 300 s hang guard covers setup,
# call and teardown together.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def _require_terraform_and_aws_provider() -> None:
    if shutil.which(terraform_binary()) is None:
        pytest.skip(f"terraform is not installed ({terraform_binary()!r} not on PATH)")
    if not discover_mirrors().holding("hashicorp/aws", current_platform()):
        pytest.skip(f"no provider mirror holds hashicorp/aws for {current_platform()}")


def test_rehearsal_applies_prod_to_a_scratch_engine_checks_the_lambda_and_destroys(tmp_path: Path) -> None:
    """Every resource of the prod platform stack is applied and destroyed on a scratch engine;
    the deployed zip answers JWKS (200, keys) and a bad request (400) in a clean interpreter;
    the scratch engine is stopped afterwards."""
    _require_terraform_and_aws_provider()
    report = rehearse(
        MAIN,
        "prod",
        tmp_path,
        package_target=LambdaTarget.this_machine(),
        wheel_cache=tmp_path / "empty-wheel-cache",
    )
    assert report.applied > 100
    assert report.destroyed == report.applied
    jwks, bad = report.lambda_check["responses"]
    assert jwks["statusCode"] == 200 and '"keys"' in jwks["body"]
    assert bad["statusCode"] == 400
    assert "cryptography" in report.lambda_check["modules_from_task"]
    assert report.lambda_check["modules_elsewhere"] == []
    from nexuskit.config import KitSettings

    assert EmbeddedEngine(KitSettings(state_dir=tmp_path / "engine")).pid() is None
