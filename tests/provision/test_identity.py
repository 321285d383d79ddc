"""IAM roles, their trust and policy documents, and the EKS OIDC provider (spec §2.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexuskit.params import StackSpec

pytestmark = pytest.mark.usefixtures("first_run")
Aws = Callable[[str], Any]
ROLES = [
    "nexus-dev-agent-irsa",
    "nexus-dev-aws-mcp-irsa",
    "nexus-dev-ui-irsa",
    "nexus-dev-auth-lambda-exec",
    "nexus-dev-kinesis-bearer",
    "nexus-dev-firehose",
    "nexus-dev-eks-cluster",
    "nexus-dev-eks-nodes",
]


def _role(aws: Aws, name: str) -> dict[str, Any]:
    return dict(aws("iam").get_role(RoleName=name)["Role"])


def _policy(aws: Aws, role: str) -> dict[str, Any]:
    found = aws("iam").get_role_policy(RoleName=role, PolicyName=f"{role}-policy")
    return dict(found["PolicyDocument"])


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def _resources(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        resource = statement["Resource"]
        found.update([resource] if isinstance(resource, str) else resource)
    return found


def test_every_role_exists(aws: Aws) -> None:
    """The seven roles of the stack exist under their exact names."""
    listed = {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}
    assert set(ROLES) <= listed


def test_bearer_role_trusts_only_the_lambda_execution_role(aws: Aws, account_id: str) -> None:
    """The bearer role's trust names the Lambda execution role ARN as its one principal."""
    trust = _role(aws, "nexus-dev-kinesis-bearer")["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:role/nexus-dev-auth-lambda-exec"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }
    ]


def test_bearer_sessions_last_at_most_one_hour(aws: Aws) -> None:
    """The bearer role caps sessions at 3600 s (tokens live 15-60 min)."""
    assert _role(aws, "nexus-dev-kinesis-bearer")["MaxSessionDuration"] == 3600


def test_bearer_policy_names_only_the_client_resources(aws: Aws, account_id: str) -> None:
    """The bearer policy reaches the client data stream, video stream and Firehose, nothing else."""
    document = _policy(aws, "nexus-dev-kinesis-bearer")
    assert _resources(document) == {
        f"arn:aws:kinesis:us-west-2:{account_id}:stream/nexus-dev-client-intake",
        f"arn:aws:kinesisvideo:us-west-2:{account_id}:stream/nexus-dev-client-telemetry/*",
        f"arn:aws:firehose:us-west-2:{account_id}:deliverystream/nexus-dev-client-to-lake",
    }
    statements = _statements(document)
    assert set(statements["ClientStream"]["Action"]) == {
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListShards",
    }
    assert set(statements["ClientVideoStream"]["Action"]) == {
        "kinesisvideo:PutMedia",
        "kinesisvideo:GetDataEndpoint",
        "kinesisvideo:DescribeStream",
    }
    assert set(statements["ClientFirehose"]["Action"]) == {
        "firehose:PutRecord",
        "firehose:PutRecordBatch",
    }


def test_lambda_role_reads_the_signing_key_and_assumes_the_bearer_role(aws: Aws, account_id: str) -> None:
    """Lambda exec: trusted by Lambda; logs, GetSecretValue on the key, AssumeRole on bearer."""
    trust = _role(aws, "nexus-dev-auth-lambda-exec")["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    statements = _statements(_policy(aws, "nexus-dev-auth-lambda-exec"))
    assert "secretsmanager:GetSecretValue" in statements["SigningKey"]["Action"]
    assert statements["SigningKey"]["Resource"] == (
        f"arn:aws:secretsmanager:us-west-2:{account_id}:secret:nexus-dev/token-signing-key-??????"
    )
    assert set(statements["AssumeBearer"]["Action"]) == {
        "sts:AssumeRole",
        "sts:TagSession",
        "sts:SetSourceIdentity",
    }
    assert statements["AssumeBearer"]["Resource"] == (
        f"arn:aws:iam::{account_id}:role/nexus-dev-kinesis-bearer"
    )
    assert (
        f"arn:aws:logs:us-west-2:{account_id}:log-group:/aws/lambda/nexus-dev-auth"
        in (statements["Logs"]["Resource"])
    )


def test_firehose_role_reads_both_streams_and_writes_bronze(aws: Aws, account_id: str) -> None:
    """Firehose role: trusted by Firehose; reads both streams, writes bronze, puts logs."""
    trust = _role(aws, "nexus-dev-firehose")["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "firehose.amazonaws.com"}
    statements = _statements(_policy(aws, "nexus-dev-firehose"))
    assert set(statements["ReadStreams"]["Resource"]) == {
        f"arn:aws:kinesis:us-west-2:{account_id}:stream/nexus-dev-intake",
        f"arn:aws:kinesis:us-west-2:{account_id}:stream/nexus-dev-client-intake",
    }
    assert "kinesis:GetRecords" in statements["ReadStreams"]["Action"]
    assert set(statements["WriteBronze"]["Resource"]) == {
        "arn:aws:s3:::nexus-dev-bronze-us-west-2",
        "arn:aws:s3:::nexus-dev-bronze-us-west-2/*",
    }
    assert {"s3:PutObject", "s3:ListBucket"} <= set(statements["WriteBronze"]["Action"])
    assert statements["DeliveryLogs"]["Action"] == ["logs:PutLogEvents"]


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("nexus-dev-agent-irsa", "system:serviceaccount:nexus-agent-core:agent-orchestrator"),
        ("nexus-dev-aws-mcp-irsa", "system:serviceaccount:nexus-mcp:aws-mcp"),
        ("nexus-dev-ui-irsa", "system:serviceaccount:nexus-agent-core:nexus-ui"),
    ],
)
def test_irsa_role_trusts_its_service_account_through_the_oidc_provider(
    aws: Aws, role: str, subject: str
) -> None:
    """IRSA trust: the cluster's OIDC provider, for one service account, audience STS."""
    providers = aws("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    (statement,) = _role(aws, role)["AssumeRolePolicyDocument"]["Statement"]
    federated = statement["Principal"]["Federated"]
    assert federated in {p["Arn"] for p in providers}
    host = federated.split("oidc-provider/", 1)[1]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:sub": subject,
        f"{host}:aud": "sts.amazonaws.com",
    }


def test_oidc_provider_is_an_eks_issuer_with_sts_audience(aws: Aws, spec: StackSpec) -> None:
    """One OIDC provider oidc.eks.us-west-2.amazonaws.com/id/<32 hex>, audience sts."""
    iam = aws("iam")
    trust = _role(aws, "nexus-dev-agent-irsa")["AssumeRolePolicyDocument"]
    arn = trust["Statement"][0]["Principal"]["Federated"]
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    host = arn.split("oidc-provider/", 1)[1]
    prefix, _, digest = host.rpartition("/")
    assert prefix == "oidc.eks.us-west-2.amazonaws.com/id"
    assert len(digest) == 32
    int(digest, 16)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


def test_agent_policy_covers_bedrock_streams_firehose_and_lake(aws: Aws, account_id: str) -> None:
    """Agent IRSA: the configured Bedrock models, both streams, both Firehoses, four buckets."""
    document = _policy(aws, "nexus-dev-agent-irsa")
    resources = _resources(document)
    assert "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0" in resources
    assert f"arn:aws:kinesis:us-west-2:{account_id}:stream/nexus-dev-intake" in resources
    assert f"arn:aws:firehose:us-west-2:{account_id}:deliverystream/nexus-dev-to-lake" in resources
    for tier in ("bronze", "silver", "gold", "vibranium"):
        assert f"arn:aws:s3:::nexus-dev-{tier}-us-west-2/*" in resources


def test_eks_roles_trust_eks_and_ec2(aws: Aws) -> None:
    """The cluster role is assumed by EKS, the node role by EC2."""
    cluster = _role(aws, "nexus-dev-eks-cluster")["AssumeRolePolicyDocument"]
    nodes = _role(aws, "nexus-dev-eks-nodes")["AssumeRolePolicyDocument"]
    assert cluster["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}
    assert nodes["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
