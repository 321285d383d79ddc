"""Lake Formation as the Terraform AWS provider revokes it, and what it governs."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from tests.emulation.aws_provider.support import ACCOUNT, allow_all, trust

PRINCIPAL = {"DataLakePrincipalIdentifier": f"arn:aws:iam::{ACCOUNT}:role/lake-admin-fidelity"}


def _grant(aws: Any, bucket: str) -> dict[str, Any]:
    aws("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    lakeformation = aws("lakeformation")
    lakeformation.register_resource(ResourceArn=f"arn:aws:s3:::{bucket}", UseServiceLinkedRole=True)
    resource = {"DataLocation": {"ResourceArn": f"arn:aws:s3:::{bucket}"}}
    lakeformation.grant_permissions(
        Principal=PRINCIPAL, Resource=resource, Permissions=["DATA_LOCATION_ACCESS"]
    )
    return resource


def test_revoking_a_grant_that_is_gone_is_invalid_input(aws: Any) -> None:
    """The first revoke removes the grant; revoking it again: InvalidInputException, as in AWS."""
    resource = _grant(aws, "revoke-fidelity")
    lakeformation = aws("lakeformation")
    lakeformation.revoke_permissions(
        Principal=PRINCIPAL, Resource=resource, Permissions=["DATA_LOCATION_ACCESS"]
    )
    listed = lakeformation.list_permissions(Principal=PRINCIPAL, Resource=resource)[
        "PrincipalResourcePermissions"
    ]
    assert listed == []
    with pytest.raises(ClientError) as excinfo:
        lakeformation.revoke_permissions(
            Principal=PRINCIPAL, Resource=resource, Permissions=["DATA_LOCATION_ACCESS"]
        )
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert error["Message"].startswith("No permissions revoked. Grantee has no permissions")


def test_revoke_names_the_catalog_or_not(aws: Any) -> None:
    """A grant made without CatalogId is revoked by a request that names the account's catalog."""
    resource = _grant(aws, "catalog-fidelity")
    lakeformation = aws("lakeformation")
    named = {"DataLocation": {**resource["DataLocation"], "CatalogId": ACCOUNT}}
    lakeformation.revoke_permissions(
        CatalogId=ACCOUNT, Principal=PRINCIPAL, Resource=named, Permissions=["DATA_LOCATION_ACCESS"]
    )
    assert (
        lakeformation.list_permissions(Principal=PRINCIPAL, Resource=resource)["PrincipalResourcePermissions"]
        == []
    )


def test_registered_locations_do_not_govern_direct_s3_calls_by_default(aws: Any, admin: AwsTarget) -> None:
    """In AWS, a role IAM allows reads a registered bucket directly, without a Lake Formation grant."""
    _grant(aws, "governed-fidelity")
    aws("s3").put_object(Bucket="governed-fidelity", Key="telemetry/x.json", Body=b"{}")
    iam = aws("iam")
    role = iam.create_role(
        RoleName="reader-fidelity", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    )
    iam.put_role_policy(RoleName="reader-fidelity", PolicyName="s3", PolicyDocument=allow_all("s3:GetObject"))
    credentials = aws("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="reader")["Credentials"]
    session = admin.with_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    body = session.client("s3", max_attempts=1).get_object(
        Bucket="governed-fidelity", Key="telemetry/x.json"
    )["Body"]
    assert body.read() == b"{}"
