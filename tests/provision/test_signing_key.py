"""The token-signing key in Secrets Manager."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nexuskit.provision import ResourceState

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
    states = [s for s in second_run if s.type == "secretsmanager.secret"]
    assert states == [ResourceState("secretsmanager.secret", SECRET, "exists", "RS256 signing key")]
