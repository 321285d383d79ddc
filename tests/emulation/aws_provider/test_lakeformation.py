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


def _catalog_grants(aws: Any, database: str) -> dict[str, Any]:
    """A database with one table, granted to PRINCIPAL on all its tables and on the one table."""
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={"Name": "enrichment"})
    lakeformation = aws("lakeformation")
    all_tables = {"Table": {"DatabaseName": database, "TableWildcard": {}}}
    one_table = {"Table": {"DatabaseName": database, "Name": "enrichment"}}
    lakeformation.grant_permissions(
        Principal=PRINCIPAL, Resource=all_tables, Permissions=["SELECT", "DESCRIBE"]
    )
    lakeformation.grant_permissions(Principal=PRINCIPAL, Resource=one_table, Permissions=["INSERT"])
    lakeformation.grant_permissions(
        Principal=PRINCIPAL, Resource={"Database": {"Name": database}}, Permissions=["DESCRIBE"]
    )
    return {"all": all_tables, "one": one_table}


def test_listing_one_table_next_to_all_tables_grants(aws: Any) -> None:
    """ListPermissions on a named table lists that table's grant, on the wildcard the all-tables one."""
    resources = _catalog_grants(aws, "list_fidelity")
    lakeformation = aws("lakeformation")
    one = lakeformation.list_permissions(Principal=PRINCIPAL, Resource=resources["one"])
    assert [(p["Resource"], p["Permissions"]) for p in one["PrincipalResourcePermissions"]] == [
        (resources["one"], ["INSERT"])
    ]
    named = {"Table": {**resources["all"]["Table"], "CatalogId": ACCOUNT}}
    every = lakeformation.list_permissions(CatalogId=ACCOUNT, Principal=PRINCIPAL, Resource=named)
    assert [sorted(p["Permissions"]) for p in every["PrincipalResourcePermissions"]] == [
        ["DESCRIBE", "SELECT"]
    ]


def test_listing_by_resource_type_pages_through_the_grants(aws: Any) -> None:
    """ResourceType TABLE lists both table grants, one page at a time with MaxResults=1."""
    _catalog_grants(aws, "page_fidelity")
    lakeformation = aws("lakeformation")
    listed: list[dict[str, Any]] = []
    page = lakeformation.list_permissions(ResourceType="TABLE", MaxResults=1)
    while True:
        assert len(page["PrincipalResourcePermissions"]) <= 1
        listed += [
            permission
            for permission in page["PrincipalResourcePermissions"]
            if permission["Resource"]["Table"]["DatabaseName"] == "page_fidelity"
        ]
        if "NextToken" not in page:
            break
        page = lakeformation.list_permissions(ResourceType="TABLE", MaxResults=1, NextToken=page["NextToken"])
    assert sorted(sorted(p["Permissions"]) for p in listed) == [["DESCRIBE", "SELECT"], ["INSERT"]]


def test_listing_for_a_principal_without_a_resource_is_invalid_input(aws: Any) -> None:
    """As in AWS: a Principal filter needs a Resource."""
    with pytest.raises(ClientError) as excinfo:
        aws("lakeformation").list_permissions(Principal=PRINCIPAL)
    assert excinfo.value.response["Error"]["Code"] == "InvalidInputException"


def test_batch_grant_and_revoke_answer_each_entry(aws: Any) -> None:
    """BatchGrantPermissions applies every entry; BatchRevokePermissions reports the entry that
    revokes nothing in Failures (InvalidInputException) and still applies the others, as AWS."""
    database = "batch_fidelity"
    aws("glue").create_database(DatabaseInput={"Name": database})
    lakeformation = aws("lakeformation")
    all_tables = {"Table": {"DatabaseName": database, "TableWildcard": {}}}
    on_database = {"Database": {"Name": database}}
    answer = lakeformation.batch_grant_permissions(
        Entries=[
            {"Id": "0", "Principal": PRINCIPAL, "Resource": all_tables, "Permissions": ["SELECT"]},
            {"Id": "1", "Principal": PRINCIPAL, "Resource": on_database, "Permissions": ["DESCRIBE"]},
        ]
    )
    assert answer["Failures"] == []
    listed = lakeformation.list_permissions(Principal=PRINCIPAL, Resource=all_tables)
    assert [p["Permissions"] for p in listed["PrincipalResourcePermissions"]] == [["SELECT"]]
    answer = lakeformation.batch_revoke_permissions(
        Entries=[
            {"Id": "a", "Principal": PRINCIPAL, "Resource": all_tables, "Permissions": ["SELECT"]},
            {"Id": "b", "Principal": PRINCIPAL, "Resource": all_tables, "Permissions": ["INSERT"]},
        ]
    )
    assert [(f["RequestEntry"]["Id"], f["Error"]["ErrorCode"]) for f in answer["Failures"]] == [
        ("b", "InvalidInputException")
    ]
    assert (
        lakeformation.list_permissions(Principal=PRINCIPAL, Resource=all_tables)[
            "PrincipalResourcePermissions"
        ]
        == []
    )
    assert lakeformation.list_permissions(Principal=PRINCIPAL, Resource=on_database)[
        "PrincipalResourcePermissions"
    ]


def test_batch_grant_takes_at_most_twenty_entries_with_unique_ids(aws: Any) -> None:
    lakeformation = aws("lakeformation")
    entry = {"Principal": PRINCIPAL, "Resource": {"Catalog": {}}, "Permissions": ["CREATE_DATABASE"]}
    for entries in (
        [{**entry, "Id": str(i)} for i in range(21)],
        [{**entry, "Id": "same"}, {**entry, "Id": "same"}],
    ):
        with pytest.raises(ClientError) as excinfo:
            lakeformation.batch_grant_permissions(Entries=entries)
        assert excinfo.value.response["Error"]["Code"] == "InvalidInputException"
