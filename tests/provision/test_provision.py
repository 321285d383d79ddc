"""provision(): what it reports, idempotency, drift correction, options and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from nexuskit.aws import AwsTarget
from nexuskit.errors import EngineError, ProvisionError
from nexuskit.params import StackSpec
from nexuskit.provision.provisioner import provision
from nexuskit.provision.resources import ResourceState

# The main stack goes first: its first run must see an empty account (the variants
# below share the account-wide Lake Formation settings).
pytestmark = pytest.mark.usefixtures("first_run")
Aws = Callable[[str], Any]


def assumed_target(target: AwsTarget, account: str) -> AwsTarget:
    """The same server as a role session in another account (moto keeps accounts apart)."""
    sts = target.client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/nexus-operator", RoleSessionName="tests")[
        "Credentials"
    ]
    return target.with_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_first_run_creates_every_resource(first_run: list[ResourceState]) -> None:
    """On an empty engine every resource is reported created, each name once."""
    assert {s.state for s in first_run} == {"created"}
    keys = [(s.type, s.name) for s in first_run]
    assert len(keys) == len(set(keys))
    counts: dict[str, int] = {}
    for state in first_run:
        counts[state.type] = counts.get(state.type, 0) + 1
    assert counts == {
        "logs.log_group": 4,
        "logs.log_stream": 2,
        "iam.oidc_provider": 1,
        "iam.role": 9,  # + the medallion jobs' Glue role
        "s3.bucket": 5,  # + the Glue jobs' assets bucket
        "lakeformation.settings": 1,
        "lakeformation.resource": 4,
        "lakeformation.grant": 4,
        "kinesis.stream": 2,
        "kinesisvideo.stream": 2,
        "firehose.delivery_stream": 2,
        "secretsmanager.secret": 1,
        "ec2.vpc": 1,
        "ec2.subnet": 6,
        "ec2.internet_gateway": 1,
        "ec2.nat_gateway": 3,
        "ec2.route_table": 4,
        "eks.cluster": 1,
        "eks.nodegroup": 2,
        "ec2.flow_log": 1,
        "dynamodb.table": 2,
        "s3.object": 5,  # three scripts, the library wheel, the dataset files
        "glue.job": 3,
    }


def test_second_run_reports_everything_exists(
    first_run: list[ResourceState], second_run: list[ResourceState]
) -> None:
    """Provisioning again reports the same resources, all 'exists'."""
    assert [(s.type, s.name) for s in second_run] == [(s.type, s.name) for s in first_run]
    assert {s.state for s in second_run} == {"exists"}


def test_second_run_creates_nothing(aws: Aws, second_run: list[ResourceState]) -> None:
    """After two runs there is still one VPC, six subnets, three NATs and three EIPs."""
    ec2 = aws("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["nexus-dev-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1
    in_vpc = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
    assert len(ec2.describe_subnets(Filters=in_vpc)["Subnets"]) == 6
    assert len(ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]) == 3
    assert len(ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]) == 5  # + main table
    eips = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": ["nexus-dev-vpc-nat-*"]}])[
        "Addresses"
    ]
    assert len(eips) == 3
    assert aws("eks").list_nodegroups(clusterName="nexus-dev-eks")["nodegroups"] == [
        "general",
        "mcp",
    ]


# -- drift ------------------------------------------------------------------------------
DRIFT = "nexus-drift"


@pytest.fixture(scope="module")
def drift_run(
    make_spec: Callable[..., StackSpec], target: AwsTarget, aws: Aws
) -> dict[tuple[str, str], ResourceState]:
    """A stack of its own, provisioned, tampered with, then provisioned again."""
    spec = make_spec(environment="drift")
    provision(spec, target)
    bronze = f"{DRIFT}-bronze-us-west-2"
    aws("kinesis").increase_stream_retention_period(StreamName=f"{DRIFT}-intake", RetentionPeriodHours=96)
    aws("s3").put_bucket_versioning(Bucket=bronze, VersioningConfiguration={"Status": "Suspended"})
    aws("s3").delete_public_access_block(Bucket=bronze)
    aws("s3").delete_bucket_tagging(Bucket=f"{DRIFT}-gold-us-west-2")
    aws("logs").put_retention_policy(logGroupName=f"/aws/lambda/{DRIFT}-auth", retentionInDays=1)
    aws("iam").put_role_policy(
        RoleName=f"{DRIFT}-kinesis-bearer",
        PolicyName=f"{DRIFT}-kinesis-bearer-policy",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    hose = aws("firehose").describe_delivery_stream(DeliveryStreamName=f"{DRIFT}-to-lake")
    description = hose["DeliveryStreamDescription"]
    aws("firehose").update_destination(
        DeliveryStreamName=f"{DRIFT}-to-lake",
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 900}},
    )
    aws("eks").update_nodegroup_config(
        clusterName=f"{DRIFT}-eks",
        nodegroupName="general",
        scalingConfig={"minSize": 0, "maxSize": 9, "desiredSize": 0},
    )
    return {(s.type, s.name): s for s in provision(spec, target)}


def test_drifted_resources_are_reported_updated(
    drift_run: dict[tuple[str, str], ResourceState],
) -> None:
    """Exactly the tampered resources come back 'updated'; the rest 'exists'."""
    updated = {key for key, state in drift_run.items() if state.state == "updated"}
    assert updated == {
        ("kinesis.stream", f"{DRIFT}-intake"),
        ("s3.bucket", f"{DRIFT}-bronze-us-west-2"),
        ("s3.bucket", f"{DRIFT}-gold-us-west-2"),
        ("logs.log_group", f"/aws/lambda/{DRIFT}-auth"),
        ("iam.role", f"{DRIFT}-kinesis-bearer"),
        ("firehose.delivery_stream", f"{DRIFT}-to-lake"),
        ("eks.nodegroup", f"{DRIFT}-eks/general"),
    }
    assert {s.state for key, s in drift_run.items() if key not in updated} == {"exists"}


def test_drift_is_corrected(aws: Aws, drift_run: dict[tuple[str, str], ResourceState]) -> None:
    """Retention, versioning, public access block, tags, policy, buffering and scaling are back."""
    summary = aws("kinesis").describe_stream_summary(StreamName=f"{DRIFT}-intake")
    assert summary["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    s3 = aws("s3")
    bronze = f"{DRIFT}-bronze-us-west-2"
    assert s3.get_bucket_versioning(Bucket=bronze)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=bronze)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    tags = s3.get_bucket_tagging(Bucket=f"{DRIFT}-gold-us-west-2")["TagSet"]
    assert {"Key": "MedallionTier", "Value": "gold"} in tags
    group = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{DRIFT}-auth")
    assert group["logGroups"][0]["retentionInDays"] == 30
    policy = aws("iam").get_role_policy(
        RoleName=f"{DRIFT}-kinesis-bearer", PolicyName=f"{DRIFT}-kinesis-bearer-policy"
    )["PolicyDocument"]
    assert [s["Sid"] for s in policy["Statement"]] == [
        "ClientStream",
        "ClientVideoStream",
        "ClientFirehose",
    ]
    hose = aws("firehose").describe_delivery_stream(DeliveryStreamName=f"{DRIFT}-to-lake")
    destination = hose["DeliveryStreamDescription"]["Destinations"][0]
    assert destination["ExtendedS3DestinationDescription"]["BufferingHints"] == {
        "SizeInMBs": 5,
        "IntervalInSeconds": 60,
    }
    group = aws("eks").describe_nodegroup(clusterName=f"{DRIFT}-eks", nodegroupName="general")
    assert group["nodegroup"]["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}


# -- options ----------------------------------------------------------------------------
def test_configured_lake_admins_get_the_grants(
    make_spec: Callable[..., StackSpec], target: AwsTarget, aws: Aws
) -> None:
    """lakeformation_admins from the parameters become admins and get DATA_LOCATION_ACCESS."""
    admin = "arn:aws:iam::123456789012:role/lake-admin"
    spec = make_spec(environment="lfadmins", lakeformation_admins=[admin], enable_eks=False)
    provision(spec, target)
    settings = aws("lakeformation").get_data_lake_settings()["DataLakeSettings"]
    assert admin in [a["DataLakePrincipalIdentifier"] for a in settings["DataLakeAdmins"]]
    grants = aws("lakeformation").list_permissions(
        Principal={"DataLakePrincipalIdentifier": admin},
        Resource={"DataLocation": {"ResourceArn": "arn:aws:s3:::nexus-lfadmins-gold-us-west-2"}},
    )["PrincipalResourcePermissions"]
    assert [g["Permissions"] for g in grants] == [["DATA_LOCATION_ACCESS"]]


def test_role_session_caller_becomes_admin_as_its_role(
    make_spec: Callable[..., StackSpec], target: AwsTarget
) -> None:
    """Provisioning as an assumed role makes the role (not the session) the lake admin."""
    other = assumed_target(target, "444455556666")
    spec = make_spec(environment="assumed", enable_eks=False)
    states = provision(spec, other)
    settings = [s for s in states if s.type == "lakeformation.settings"]
    assert settings == [
        ResourceState(
            "lakeformation.settings",
            "444455556666",
            "created",
            "admins arn:aws:iam::444455556666:role/nexus-operator",
        )
    ]


def test_without_eks_no_network_or_cluster_is_provisioned(
    make_spec: Callable[..., StackSpec], target: AwsTarget, aws: Aws
) -> None:
    """enable_eks=false leaves out the VPC, subnets, NATs and the cluster."""
    states = provision(make_spec(environment="noeks", enable_eks=False), target)
    assert not [s for s in states if s.type.startswith(("ec2.", "eks."))]
    found = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["nexus-noeks-vpc"]}])
    assert found["Vpcs"] == []


def test_video_retention_drift_the_engine_cannot_fix_is_reported(
    make_spec: Callable[..., StackSpec], target: AwsTarget, aws: Aws
) -> None:
    """moto lacks UpdateDataRetention: a video stream with other retention says so in detail."""
    aws("kinesisvideo").create_stream(StreamName="nexus-kvdrift-telemetry", DataRetentionInHours=5)
    states = provision(make_spec(environment="kvdrift", enable_eks=False), target)
    (video,) = [s for s in states if s.name == "nexus-kvdrift-telemetry"]
    assert video == ResourceState(
        "kinesisvideo.stream", "nexus-kvdrift-telemetry", "exists", "5 h (wanted 24 h)"
    )


# -- errors -----------------------------------------------------------------------------
def test_aws_error_names_the_resource_and_the_code(
    make_spec: Callable[..., StackSpec], target: AwsTarget
) -> None:
    """A refused call becomes ProvisionError naming the resource, AWS code and message."""
    spec = make_spec(environment="broken", primary_stream_retention_hours=9000, enable_eks=False)
    with pytest.raises(ProvisionError) as caught:
        provision(spec, target)
    message = str(caught.value)
    assert message.startswith("kinesis.stream nexus-broken-intake: InvalidArgumentException:")
    assert "8760" in message


def test_unreachable_endpoint_is_an_engine_error(spec: StackSpec) -> None:
    """No server at the endpoint: EngineError that says so and how to start the engine."""
    nowhere = AwsTarget(
        region=spec.region,
        access_key_id="test",
        secret_access_key="test",
        endpoint_url="http://127.0.0.1:9",
    )
    with pytest.raises(EngineError) as caught:
        provision(spec, nowhere)
    assert "no answer from the AWS endpoint" in str(caught.value)
    assert "nexuskit up --local" in str(caught.value)
