"""The token-signing key: an RSA-2048 key in Secrets Manager, generated once, never replaced.

The secret holds JSON::

    {"active_kid": KID,
     "keys": [{"kid": KID, "alg": "RS256", "private_key_pem": "...", "created_at": ISO8601}]}

``kid`` is the first 16 hex digits of the SHA-256 of the public key (DER, SubjectPublicKeyInfo),
so a verifier can derive it from the public key alone. Rotation appends a key and moves
``active_kid``; provisioning never does either.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nexuskit.provision.context import ProvisionContext, aws_call, error_code, tag_list
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present

log = logging.getLogger(__name__)

SECRET_TYPE = "secretsmanager.secret"
KEY_BITS = 2048


def key_id(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def new_signing_key_document(now: datetime | None = None) -> dict[str, Any]:
    """A fresh key set with one RS256 key, active."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    kid = key_id(private_key.public_key())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "active_kid": kid,
        "keys": [{"kid": kid, "alg": "RS256", "private_key_pem": pem, "created_at": created}],
    }


def _describe(secrets: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(secrets.describe_secret(SecretId=name))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def provision_signing_key(ctx: ProvisionContext) -> list[ResourceState]:
    secrets = ctx.client("secretsmanager")
    name = ctx.spec.token_signing_secret
    detail = "RS256 signing key"
    with aws_call(SECRET_TYPE, name):
        current = _describe(secrets, name)
        if current is None:
            secrets.create_secret(
                Name=name,
                Description="Signing keys for bearer tokens issued by the auth Lambda",
                SecretString=json.dumps(new_signing_key_document()),
                Tags=tag_list(ctx.tags),
            )
            log.info("created secret %s", name)
            return [ResourceState(SECRET_TYPE, name, CREATED, detail)]
        if current.get("DeletedDate"):
            secrets.restore_secret(SecretId=name)
            log.info("restored secret %s (it was scheduled for deletion)", name)
            return [ResourceState(SECRET_TYPE, name, UPDATED, f"{detail}; restored")]
    return [ResourceState(SECRET_TYPE, name, EXISTS, detail)]


def inventory_signing_key(ctx: ProvisionContext) -> list[ResourceState]:
    name = ctx.spec.token_signing_secret
    with aws_call(SECRET_TYPE, name):
        current = _describe(ctx.client("secretsmanager"), name)
    found = current is not None and not current.get("DeletedDate")
    return [present(SECRET_TYPE, name, found, "RS256 signing key")]
