"""`nexuskit tf override`: the tflocal-style provider override, parsed as terraform would."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest
from typer.testing import CliRunner

from nexuskit.cli import app
from tests.promote.support import LOCAL_PARAMS, MAIN

REQUIRED_ENDPOINTS = {
    "kinesis",
    "firehose",
    "s3",
    "iam",
    "sts",
    "lambda",
    "apigatewayv2",
    "logs",
    "secretsmanager",
    "lakeformation",
    "ec2",
    "eks",
    "kinesisvideo",
    "glue",
    "bedrock",
    "kms",
    "sqs",
    "events",
    "acm",
    "route53",
    "cloudwatch",
}


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _clean(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return _unquote(value)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with the local and prod parameter sets and both stacks; the cwd."""
    for rel in (LOCAL_PARAMS, "terraform/envs/prod/terraform.tfvars.json", "terraform/envs/prod/backend.hcl"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(MAIN / rel, tmp_path / rel)
    for stack in ("platform", "workloads"):
        (tmp_path / "terraform/stacks" / stack).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEXUSKIT_PARAMS_FILE", raising=False)
    monkeypatch.delenv("NEXUSKIT_ENV", raising=False)
    monkeypatch.setenv("NEXUSKIT_PORT", "4599")
    monkeypatch.setenv("NEXUSKIT_STATE_DIR", str(tmp_path / ".nexus"))
    return tmp_path


def _parse(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = _clean(hcl2.loads(path.read_text()))
    return data


def test_override_points_every_aws_endpoint_at_the_engine(root: Path) -> None:
    """The file parses as HCL: provider aws with every endpoint at the engine, path-style S3."""
    result = CliRunner().invoke(app, ["tf", "override"])
    assert result.exit_code == 0, result.output
    path = root / "terraform/stacks/platform/nexuskit_override.tf"
    provider = _parse(path)["provider"][0]["aws"]
    endpoints = provider["endpoints"][0]
    assert set(endpoints) >= REQUIRED_ENDPOINTS
    assert set(endpoints.values()) == {"http://127.0.0.1:4599"}
    assert provider["s3_use_path_style"] is True
    assert provider["skip_credentials_validation"] is True
    assert provider["skip_metadata_api_check"] is True
    assert provider["region"] == "us-west-2"
    assert provider["access_key"].startswith("AKIA")


def test_override_replaces_the_backend_with_a_local_one(root: Path) -> None:
    """The override holds terraform { backend "local" {} } so no S3 state is touched."""
    CliRunner().invoke(app, ["tf", "override", "--stack", "workloads"])
    terraform = _parse(root / "terraform/stacks/workloads/nexuskit_override.tf")["terraform"]
    assert terraform[0]["backend"][0] == {"local": {}}


def test_output_option_and_localstack_engine(root: Path) -> None:
    """--output writes where asked; --engine localstack uses its endpoint and a 12-digit key."""
    target = root / "elsewhere" / "ls_override.tf"
    result = CliRunner().invoke(app, ["tf", "override", "--engine", "localstack", "--output", str(target)])
    assert result.exit_code == 0, result.output
    provider = _parse(target)["provider"][0]["aws"]
    assert set(provider["endpoints"][0].values()) == {"http://127.0.0.1:4566"}
    assert provider["access_key"] == "123456789012"


def test_override_is_refused_for_prod(root: Path) -> None:
    """Prod deploys to AWS: no emulator override is written for it, and the refusal is one line."""
    result = CliRunner().invoke(app, ["tf", "override", "--env", "prod"])
    assert result.exit_code == 2
    assert "refusing to write an emulator override for env prod" in result.stderr
    assert not list((root / "terraform/stacks").glob("*/*_override.tf"))


def test_output_name_must_be_an_override_file(root: Path) -> None:
    """A name terraform would not merge as an override (not *_override.tf) is refused."""
    result = CliRunner().invoke(app, ["tf", "override", "--output", str(root / "providers.tf")])
    assert result.exit_code == 2 and "_override.tf" in result.stderr
