"""`nexuskit up --local` provisions the whole stack on a real engine daemon."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

LIST_STREAMS = "import boto3; print(boto3.client('kinesis').list_streams()['StreamNames'])"


def test_data_streams_have_spec_shards_and_retention(stack: Stack) -> None:
    """Both Kinesis data streams exist with the parameter file's shards and retention."""
    kinesis = stack.client("kinesis")
    params = stack.spec.params
    primary = kinesis.describe_stream_summary(StreamName="nexus-dev-intake")["StreamDescriptionSummary"]
    client = kinesis.describe_stream_summary(StreamName="nexus-dev-client-intake")["StreamDescriptionSummary"]
    assert (
        (primary["OpenShardCount"], primary["RetentionPeriodHours"])
        == (
            params.primary_stream_shards,
            params.primary_stream_retention_hours,
        )
        == (2, 48)
    )
    assert (client["OpenShardCount"], client["RetentionPeriodHours"]) == (1, 24)


def test_video_streams_have_spec_retention(stack: Stack) -> None:
    """Both Kinesis video streams exist with 24 h and 12 h retention."""
    kvs = stack.client("kinesisvideo")
    assert kvs.describe_stream(StreamName="nexus-dev-telemetry")["StreamInfo"]["DataRetentionInHours"] == 24
    assert (
        kvs.describe_stream(StreamName="nexus-dev-client-telemetry")["StreamInfo"]["DataRetentionInHours"]
        == 12
    )


@pytest.mark.parametrize(
    ("name", "source", "prefix", "log_group"),
    [
        ("nexus-dev-to-lake", "nexus-dev-intake", "", "/aws/kinesisfirehose/nexus-dev-firehose"),
        (
            "nexus-dev-client-to-lake",
            "nexus-dev-client-intake",
            "client/",
            "/aws/kinesisfirehose/nexus-dev-client-firehose",
        ),
    ],
)
def test_firehose_reads_its_stream_and_gzips_to_bronze(
    stack: Stack, name: str, source: str, prefix: str, log_group: str
) -> None:
    """Each Firehose sources its stream and writes GZIP to bronze with its prefix and logging."""
    desc = stack.client("firehose").describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]
    assert desc["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert desc["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"].endswith(f":stream/{source}")
    dest = desc["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert dest["BucketARN"] == "arn:aws:s3:::nexus-dev-bronze-us-west-2"
    assert dest["CompressionFormat"] == "GZIP"
    assert dest.get("Prefix", "") == prefix
    assert dest["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 60}
    assert dest["CloudWatchLoggingOptions"]["Enabled"] is True
    assert dest["CloudWatchLoggingOptions"]["LogGroupName"] == log_group
    assert dest["RoleARN"].endswith(":role/nexus-dev-firehose")


@pytest.mark.parametrize("tier", ["bronze", "silver", "gold", "vibranium"])
def test_bucket_is_versioned_encrypted_private_and_tagged(stack: Stack, tier: str) -> None:
    """Every medallion bucket: versioning, AES256, public access blocked, MedallionTier tag."""
    s3 = stack.client("s3")
    bucket = f"nexus-dev-{tier}-us-west-2"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["MedallionTier"] == tier
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "us-west-2"


def _role_policy_statements(stack: Stack, role: str) -> list[dict[str, object]]:
    iam = stack.client("iam")
    statements: list[dict[str, object]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(doc)
        statements.extend(doc["Statement"])
    return statements


def test_bearer_role_trusts_lambda_and_is_scoped_to_client_resources(stack: Stack) -> None:
    """The bearer role trusts only the Lambda execution role and names only client resources."""
    iam = stack.client("iam")
    role = iam.get_role(RoleName="nexus-dev-kinesis-bearer")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    principals = json.dumps([s["Principal"] for s in trust["Statement"]])
    assert "role/nexus-dev-auth-lambda-exec" in principals
    resources = json.dumps(
        [s["Resource"] for s in _role_policy_statements(stack, "nexus-dev-kinesis-bearer")]
    )
    assert "stream/nexus-dev-client-intake" in resources
    assert "stream/nexus-dev-client-telemetry" in resources
    assert "deliverystream/nexus-dev-client-to-lake" in resources
    assert "stream/nexus-dev-intake" not in resources
    assert "deliverystream/nexus-dev-to-lake" not in resources
    assert "s3:::" not in resources and '"*"' not in resources


def test_irsa_roles_trust_their_service_accounts(stack: Stack) -> None:
    """agent-core, aws-mcp and nexus-ui roles trust the cluster's OIDC provider for their service account."""
    iam = stack.client("iam")
    for role, subject in [
        ("nexus-dev-agent-irsa", "system:serviceaccount:nexus-agent-core:agent-orchestrator"),
        ("nexus-dev-aws-mcp-irsa", "system:serviceaccount:nexus-mcp:aws-mcp"),
        ("nexus-dev-ui-irsa", "system:serviceaccount:nexus-agent-core:nexus-ui"),
    ]:
        trust = json.dumps(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
        assert subject in trust and "sts.amazonaws.com" in trust and "oidc-provider" in trust


def test_log_groups_and_signing_secret_exist(stack: Stack) -> None:
    """The four log groups of spec §2.6 and the token-signing key secret exist."""
    logs = stack.client("logs")
    names = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
    assert set(stack.spec.log_groups) <= names
    secret = stack.client("secretsmanager").get_secret_value(SecretId="nexus-dev/token-signing-key")
    key = json.loads(secret["SecretString"])
    assert key["active_kid"] == key["keys"][0]["kid"]
    assert key["keys"][0]["private_key_pem"].startswith("-----BEGIN")


def test_lake_formation_registers_every_bucket(stack: Stack) -> None:
    """Each bucket is a registered Lake Formation location with a DATA_LOCATION_ACCESS grant."""
    lf = stack.client("lakeformation")
    registered = {r["ResourceArn"] for r in lf.list_resources()["ResourceInfoList"]}
    for bucket in stack.spec.buckets.values():
        assert f"arn:aws:s3:::{bucket}" in registered
    grants = lf.list_permissions()["PrincipalResourcePermissions"]
    located = {
        g["Resource"]["DataLocation"]["ResourceArn"]
        for g in grants
        if "DataLocation" in g["Resource"] and "DATA_LOCATION_ACCESS" in g["Permissions"]
    }
    assert {f"arn:aws:s3:::{b}" for b in stack.spec.buckets.values()} <= located
    admins = lf.get_data_lake_settings()["DataLakeSettings"]["DataLakeAdmins"]
    assert admins


def test_network_and_cluster_are_control_plane_records(stack: Stack) -> None:
    """VPC /16 over 3 AZs with a NAT per AZ, and the EKS cluster with tainted mcp nodes."""
    ec2 = stack.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["nexus-dev-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "10.0.0.0/16"
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 3 and len(subnets) == 6
    nats = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
    nat_azs = {s["AvailabilityZone"] for s in subnets for n in nats if n["SubnetId"] == s["SubnetId"]}
    assert len(nats) == 3 and len(nat_azs) == 3
    eks = stack.client("eks")
    assert eks.describe_cluster(name="nexus-dev-eks")["cluster"]["name"] == "nexus-dev-eks"
    general = eks.describe_nodegroup(clusterName="nexus-dev-eks", nodegroupName="general")["nodegroup"]
    mcp = eks.describe_nodegroup(clusterName="nexus-dev-eks", nodegroupName="mcp")["nodegroup"]
    assert general["labels"]["role"] == "general"
    assert {"key": "dedicated", "value": "mcp", "effect": "NO_SCHEDULE"} in mcp["taints"]


def test_second_up_is_a_noop(stack: Stack) -> None:
    """Running `up` again reports the stack already up and creates nothing."""
    result = stack.cli("up", "--local", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["already_up"] is True
    assert report["created"] == 0
    assert {r["state"] for r in report["resources"]} == {"exists"}
    # `up` names the edge's token URL as `status` does (it asks through its own clients)
    status = json.loads(stack.cli("status", "--json").stdout)
    assert report["endpoints"]["auth_url"] == status["endpoints"]["auth_url"]
    assert report["endpoints"]["auth_url"].endswith("/prod/auth")


def test_status_json_lists_every_resource(stack: Stack) -> None:
    """`status --json` follows the contract: engine, resources (all present) and endpoints."""
    result = stack.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["engine"]["endpoint"] == f"http://127.0.0.1:{stack.port}"
    assert doc["engine"]["region"] == "us-west-2"
    assert doc["engine"]["state"] == "running"
    assert set(doc["endpoints"]) >= {"auth_url", "agent_core", "mcp", "ui"}
    assert set(doc["endpoints"]["mcp"]) == {"aws", "custom", "database", "k8s"}
    states = {(r["type"], r["name"]): r["state"] for r in doc["resources"]}
    assert states[("kinesis.stream", "nexus-dev-intake")] == "ready"
    assert states[("s3.bucket", "nexus-dev-vibranium-us-west-2")] == "ready"
    assert states[("eks.cluster", "nexus-dev-eks")] == "emulated: control plane only"
    assert not [r for r in doc["resources"] if r["state"] == "missing"]
    # every AWS resource `up` provisioned is listed (lake grants/catalogue are `lake grants`'s)
    provisioned = {
        (r["type"], r["name"])
        for r in stack.up_report["resources"]
        if not r["type"].startswith(("glue.", "lakeformation.permissions", "lakeformation.default"))
        and r["type"] not in {"apigatewayv2.integration", "apigatewayv2.route", "lambda.permission"}
        and r["name"] != "nexus-dev-medallion-glue"
    }
    assert provisioned <= set(states), provisioned - set(states)
    for res in doc["resources"]:
        if res["state"] == "not emulated":
            assert res["detail"], f"{res['name']} is not emulated without a reason"


def test_env_exports_point_boto3_at_the_engine(stack: Stack) -> None:
    """`eval "$(nexuskit env)"` gives a shell whose boto3 reaches the engine."""
    result = stack.cli("env")
    assert result.returncode == 0, result.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines() if line)
    assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{stack.port}"
    assert exports["AWS_REGION"] == "us-west-2"
    import subprocess
    import sys

    probe = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "$({sys.executable} -m nexuskit.cli env {" ".join(stack.args)})" && '
            f'{sys.executable} -c "{LIST_STREAMS}"',
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "nexus-dev-intake" in probe.stdout, probe.stderr
