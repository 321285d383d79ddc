"""Helpers of the tests that run the real terraform (offline, providers from the mirrors found)."""

from __future__ import annotations

import shutil

import pytest

from nexuskit.terraform import discover_mirrors, terraform_binary
from nexuskit.terraform.mirrors import current_platform

AWS = "registry.terraform.io/hashicorp/aws"


def require_terraform() -> None:
    """Skip, with the reason in one line, where terraform or the AWS provider is absent."""
    if shutil.which(terraform_binary()) is None:
        pytest.skip(f"terraform is not installed ({terraform_binary()!r} not on PATH)")


def require_aws_provider() -> None:
    require_terraform()
    if not discover_mirrors().holding(AWS, current_platform()):
        pytest.skip(
            f"no provider mirror holds hashicorp/aws for {current_platform()} (see `nexuskit doctor`)"
        )
