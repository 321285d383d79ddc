"""The token-signing key: an RSA-2048 key in Secrets Manager, generated once, never replaced.

The secret holds JSON::

    {"active_kid": KID,
     "keys": [{"kid": KID, "alg": "RS256", "private_key_pem": "...", "created_at": ISO8601}]}

``kid`` is the first 16 hex digits of the SHA-256 of the public key (DER, SubjectPublicKeyInfo),
so a verifier can derive it from the public key alone. Rotation appends a key and moves
``active_kid``; provisioning never does either.

The secret carries a resource policy (:func:`~nexuskit.provision.policies.signing_key_resource_policy`)
that denies ``GetSecretValue`` to everyone but the auth Lambda's execution role and the
key's admins, and writes to everyone but the admins. The admins are
``token_signing_key_admins``, or else the identity that provisions (the role, not its STS
session), as Terraform takes ``aws_iam_session_context``'s issuer. A policy that drifted
is put back and reported ``updated``.
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
from nexuskit.provision.identity import canonical_policy
from nexuskit.provision.policies import signing_key_resource_policy
from nexuskit.provision.resources import CREATED, EXISTS, UPDATED, ResourceState, present
from nexuskit.provision.storage import iam_principal

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


def signing_key_admins(ctx: ProvisionContext, admin_arn: str | None = None) -> list[str]:
    """``token_signing_key_admins``, else the provisioning identity as an IAM principal ARN."""
    configured = list(ctx.spec.params.token_signing_key_admins)
    if configured:
        return configured
    arn = admin_arn or ctx.caller_arn
    principal = iam_principal(arn)
    if principal != arn:  # an STS session: the role's own ARN carries its path
        role_name = principal.rsplit("/", 1)[-1]
        try:
            principal = str(ctx.client("iam").get_role(RoleName=role_name)["Role"]["Arn"])
        except ClientError as exc:
            log.info("role of %s not readable (%s); using %s", arn, error_code(exc), principal)
    return [principal]


def _resource_policy(ctx: ProvisionContext, name: str, admins: list[str], new: bool = False) -> bool:
    """Put the key's resource policy on the secret; True when it had to be (re)written
    (``new``: the secret was created a moment ago, so it has none yet)."""
    secrets = ctx.client("secretsmanager")
    wanted = signing_key_resource_policy(ctx.spec, ctx.account_id, admins)
    current = None if new else secrets.get_resource_policy(SecretId=name).get("ResourcePolicy")
    if current and canonical_policy(current) == canonical_policy(wanted):
        return False
    secrets.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(wanted), BlockPublicPolicy=True)
    return True


def provision_signing_key(ctx: ProvisionContext, admin_arn: str | None = None) -> list[ResourceState]:
    secrets = ctx.client("secretsmanager")
    name = ctx.spec.token_signing_secret
    admins = signing_key_admins(ctx, admin_arn)
    detail = f"RS256 signing key; read by the auth Lambda's role and {', '.join(admins)} only"
    with aws_call(SECRET_TYPE, name):
        current = _describe(secrets, name)
        if current is None:
            secrets.create_secret(
                Name=name,
                Description=f"Signing key set of the bearer tokens issued by {ctx.spec.auth_function}",
                SecretString=json.dumps(new_signing_key_document()),
                Tags=tag_list(ctx.tags),
            )
            _resource_policy(ctx, name, admins, new=True)
            log.info("created secret %s", name)
            return [ResourceState(SECRET_TYPE, name, CREATED, detail)]
        fixed = []
        if current.get("DeletedDate"):
            secrets.restore_secret(SecretId=name)
            log.info("restored secret %s (it was scheduled for deletion)", name)
            fixed.append("restored")
        if _resource_policy(ctx, name, admins):
            log.info("put the resource policy back on secret %s", name)
            fixed.append("fixed resource policy")
    if fixed:
        return [ResourceState(SECRET_TYPE, name, UPDATED, f"{detail}; {', '.join(fixed)}")]
    return [ResourceState(SECRET_TYPE, name, EXISTS, detail)]


def inventory_signing_key(ctx: ProvisionContext) -> list[ResourceState]:
    name = ctx.spec.token_signing_secret
    with aws_call(SECRET_TYPE, name):
        secrets = ctx.client("secretsmanager")
        current = _describe(secrets, name)
        found = current is not None and not current.get("DeletedDate")
        guarded = found and bool(secrets.get_resource_policy(SecretId=name).get("ResourcePolicy"))
    detail = "RS256 signing key"
    if found and not guarded:
        detail += "; NO resource policy (run `nexuskit up`)"
    return [present(SECRET_TYPE, name, found, detail)]
