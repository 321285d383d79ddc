"""IAM and STS as the Terraform AWS provider uses them: AWS managed policies exist, and
GetCallerIdentity names the caller."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from tests.emulation.aws_provider.support import ACCOUNT, allow_all, trust

EKS_CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"


def test_aws_managed_policies_attach_and_describe(aws: Any) -> None:
    """AttachRolePolicy of AmazonEKSClusterPolicy works; GetPolicy and its version describe it."""
    iam = aws("iam")
    iam.create_role(
        RoleName="eks-cluster-fidelity", AssumeRolePolicyDocument=trust({"Service": "eks.amazonaws.com"})
    )
    iam.attach_role_policy(RoleName="eks-cluster-fidelity", PolicyArn=EKS_CLUSTER_POLICY)
    policy = iam.get_policy(PolicyArn=EKS_CLUSTER_POLICY)["Policy"]
    assert (policy["PolicyName"], policy["Path"], policy["AttachmentCount"]) == (
        "AmazonEKSClusterPolicy",
        "/",
        1,
    )
    version = iam.get_policy_version(PolicyArn=EKS_CLUSTER_POLICY, VersionId=policy["DefaultVersionId"])
    statements = version["PolicyVersion"]["Document"]["Statement"]
    assert any("ec2:DescribeSubnets" in s.get("Action", []) for s in statements)
    attached = iam.list_attached_role_policies(RoleName="eks-cluster-fidelity")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonEKSClusterPolicy", "PolicyArn": EKS_CLUSTER_POLICY}]


def test_aws_managed_policies_under_a_path(aws: Any) -> None:
    """A policy under a path (service-role/) attaches by its full ARN."""
    iam = aws("iam")
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.create_role(
        RoleName="lambda-fidelity", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"})
    )
    iam.attach_role_policy(RoleName="lambda-fidelity", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Path"] == "/service-role/"


def test_an_aws_policy_that_does_not_exist_is_no_such_entity(aws: Any) -> None:
    """A made-up AWS managed policy is still NoSuchEntity, as in AWS."""
    iam = aws("iam")
    iam.create_role(
        RoleName="nothing-fidelity", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"})
    )
    with pytest.raises(ClientError) as excinfo:
        iam.attach_role_policy(
            RoleName="nothing-fidelity", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAtAll"
        )
    assert excinfo.value.response["Error"]["Code"] == "NoSuchEntity"


def test_list_policies_scope_aws_lists_aws_managed_policies(aws: Any) -> None:
    """ListPolicies(Scope=AWS) lists AWS's managed policies, as every account sees them."""
    pages = aws("iam").get_paginator("list_policies").paginate(Scope="AWS")
    names = {p["PolicyName"] for page in pages for p in page["Policies"]}
    assert {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    } <= names
    assert len(names) > 1000


def test_an_aws_managed_policy_grants_what_it_says(admin: AwsTarget, aws: Any) -> None:
    """A role session with AmazonKinesisReadOnlyAccess lists streams but may not create one."""
    iam = aws("iam")
    role = iam.create_role(
        RoleName="kinesis-reader-fidelity",
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
    )
    iam.attach_role_policy(
        RoleName="kinesis-reader-fidelity", PolicyArn="arn:aws:iam::aws:policy/AmazonKinesisReadOnlyAccess"
    )
    credentials = aws("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="reader")["Credentials"]
    session = admin.with_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    kinesis = session.client("kinesis", max_attempts=1)
    assert "StreamNames" in kinesis.list_streams()
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName="not-allowed", ShardCount=1)
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"


def test_caller_identity_of_the_admin_is_an_iam_user(aws: Any) -> None:
    """The bootstrap admin is told it is the IAM user nexuskit-admin, not moto's user/moto."""
    identity = aws("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/nexuskit-admin"
    assert identity["Account"] == ACCOUNT and identity["UserId"].startswith("AIDA")


def test_get_user_of_the_admin_names_the_same_user(aws: Any) -> None:
    """IAM GetUser without a name (the provider's account lookup) answers the admin user."""
    user = aws("iam").get_user()["User"]
    identity = aws("sts").get_caller_identity()
    assert user["UserName"] == "nexuskit-admin"
    assert (user["Arn"], user["UserId"]) == (identity["Arn"], identity["UserId"])


def test_caller_identity_of_an_admin_session_is_the_admin(admin: AwsTarget, aws: Any) -> None:
    """Credentials from the admin's GetSessionToken name the same user."""
    credentials = aws("sts").get_session_token(DurationSeconds=900)["Credentials"]
    session = admin.with_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    assert session.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/nexuskit-admin"


def test_caller_identity_of_an_iam_user(admin: AwsTarget, aws: Any) -> None:
    """An IAM user's keys are told the user's ARN and id."""
    iam = aws("iam")
    user = iam.create_user(UserName="operator-fidelity")["User"]
    iam.put_user_policy(
        UserName="operator-fidelity", PolicyName="whoami", PolicyDocument=allow_all("sts:GetCallerIdentity")
    )
    key = iam.create_access_key(UserName="operator-fidelity")["AccessKey"]
    identity = (
        admin.with_credentials(key["AccessKeyId"], key["SecretAccessKey"]).client("sts").get_caller_identity()
    )
    assert (identity["Arn"], identity["UserId"]) == (user["Arn"], user["UserId"])


def test_caller_identity_of_a_role_session(admin: AwsTarget, aws: Any) -> None:
    """An assumed-role session is told its assumed-role ARN."""
    role = aws("iam").create_role(
        RoleName="whoami-fidelity", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    )["Role"]
    credentials = aws("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="terraform")["Credentials"]
    session = admin.with_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/whoami-fidelity/terraform"
    assert identity["UserId"] == f"{role['RoleId']}:terraform"
