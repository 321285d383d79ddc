"""The policy documents as pure functions of the spec and an account (no AWS calls)."""

from __future__ import annotations

import json
from collections.abc import Callable

from nexuskit.provision.policies import (
    ROLE_KEYS,
    oidc_issuer_host,
    role_definitions,
    role_policy,
    trust_policy,
)
from nexuskit.stack import StackSpec

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
