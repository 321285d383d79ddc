"""The parameter files load into a StackSpec with every derived name; bad files say why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexuskit.errors import ConfigError
from nexuskit.params import load_stack

LOCAL = Path("terraform/envs/local/terraform.tfvars.json")


def _write(tmp_path: Path, **changes: object) -> Path:
    params = json.loads(LOCAL.read_text())
    for key, value in changes.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    path = tmp_path / "terraform.tfvars.json"
    path.write_text(json.dumps(params))
    return path


def test_local_names_follow_the_architecture() -> None:
    """Every name derives from nexus-dev exactly as ARCHITECTURE.md lists them."""
    spec = load_stack(env="local")
    assert spec.prefix == "nexus-dev"
    assert (spec.primary_stream, spec.client_stream) == (
        "nexus-dev-intake",
        "nexus-dev-client-intake",
    )
    assert (spec.telemetry_video_stream, spec.client_telemetry_video_stream) == (
        "nexus-dev-telemetry",
        "nexus-dev-client-telemetry",
    )
    assert (spec.primary_firehose, spec.client_firehose) == (
        "nexus-dev-to-lake",
        "nexus-dev-client-to-lake",
    )
    assert spec.buckets == {t: f"nexus-dev-{t}-us-west-2" for t in ("bronze", "silver", "gold", "vibranium")}
    assert spec.auth_function == "nexus-dev-auth"
    assert (spec.http_api, spec.http_api_stage) == ("nexus-dev-ui", "prod")
    assert spec.log_groups == [
        "/aws/kinesisfirehose/nexus-dev-firehose",
        "/aws/kinesisfirehose/nexus-dev-client-firehose",
        "/aws/lambda/nexus-dev-auth",
        "/aws/apigateway/nexus-dev-ui",
    ]
    assert spec.cluster_name == "nexus-dev-eks"


def test_prod_uses_its_own_prefix() -> None:
    """The prod parameter file derives nexus-prod-* names in us-west-2."""
    spec = load_stack(env="prod")
    assert spec.prefix == "nexus-prod" and spec.region == "us-west-2"
    assert spec.bucket("gold") == "nexus-prod-gold-us-west-2"


def test_unknown_key_is_named_with_the_allowed_keys(tmp_path: Path) -> None:
    """A misspelt key fails naming the key and listing the known parameters."""
    path = _write(tmp_path, primary_stream_shard=3)
    with pytest.raises(ConfigError) as err:
        load_stack(path)
    assert "'primary_stream_shard'" in err.value.message
    assert "primary_stream_shards" in err.value.message
    assert str(path) in err.value.message


def test_missing_key_is_named(tmp_path: Path) -> None:
    """A missing required key is named."""
    with pytest.raises(ConfigError, match="'region' is missing"):
        load_stack(_write(tmp_path, region=None))


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("token_ttl_min_minutes", 5, "greater than or equal to 15"),
        ("firehose_compression", "LZ4", "GZIP"),
        ("bucket_tiers", ["bronze", "silver"], "must list each of bronze, silver, gold, vibranium"),
        ("client_firehose_prefix", "client", "ending in '/'"),
        (
            "availability_zones",
            ["us-east-1a", "us-east-1b", "us-east-1c"],
            "not in region us-west-2",
        ),
        ("project", "Nexus!", "lowercase"),
    ],
)
def test_bad_values_say_what_is_allowed(tmp_path: Path, key: str, value: object, says: str) -> None:
    """A wrong value names the key and what is allowed."""
    with pytest.raises(ConfigError) as err:
        load_stack(_write(tmp_path, **{key: value}))
    assert says in err.value.message


def test_not_json_reports_the_line(tmp_path: Path) -> None:
    """A file that is not JSON reports the line and column."""
    path = tmp_path / "terraform.tfvars.json"
    path.write_text('{\n  "project": "nexus",\n  oops\n}')
    with pytest.raises(ConfigError, match="line 3"):
        load_stack(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """A missing parameter file is reported with its path."""
    with pytest.raises(ConfigError, match="parameter file not found"):
        load_stack(tmp_path / "nope.json")
