"""IRSA for local pods: projected service-account tokens and STS web-identity credentials.

On EKS a pod whose ServiceAccount carries ``eks.amazonaws.com/role-arn`` gets, from the
pod identity webhook, ``AWS_ROLE_ARN`` and ``AWS_WEB_IDENTITY_TOKEN_FILE`` pointing at a
projected token (a JWT: ``iss`` = the cluster's OIDC issuer, ``sub`` =
``system:serviceaccount:NS:SA``, ``aud`` = ``sts.amazonaws.com``) that the kubelet
rotates. The SDK trades it for role credentials with the unsigned STS call
``AssumeRoleWithWebIdentity``, and the role's trust policy decides.

The runtime does the same: :class:`TokenIssuer` signs such tokens (RS256, key kept in the
state dir, public keys served by the control API at ``/openid/v1/jwks``) and
:func:`assume_role_with_web_identity` makes that unsigned STS call against the engine,
so a trust policy that names the wrong service account refuses the pod exactly as AWS
would.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

AUDIENCE = "sts.amazonaws.com"
TOKEN_SECONDS = 86400  # the EKS pod identity webhook's default expirationSeconds
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def service_account_uid(namespace: str, name: str) -> str:
    """A stable uid for a ServiceAccount of the manifests (they carry none of their own)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"serviceaccount:{namespace}/{name}"))


class InvalidTokenError(Exception):
    """A bearer token this issuer does not accept (the reason, for the runtime's log only)."""


class TokenIssuer:
    """Signs projected service-account tokens for one cluster issuer."""

    def __init__(self, issuer: str, key_file: Path) -> None:
        self.issuer = issuer.rstrip("/")
        self.key = self._load_or_create(key_file)
        public = self.key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = base64url_encode(hashlib.sha256(der).digest()).decode()[:32]

    @staticmethod
    def _load_or_create(path: Path) -> rsa.RSAPrivateKey:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, rsa.RSAPrivateKey):
                if path.stat().st_mode & 0o077:
                    os.chmod(path, 0o600)  # a key file from an older run, readable by others
                return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(tmp, path)
        return key

    def token(
        self,
        namespace: str,
        service_account: str,
        pod: str | None = None,
        pod_uid: str | None = None,
        audience: str | Sequence[str] = AUDIENCE,
        seconds: int = TOKEN_SECONDS,
    ) -> tuple[str, float]:
        """A signed JWT and its expiry (epoch seconds); bound to a pod when one is named."""
        now = int(time.time())
        bound: dict[str, Any] = {
            "namespace": namespace,
            "serviceaccount": {
                "name": service_account,
                "uid": service_account_uid(namespace, service_account),
            },
        }
        if pod is not None:
            bound["pod"] = {"name": pod, "uid": pod_uid or ""}
        claims: dict[str, Any] = {
            "aud": [audience] if isinstance(audience, str) else list(audience),
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "kubernetes.io": bound,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})
        return token, float(now + seconds)

    def verify(self, token: str, audience: str, leeway: int = 60) -> dict[str, Any]:
        """The claims of a token this issuer signed for ``audience``, still valid; else InvalidTokenError.

        ``leeway`` allows for clocks a little behind on ``nbf``; ``exp`` is strict.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidTokenError("not a JWT") from None
        if header.get("alg") != "RS256" or header.get("kid") != self.kid:
            raise InvalidTokenError("not signed by this cluster's service-account issuer")
        try:
            # the signature only: the claims are judged below, with this runtime's messages
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise InvalidTokenError("bad signature") from None
        except jwt.DecodeError:
            raise InvalidTokenError("not a JWT") from None
        if claims.get("iss") != self.issuer:
            raise InvalidTokenError(f"issuer {claims.get('iss')!r} is not {self.issuer!r}")
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or audience not in audiences:
            raise InvalidTokenError(f"audience {claims.get('aud')!r} does not include {audience!r}")
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        if not isinstance(exp, int | float) or isinstance(exp, bool) or now >= exp:
            raise InvalidTokenError("token has expired")
        if not isinstance(nbf, int | float) or isinstance(nbf, bool) or now < nbf - leeway:
            raise InvalidTokenError("token is not valid yet")
        return claims

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {
            "keys": [
                {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": jwk["n"], "e": jwk["e"]}
            ]
        }

    def discovery(self, jwks_uri: str) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds
    arn: str


class StsError(Exception):
    """STS refused the web identity (code and message as AWS returns them)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def assume_role_with_web_identity(
    endpoint: str, role_arn: str, token: str, session_name: str, duration: int = 3600, timeout: float = 10
) -> RoleCredentials:
    """The unsigned STS call the SDKs make with a web identity token file."""
    body = urllib.parse.urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "RoleArn": role_arn,
            "RoleSessionName": session_name[:64],
            "WebIdentityToken": token,
            "DurationSeconds": str(duration),
        }
    ).encode()
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            root = ET.fromstring(resp.read())
    except urllib.error.HTTPError as exc:
        raise _sts_error(exc.read()) from None
    except (urllib.error.URLError, OSError) as exc:
        raise StsError("EndpointUnreachable", f"{endpoint}: {exc}") from None
    creds = root.find(f".//{STS_NS}Credentials")
    user = root.find(f".//{STS_NS}AssumedRoleUser")
    if creds is None or user is None:
        raise StsError("MalformedResponse", "no Credentials in the STS answer")

    def text(node: ET.Element, name: str) -> str:
        found = node.find(f"{STS_NS}{name}")
        return found.text or "" if found is not None else ""

    expiration = datetime.fromisoformat(text(creds, "Expiration").replace("Z", "+00:00")).timestamp()
    return RoleCredentials(
        text(creds, "AccessKeyId"),
        text(creds, "SecretAccessKey"),
        text(creds, "SessionToken"),
        expiration,
        text(user, "Arn"),
    )


def _sts_error(payload: bytes) -> StsError:
    try:
        root = ET.fromstring(payload)
    except ET.ParseError:
        return StsError("Unknown", payload.decode(errors="replace")[:200])
    code = next((e.text for e in root.iter() if e.tag.endswith("Code")), None) or "Unknown"
    message = next((e.text for e in root.iter() if e.tag.endswith("Message")), None) or ""
    return StsError(code, message)
