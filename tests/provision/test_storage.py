"""The medallion buckets, Lake Formation and the log groups (spec §2.3, §2.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("first_run")
Aws = Callable[[str], Any]
TIERS = ("bronze", "silver", "gold", "vibranium")
BUCKETS = [f"nexus-dev-{tier}-us-west-2" for tier in TIERS]


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_lives_in_the_stack_region(aws: Aws, bucket: str) -> None:
    """Each bucket was created with LocationConstraint us-west-2."""
    assert aws("s3").get_bucket_location(Bucket=bucket)["LocationConstraint"] == "us-west-2"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_is_versioned(aws: Aws, bucket: str) -> None:
    """Versioning is Enabled on every medallion bucket."""
    assert aws("s3").get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_encrypts_with_aes256_by_default(aws: Aws, bucket: str) -> None:
    """Default encryption is SSE-S3 (AES256)."""
    config = aws("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    defaults = [r["ApplyServerSideEncryptionByDefault"] for r in config["Rules"]]
    assert defaults == [{"SSEAlgorithm": "AES256"}]


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_blocks_all_public_access(aws: Aws, bucket: str) -> None:
    """All four public access block settings are on."""
    block = aws("s3").get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("tier", TIERS)
def test_bucket_is_tagged_with_its_tier(aws: Aws, tier: str) -> None:
    """Tags: MedallionTier=<tier> plus the stack's tags (the parameter file's, Project, Environment)."""
    tagging = aws("s3").get_bucket_tagging(Bucket=f"nexus-dev-{tier}-us-west-2")
    tags = {t["Key"]: t["Value"] for t in tagging["TagSet"]}
    assert tags == {"MedallionTier": tier, "Project": "nexus", "ManagedBy": "nexuskit", "Environment": "dev"}


def test_lake_formation_admin_is_the_caller(aws: Aws) -> None:
    """With no lakeformation_admins configured, the calling identity is made an admin."""
    caller = aws("sts").get_caller_identity()["Arn"]
    settings = aws("lakeformation").get_data_lake_settings()["DataLakeSettings"]
    admins = [a["DataLakePrincipalIdentifier"] for a in settings["DataLakeAdmins"]]
    assert caller in admins


def test_every_bucket_is_a_registered_data_location(aws: Aws) -> None:
    """Lake Formation lists each bucket ARN as a registered resource."""
    listed = aws("lakeformation").list_resources()["ResourceInfoList"]
    registered = {r["ResourceArn"] for r in listed}
    assert {f"arn:aws:s3:::{b}" for b in BUCKETS} <= registered


def test_admin_holds_data_location_access_on_every_bucket(aws: Aws) -> None:
    """DATA_LOCATION_ACCESS is granted on each bucket to the admin."""
    caller = aws("sts").get_caller_identity()["Arn"]
    lf = aws("lakeformation")
    for bucket in BUCKETS:
        grants = lf.list_permissions(
            Principal={"DataLakePrincipalIdentifier": caller},
            Resource={"DataLocation": {"ResourceArn": f"arn:aws:s3:::{bucket}"}},
        )["PrincipalResourcePermissions"]
        assert [g["Permissions"] for g in grants] == [["DATA_LOCATION_ACCESS"]], bucket


def test_log_groups_exist_with_retention(aws: Aws) -> None:
    """The four log groups of spec §2.6 exist with 30 days retention (local params)."""
    logs = aws("logs")
    wanted = [
        "/aws/kinesisfirehose/nexus-dev-firehose",
        "/aws/kinesisfirehose/nexus-dev-client-firehose",
        "/aws/lambda/nexus-dev-auth",
        "/aws/apigateway/nexus-dev-ui",
    ]
    for name in wanted:
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(name, 30)]
