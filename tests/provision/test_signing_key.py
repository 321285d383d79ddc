"""The token-signing key in Secrets Manager, and the resource policy that keeps it the auth
Lambda's (issue 22)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nexuskit.aws import AwsTarget
from nexuskit.params import StackSpec
from nexuskit.provision.identity import canonical_policy
from nexuskit.provision.policies import signing_key_resource_policy
from nexuskit.provision.provisioner import inventory, provision
from nexuskit.provision.resources import ResourceState

Aws = Callable[[str], Any]
SECRET = "nexus-dev/token-signing-key"


def _key_set(aws: Aws) -> dict[str, Any]:
    return dict(json.loads(aws("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"]))


def test_secret_holds_one_active_rs256_key(aws: Aws, first_run: list[ResourceState]) -> None:
    """The secret is JSON with active_kid naming its single RS256 key."""
    key_set = _key_set(aws)
    (key,) = key_set["keys"]
    assert key_set["active_kid"] == key["kid"]
    assert key["alg"] == "RS256"
    assert datetime.fromisoformat(key["created_at"]).tzinfo is not None


def test_private_key_loads_and_matches_its_kid(aws: Aws, first_run: list[ResourceState]) -> None:
    """The PEM loads as an RSA-2048 key; kid = first 16 hex of SHA-256(public DER)."""
    (key,) = _key_set(aws)["keys"]
    private = serialization.load_pem_private_key(key["private_key_pem"].encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key["kid"] == hashlib.sha256(der).hexdigest()[:16]


def test_second_run_keeps_the_key(
    aws: Aws, first_run: list[ResourceState], second_run: list[ResourceState]
) -> None:
    """Provisioning again never regenerates the key: same kid, one secret version."""
    (key,) = _key_set(aws)["keys"]
    versions = aws("secretsmanager").list_secret_version_ids(SecretId=SECRET)["Versions"]
    assert len(versions) == 1
    assert key["kid"] == _key_set(aws)["active_kid"]
    (state,) = [s for s in second_run if s.type == "secretsmanager.secret"]
    assert (state.name, state.state) == (SECRET, "exists")
    assert state.detail.startswith("RS256 signing key; read by the auth Lambda's role and ")


def _policy(aws: Aws, secret: str) -> Any:
    return canonical_policy(aws("secretsmanager").get_resource_policy(SecretId=secret)["ResourcePolicy"])


def test_secret_carries_the_policy_that_keeps_the_key_to_the_lambda(
    aws: Aws, spec: StackSpec, account_id: str, first_run: list[ResourceState]
) -> None:
    """The secret's resource policy denies reading to all but the Lambda role and the
    provisioning identity, and writing to all but that identity."""
    caller = str(aws("sts").get_caller_identity()["Arn"])
    expected = signing_key_resource_policy(spec, account_id, [caller])
    assert _policy(aws, SECRET) == canonical_policy(expected)
    read, write = expected["Statement"]
    assert read["Effect"] == write["Effect"] == "Deny"
    assert read["Condition"]["ArnNotEquals"]["aws:PrincipalArn"][0].endswith(
        ":role/nexus-dev-auth-lambda-exec"
    )


def test_a_removed_resource_policy_is_put_back(
    aws: Aws, make_spec: Callable[..., StackSpec], target: AwsTarget
) -> None:
    """Provisioning again after someone deleted the policy writes it back, reported updated."""
    spec = make_spec(environment="keypolicy", enable_eks=False)
    provision(spec, target)
    aws("secretsmanager").delete_resource_policy(SecretId=spec.token_signing_secret)
    (state,) = [s for s in provision(spec, target) if s.type == "secretsmanager.secret"]
    assert state.state == "updated" and state.detail.endswith("fixed resource policy")
    assert "OnlyTheAuthFunctionReadsTheKey" in json.dumps(_policy(aws, spec.token_signing_secret))


def test_configured_admins_replace_the_provisioning_identity(
    aws: Aws, make_spec: Callable[..., StackSpec], target: AwsTarget, account_id: str
) -> None:
    """token_signing_key_admins are the only principals besides the Lambda role."""
    admin = f"arn:aws:iam::{account_id}:role/key-custodian"
    spec = make_spec(environment="keyadmins", enable_eks=False, token_signing_key_admins=[admin])
    provision(spec, target)
    _read, write = json.loads(
        aws("secretsmanager").get_resource_policy(SecretId=spec.token_signing_secret)["ResourcePolicy"]
    )["Statement"]
    assert write["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [admin]


def test_inventory_says_when_the_policy_is_missing(
    aws: Aws, make_spec: Callable[..., StackSpec], target: AwsTarget
) -> None:
    """A secret without its resource policy is listed with a detail that says so."""
    spec = make_spec(environment="keybare", enable_eks=False)
    provision(spec, target)
    aws("secretsmanager").delete_resource_policy(SecretId=spec.token_signing_secret)
    (state,) = [s for s in inventory(spec, target) if s.type == "secretsmanager.secret"]
    assert "NO resource policy" in state.detail
