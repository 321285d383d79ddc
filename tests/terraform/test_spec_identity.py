"""Spec §2.2 identity: IRSA trust, and every role's permissions equal to nexuskit's.

nexuskit/provision/policies.py defines who may do what for the embedded engine (which
enforces it). The Terraform roles must grant the same statements: same Sids, same actions.
"""

from __future__ import annotations

import pytest
from conftest import module_config
from tfstatic import expression, literal, sid_actions, source, statements

from nexuskit.params import load_stack
from nexuskit.provision import policies

# StackSpec.roles key -> (module, aws_iam_policy_document name)
POLICY_DOCUMENTS = {
    "agent_irsa": ("irsa", "agent_irsa"),
    "aws_mcp_irsa": ("irsa", "aws_mcp_irsa"),
    "ui_irsa": ("irsa", "ui_irsa"),
    "lambda_exec": ("edge", "lambda_exec"),
    "kinesis_bearer": ("edge", "kinesis_bearer"),
    "firehose": ("streaming", "firehose"),
}
IRSA_ROLES = {
    "agent_irsa": "system:serviceaccount:nexus-agent-core:agent-orchestrator",
    "aws_mcp_irsa": "system:serviceaccount:nexus-mcp:aws-mcp",
    "ui_irsa": "system:serviceaccount:nexus-agent-core:nexus-ui",
}


def _document(module: str, name: str) -> dict:
    return module_config(module).data_source("aws_iam_policy_document", name)


def _conditions(statement: dict) -> dict[str, tuple[str, list[str]]]:
    return {
        source(c["variable"]): (literal(c["test"]), [source(v) for v in c["values"]])
        for c in statement.get("condition", [])
    }


@pytest.mark.parametrize("role", sorted(POLICY_DOCUMENTS))
def test_role_permissions_match_nexuskit(env: str, role: str) -> None:
    """The role's policy document has nexuskit's Sids with nexuskit's actions."""
    expected_doc = policies.role_policy(load_stack(env=env), "123456789012", role)
    assert expected_doc is not None
    expected = {
        s["Sid"]: sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        for s in expected_doc["Statement"]
    }
    assert sid_actions(_document(*POLICY_DOCUMENTS[role])) == expected


def test_role_policies_attach_to_their_role() -> None:
    """Each inline policy is named ROLE-policy (as nexuskit names it) and uses its document."""
    for role, (module, document) in POLICY_DOCUMENTS.items():
        attachment = module_config(module).resource("aws_iam_role_policy", role)
        assert expression(attachment["role"]) == f"aws_iam_role.{role}.id"
        assert expression(attachment["policy"]) == f"data.aws_iam_policy_document.{document}.json"
        assert literal(attachment["name"]) == f"${{aws_iam_role.{role}.name}}-policy"


def test_eks_roles_have_nexuskit_managed_policies() -> None:
    """eks_cluster and eks_nodes get the AWS managed policies nexuskit lists, and only them."""
    eks = module_config("eks")
    spec = load_stack(env="prod")
    for role, local_name in (
        ("eks_cluster", "cluster_managed_policies"),
        ("eks_nodes", "node_managed_policies"),
    ):
        expected = [arn.rsplit("/", 1)[1] for arn in policies.managed_policy_arns(spec, role)]
        assert [literal(p) for p in eks.locals[local_name]] == expected


@pytest.mark.parametrize("role", sorted(IRSA_ROLES))
def test_irsa_role_trusts_only_its_service_account(role: str) -> None:
    """Web identity from the cluster's OIDC provider, sub = the service account, aud = sts."""
    (statement,) = statements(_document("irsa", f"{role}_trust"))
    assert [literal(a) for a in statement["actions"]] == ["sts:AssumeRoleWithWebIdentity"]
    principal = statement["principals"][0]
    assert literal(principal["type"]) == "Federated"
    assert [expression(i) for i in principal["identifiers"]] == ["aws_iam_openid_connect_provider.eks.arn"]
    assert _conditions(statement) == {
        "${local.oidc_host}:sub": ("StringEquals", [IRSA_ROLES[role]]),
        "${local.oidc_host}:aud": ("StringEquals", ["sts.amazonaws.com"]),
    }


def test_oidc_provider_audience_is_sts() -> None:
    """The OIDC provider is the cluster's issuer with client ID sts.amazonaws.com."""
    irsa = module_config("irsa")
    provider = irsa.resource("aws_iam_openid_connect_provider", "eks")
    assert expression(provider["url"]) == "var.oidc_issuer_url"
    assert [expression(c) for c in provider["client_id_list"]] == ["local.oidc_audience"]
    assert literal(irsa.locals["oidc_audience"]) == policies.OIDC_AUDIENCE
    assert expression(irsa.locals["oidc_host"]) == 'replace(var.oidc_issuer_url, "https://", "")'


def test_bearer_role_trusts_the_lambda_role_only() -> None:
    """The bearer role trusts the auth Lambda's role for AssumeRole, TagSession, SetSourceIdentity."""
    (statement,) = statements(_document("edge", "kinesis_bearer_trust"))
    assert sorted(literal(a) for a in statement["actions"]) == sorted(policies.BEARER_TRUST_ACTIONS)
    principal = statement["principals"][0]
    assert literal(principal["type"]) == "AWS"
    assert [expression(i) for i in principal["identifiers"]] == ["aws_iam_role.lambda_exec.arn"]


def test_bearer_role_reaches_only_client_resources() -> None:
    """Every resource of the bearer policy is the client stream, video stream or Firehose."""
    resources = set()
    for statement in statements(_document("edge", "kinesis_bearer")):
        resources.update(expression(r) for r in statement["resources"])
    assert resources == {"var.client_stream.arn", "statement.value", "var.client_firehose.arn"}
    video = module_config("edge").data_source("aws_iam_policy_document", "kinesis_bearer")
    dynamic = video["dynamic"][0]["statement"]
    assert expression(dynamic["for_each"]) == (
        "var.client_video_stream == null ? [] : [var.client_video_stream.arn]"
    )


def test_bearer_role_gets_client_resources_from_streaming(platform) -> None:
    """The stack wires the client (never the primary) stream, video stream and Firehose."""
    edge = platform.module("edge")
    assert expression(edge["client_stream"]) == "module.streaming.client_stream"
    assert expression(edge["client_video_stream"]) == "module.streaming.client_telemetry_video_stream"
    assert expression(edge["client_firehose"]) == "module.streaming.client_firehose"


def test_ui_role_reaches_only_the_streams_deliveries_and_video_streams() -> None:
    """The UI role's statements name the two data streams, the two deliveries and (when video
    streams are on) the two video streams: nothing in the lake, no Bedrock."""
    document = _document("irsa", "ui_irsa")
    resources = {literal(s["sid"]): expression(s["resources"]) for s in document["statement"]}
    assert resources == {"ReadStreams": "var.stream_arns", "DescribeDeliveries": "var.firehose_arns"}
    dynamic = document["dynamic"][0]["statement"]
    assert expression(dynamic["for_each"]) == (
        "length(var.video_stream_arns) > 0 ? [var.video_stream_arns] : []"
    )
    assert expression(dynamic["content"][0]["resources"]) == "statement.value"


def test_ui_role_gets_the_video_streams_from_streaming(platform) -> None:
    """The stack passes both video streams' ARNs (none when they are off) to the irsa module."""
    assert expression(platform.module("irsa")["video_stream_arns"]) == "local.video_stream_arns"
    wired = expression(platform.locals["video_stream_arns"])
    assert "module.streaming.telemetry_video_stream" in wired
    assert "module.streaming.client_telemetry_video_stream" in wired
    assert "!= null" in wired


def test_firehose_role_is_guarded_by_external_id() -> None:
    """Only Firehose acting for this account may assume the Firehose role."""
    (statement,) = statements(_document("streaming", "firehose_trust"))
    assert [literal(i) for i in statement["principals"][0]["identifiers"]] == ["firehose.amazonaws.com"]
    assert _conditions(statement) == {
        "sts:ExternalId": ("StringEquals", ["${data.aws_caller_identity.current.account_id}"])
    }
