"""The policy documents as pure functions of the spec and an account (no AWS calls)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nexuskit.params import StackSpec
from nexuskit.provision.policies import (
    ROLE_KEYS,
    oidc_issuer_host,
    role_definitions,
    role_policy,
    trust_policy,
)

ACCOUNT = "210987654321"
# Actions AWS grants on "*" only (no resource-level permissions).
STAR_ONLY = {
    "bedrock:ListFoundationModels",
    "bedrock:GetFoundationModel",
    "s3:ListAllMyBuckets",
    "glue:GetJobs",
    "glue:ListJobs",
}


def test_documents_are_deterministic_and_json(spec: StackSpec) -> None:
    """The same spec and account give byte-identical JSON documents."""
    first = [json.dumps(r.policy, sort_keys=True) for r in role_definitions(spec, ACCOUNT)]
    again = [json.dumps(r.policy, sort_keys=True) for r in role_definitions(spec, ACCOUNT)]
    assert first == again


def test_star_resources_only_where_aws_has_no_resource_level_permission(spec: StackSpec) -> None:
    """Every statement names real ARNs in the account, except the list-only actions."""
    for key in ROLE_KEYS:
        document = role_policy(spec, ACCOUNT, key)
        for statement in (document or {"Statement": []})["Statement"]:
            resources = statement["Resource"]
            resources = [resources] if isinstance(resources, str) else resources
            if "*" in resources:
                assert set(statement["Action"]) <= STAR_ONLY, (key, statement)
                continue
            for arn in resources:
                assert arn.startswith("arn:aws:"), arn
                assert ACCOUNT in arn or ":s3:::" in arn or "foundation-model" in arn, arn


def test_bearer_policy_follows_the_account_and_prefix(make_spec: Callable[..., StackSpec]) -> None:
    """Another environment and account give ARNs with that prefix and account."""
    other = make_spec(environment="stage")
    document = role_policy(other, ACCOUNT, "kinesis_bearer")
    assert document is not None
    resources = {s["Resource"] for s in document["Statement"]}
    assert f"arn:aws:kinesis:us-west-2:{ACCOUNT}:stream/nexus-stage-client-intake" in resources


def test_bearer_policy_drops_video_when_video_streams_are_off(
    make_spec: Callable[..., StackSpec],
) -> None:
    """Without video streams, the bearer role gets no Kinesis Video statement."""
    document = role_policy(make_spec(enable_video_streams=False), ACCOUNT, "kinesis_bearer")
    assert document is not None
    assert [s["Sid"] for s in document["Statement"]] == ["ClientStream", "ClientFirehose"]


def test_oidc_issuer_is_stable_per_prefix(spec: StackSpec, make_spec: Callable[..., StackSpec]) -> None:
    """The issuer host depends on the prefix only: same prefix, same host; other, other."""
    assert oidc_issuer_host(spec) == oidc_issuer_host(make_spec())
    assert oidc_issuer_host(spec) != oidc_issuer_host(make_spec(environment="stage"))


def test_irsa_trust_conditions_use_the_issuer_host(spec: StackSpec) -> None:
    """The sub/aud conditions are keyed by the issuer host, as IAM requires."""
    host = oidc_issuer_host(spec)
    trust = trust_policy(spec, ACCOUNT, "aws_mcp_irsa")
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        f"{host}:sub": "system:serviceaccount:nexus-mcp:aws-mcp",
        f"{host}:aud": "sts.amazonaws.com",
    }


def _actions(document: dict[str, Any] | None) -> dict[str, tuple[set[str], set[str]]]:
    """Sid -> (actions, resources) of a policy document."""
    assert document is not None
    found = {}
    for statement in document["Statement"]:
        resources = statement["Resource"]
        found[statement["Sid"]] = (
            set(statement["Action"]),
            {resources} if isinstance(resources, str) else set(resources),
        )
    return found


def test_ui_role_only_reads_the_streams_and_describes_deliveries_and_video(spec: StackSpec) -> None:
    """ui_irsa: read the two data streams, describe the two deliveries and two video streams; no more."""
    arn = f"arn:aws:{{}}:us-west-2:{ACCOUNT}:{{}}"
    assert _actions(role_policy(spec, ACCOUNT, "ui_irsa")) == {
        "ReadStreams": (
            {
                "kinesis:DescribeStreamSummary",
                "kinesis:ListShards",
                "kinesis:GetShardIterator",
                "kinesis:GetRecords",
            },
            {
                arn.format("kinesis", "stream/nexus-dev-intake"),
                arn.format("kinesis", "stream/nexus-dev-client-intake"),
            },
        ),
        "DescribeDeliveries": (
            {"firehose:DescribeDeliveryStream"},
            {
                arn.format("firehose", "deliverystream/nexus-dev-to-lake"),
                arn.format("firehose", "deliverystream/nexus-dev-client-to-lake"),
            },
        ),
        "DescribeVideoStreams": (
            {"kinesisvideo:DescribeStream"},
            {
                arn.format("kinesisvideo", "stream/nexus-dev-telemetry/*"),
                arn.format("kinesisvideo", "stream/nexus-dev-client-telemetry/*"),
            },
        ),
    }


def test_ui_role_drops_video_when_video_streams_are_off(make_spec: Callable[..., StackSpec]) -> None:
    """Without video streams, the UI role gets no Kinesis Video statement."""
    document = role_policy(make_spec(enable_video_streams=False), ACCOUNT, "ui_irsa")
    assert list(_actions(document)) == ["ReadStreams", "DescribeDeliveries"]


def test_ui_role_trusts_only_the_nexus_ui_service_account(spec: StackSpec) -> None:
    """ui_irsa is assumed by web identity of nexus-agent-core/nexus-ui, not agent-orchestrator."""
    host = oidc_issuer_host(spec)
    (statement,) = trust_policy(spec, ACCOUNT, "ui_irsa")["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:sub": "system:serviceaccount:nexus-agent-core:nexus-ui",
        f"{host}:aud": "sts.amazonaws.com",
    }


def test_aws_mcp_may_read_the_lake_buckets_versioning(spec: StackSpec) -> None:
    """aws-mcp's lake_inventory reads each tier's versioning; the agent role does not need it."""
    buckets = {f"arn:aws:s3:::{b}" for b in spec.buckets.values()}
    mcp_actions, mcp_resources = _actions(role_policy(spec, ACCOUNT, "aws_mcp_irsa"))["LakeBuckets"]
    assert "s3:GetBucketVersioning" in mcp_actions and mcp_resources == buckets
    agent_actions, _ = _actions(role_policy(spec, ACCOUNT, "agent_irsa"))["LakeBuckets"]
    assert "s3:GetBucketVersioning" not in agent_actions


def test_only_the_lambda_role_may_touch_secrets_manager(spec: StackSpec) -> None:
    """Of every role the stack makes (the Glue jobs' role included), only the auth Lambda's
    execution role is granted a Secrets Manager action, on the signing secret alone; no
    statement grants every action."""
    from nexuskit.lake.glue import job_role_policies

    documents = {r.key: r.policy for r in role_definitions(spec, ACCOUNT) if r.policy}
    documents["medallion_glue"] = job_role_policies(spec, ACCOUNT)[1]
    granted = []
    for key, document in documents.items():
        for statement in document["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert "*" not in actions and "secretsmanager:*" not in actions, (key, statement)
            if any(action.startswith("secretsmanager:") for action in actions):
                granted.append((key, statement["Sid"], statement["Resource"]))
    secret = f"arn:aws:secretsmanager:{spec.region}:{ACCOUNT}:secret:{spec.token_signing_secret}-??????"
    assert granted == [("lambda_exec", "SigningKey", secret)]
