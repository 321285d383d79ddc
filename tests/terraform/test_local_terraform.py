"""`nexuskit up --provisioner terraform` on a real engine, then plan, data flow, Lambda and destroy.

One stack for the module, started as a user starts it (the CLI in a subprocess): the engine,
the real terraform applying stacks/platform with envs/local (offline, providers from the
mirror), the key set and the lake grants nexuskit adds, then the control plane. The tests run
in file order; the last one destroys the stack.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tfreal import require_aws_provider

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.engine import EmbeddedEngine
from nexuskit.params import StackSpec, load_stack
from nexuskit.promote.lambdacheck import check_auth_package
from tests.helpers import free_port

# The AWS provider's own waits dominate: ~55 s of S3 lifecycle confirmation reads in the apply
# (the fixture, counted in the first test), NAT gateway and EKS deletion polling in destroy.
# A loaded 2-core machine stretches both past the suite's default 300 s safety net.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

BRONZE = "nexus-dev-bronze-us-west-2"
#: the OIDC provider's host is the issuer EKS assigns (random); the inventory derives its own
NAMED_DIFFERENTLY = {"iam.oidc_provider"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a subprocess, as a user runs it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nexuskit.cli", *args], capture_output=True, text=True, env=full, check=False
    )


@dataclass
class TerraformStack:
    port: int
    state_dir: Path
    up_report: dict[str, Any]
    env: dict[str, str]

    @property
    def args(self) -> list[str]:
        return ["--port", str(self.port), "--state-dir", str(self.state_dir)]

    @property
    def spec(self) -> StackSpec:
        return load_stack()

    @property
    def target(self) -> AwsTarget:
        return EmbeddedEngine(KitSettings(port=self.port, state_dir=self.state_dir)).target(self.spec.region)

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, *self.args, env=self.env)


@pytest.fixture(scope="module")
def tf_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerraformStack]:
    """`nexuskit up --local --provisioner terraform` (wheel cache empty: the package is built
    from this interpreter's wheels, offline)."""
    require_aws_provider()
    folder = tmp_path_factory.mktemp("tf-stack")
    env = {"NEXUSKIT_WHEEL_CACHE": str(folder / "empty-wheel-cache")}
    stack = TerraformStack(free_port(), folder / "state", {}, env)
    result = stack.cli("up", "--local", "--provisioner", "terraform", "--json")
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    stack.up_report = json.loads(result.stdout)
    yield stack
    stack.cli("down")


def test_up_applies_the_platform_stack_with_terraform(tf_stack: TerraformStack) -> None:
    """up reports the stack applied by terraform (no error), then the key set and lake grants."""
    first, key_set = tf_stack.up_report["resources"][:2]
    assert first["type"] == "terraform.stack" and first["name"] == "stacks/platform"
    added = int(first["detail"].split(" added")[0])
    assert added > 100, first
    assert key_set["type"] == "secretsmanager.secret-value"
    tables = {r["name"] for r in tf_stack.up_report["resources"] if r["type"] == "glue.table"}
    assert "nexus_dev_silver.enrichment" in tables


def test_status_finds_the_resources_terraform_made(tf_stack: TerraformStack) -> None:
    """`nexuskit status` (the embedded provisioner's inventory) finds every stream, delivery,
    bucket, subnet, NAT gateway, route table, role, log group, secret, table, function and API
    Terraform made (the OIDC provider's host is the issuer EKS assigned: runtime parity)."""
    result = tf_stack.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    resources = json.loads(result.stdout)["resources"]
    missing = [
        f"{r['type']} {r['name']}"
        for r in resources
        if r["state"] == "missing" and r["type"] not in NAMED_DIFFERENTLY
    ]
    assert resources and missing == []


def test_control_plane_runs_and_the_terraform_made_api_issues_tokens(tf_stack: TerraformStack) -> None:
    """The control plane is up, and POST /auth on Terraform's HTTP API (Terraform's Lambda with
    nexuskit's package and key set) issues a token."""
    endpoints = tf_stack.up_report["endpoints"]
    assert endpoints["agent_core"] and endpoints["ui"] and endpoints["auth_url"]
    result = tf_stack.cli("token", "issue", "--user", "tf-e2e", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["token"].count(".") == 2
    assert payload["streams"]["data_stream"]["name"] == "nexus-dev-client-intake"


def test_second_plan_is_empty(tf_stack: TerraformStack) -> None:
    """`nexuskit tf plan --local --detailed-exitcode` right after up exits 0: nothing to change."""
    result = tf_stack.cli("tf", "plan", "--local", "--detailed-exitcode", "--json")
    if result.returncode == 2:
        doc = json.loads(result.stdout)
        pytest.fail(f"second plan wants changes: {doc['changes']}")
    assert result.returncode == 0, result.stderr[-2000:]


def test_terraform_made_firehose_delivers_gzip_to_bronze(tf_stack: TerraformStack) -> None:
    """A record put on nexus-dev-intake lands in bronze through nexus-dev-to-lake, GZIP-compressed."""
    marker = f"tf-e2e-{time.time_ns()}".encode()
    tf_stack.client("kinesis").put_record(StreamName="nexus-dev-intake", Data=marker, PartitionKey="p")
    s3 = tf_stack.client("s3")
    body = None
    for _ in range(120):  # the engine's fast buffering flushes within a second or two
        for obj in s3.list_objects_v2(Bucket=BRONZE).get("Contents", []):
            if obj["Key"].startswith("client/"):
                continue
            data = s3.get_object(Bucket=BRONZE, Key=obj["Key"])["Body"].read()
            if data[:2] == b"\x1f\x8b" and marker in gzip.decompress(data):
                body = data
        if body is not None:
            break
        time.sleep(0.5)
    assert body is not None, "no GZIP object with the record reached bronze"


def test_deployed_package_answers_in_a_clean_interpreter(tf_stack: TerraformStack) -> None:
    """The zip Terraform deployed (its CodeSha256) imports and answers with only itself (and the
    runtime's boto3) on sys.path, reading the signing key from the engine."""
    config = tf_stack.client("lambda").get_function_configuration(FunctionName=tf_stack.spec.auth_function)
    package = tf_stack.state_dir / "terraform" / "build" / f"{tf_stack.spec.auth_function}.zip"
    target = tf_stack.target
    environment = {
        **config["Environment"]["Variables"],
        "AWS_ENDPOINT_URL": target.endpoint_url or "",
        "AWS_DEFAULT_REGION": target.region,
        "AWS_ACCESS_KEY_ID": target.access_key_id,
        "AWS_SECRET_ACCESS_KEY": target.secret_access_key,
    }
    result = check_auth_package(package, runtime=config["Runtime"], environment=environment)
    assert result.module_origin("cryptography") == "task"


def test_runtime_parity_with_the_embedded_provisioner(tf_stack: TerraformStack) -> None:
    """`nexuskit tf parity --local` exits 0: every resource of the Terraform-made stack, described
    through boto3 (streams, deliveries, buckets with their policies and lifecycle, roles and their
    policies, the function, the API, log groups, the network, EKS, Lake Formation grants, Glue,
    DynamoDB), equals what the embedded provisioner builds on a scratch engine, up to what AWS
    picks at random."""
    from nexuskit.terraform.parity import describe_stack

    result = tf_stack.cli("tf", "parity", "--local", "--json")
    assert result.stdout, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["differences"] == [], "the two provisioners built different stacks:\n" + "\n".join(
        report["differences"]
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # the description is not empty by accident: it holds what both provisioners made
    terraform = describe_stack(tf_stack.spec, tf_stack.target)
    assert set(terraform["dynamodb"]) == {"nexus-dev-agent-runs", "nexus-dev-agent-checkpoints"}
    assert terraform["lake_formation"]["grants"] and len(terraform["glue"]["databases"]) == 4
    assert set(terraform["glue"]["jobs"]) == {
        "nexus-dev-bronze-to-silver",
        "nexus-dev-silver-to-gold",
        "nexus-dev-gold-to-vibranium",
    }
    assert terraform["buckets"]["nexus-dev-glue-assets-us-west-2"]["versioning"] == "Enabled"
    assert len(terraform["network"]["subnets"]) == 6 and terraform["buckets"]


def test_parity_names_each_difference(tf_stack: TerraformStack) -> None:
    """A retention changed behind Terraform's back shows up in `nexuskit tf parity --local` as one
    line naming the stream and both values, with exit status 1; put back, parity holds again."""
    kinesis = tf_stack.client("kinesis")
    kinesis.increase_stream_retention_period(StreamName="nexus-dev-intake", RetentionPeriodHours=72)
    try:
        result = tf_stack.cli("tf", "parity", "--local")
        assert result.returncode == 1, result.stderr[-2000:]
        assert "kinesis_streams.nexus-dev-intake.retention_hours: running=72 embedded=48" in result.stdout
    finally:
        kinesis.decrease_stream_retention_period(StreamName="nexus-dev-intake", RetentionPeriodHours=48)


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def test_destroy_leaves_no_stream_bucket_delivery_role_or_log_group(tf_stack: TerraformStack) -> None:
    """After the control plane stops and the buckets are emptied (as in AWS, Terraform does not delete
    a bucket that holds objects), `nexuskit tf destroy --local` removes every stream, bucket,
    delivery stream, role, log group, DynamoDB table, Glue database, Glue job (and the assets
    bucket with their code) and Lake Formation grant Terraform made."""
    state = json.loads((tf_stack.state_dir / "terraform" / "state" / "platform.tfstate").read_text())
    roles = {
        instance["attributes"]["name"]
        for resource in state["resources"]
        if resource["type"] == "aws_iam_role" and resource["mode"] == "managed"
        for instance in resource["instances"]
    }
    assert roles
    from nexuskit.controlplane import lifecycle

    lifecycle.stop(KitSettings(port=tf_stack.port, state_dir=tf_stack.state_dir))
    for tier in ("bronze", "silver", "gold", "vibranium"):
        _empty_bucket(tf_stack.client("s3"), f"nexus-dev-{tier}-us-west-2")
    result = tf_stack.cli("tf", "destroy", "--local", "--json")
    prefix = tf_stack.spec.prefix
    assert [s for s in tf_stack.client("kinesis").list_streams()["StreamNames"] if s.startswith(prefix)] == []
    firehose = tf_stack.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    assert [d for d in firehose if d.startswith(prefix)] == []
    left = {r["RoleName"] for r in tf_stack.client("iam").list_roles()["Roles"]}
    assert roles & left == set()
    groups = tf_stack.client("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups if prefix in g["logGroupName"]] == []
    tables = tf_stack.client("dynamodb").list_tables()["TableNames"]
    assert [t for t in tables if t.startswith(prefix)] == []
    databases = tf_stack.client("glue").get_databases()["DatabaseList"]
    assert [d["Name"] for d in databases if d["Name"].startswith("nexus_dev_")] == []
    assert [j for j in tf_stack.client("glue").list_jobs()["JobNames"] if j.startswith(prefix)] == []
    from nexuskit.terraform.parity import StackDescriber

    assert StackDescriber(tf_stack.spec, tf_stack.target).lake_formation()["grants"] == {}
    assert result.returncode == 0, result.stderr[-2000:]
    buckets = tf_stack.client("s3").list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets if b["Name"].startswith(prefix)] == []
    assert "nexus-dev-glue-assets-us-west-2" not in {b["Name"] for b in buckets}
