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

import base64
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

AUDIENCE = "sts.amazonaws.com"
TOKEN_SECONDS = 86400  # the EKS pod identity webhook's default expirationSeconds
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class TokenIssuer:
    """Signs projected service-account tokens for one cluster issuer."""

    def __init__(self, issuer: str, key_file: Path) -> None:
        self.issuer = issuer.rstrip("/")
        self.key = self._load_or_create(key_file)
        public = self.key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64url(hashlib.sha256(der).digest())[:32]

    @staticmethod
    def _load_or_create(path: Path) -> rsa.RSAPrivateKey:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, rsa.RSAPrivateKey):
                return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return key

    def token(
        self,
        namespace: str,
        service_account: str,
        pod: str,
        pod_uid: str,
        audience: str = AUDIENCE,
        seconds: int = TOKEN_SECONDS,
    ) -> tuple[str, float]:
        """A signed JWT and its expiry (epoch seconds)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": [audience],
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": pod, "uid": pod_uid},
                "serviceaccount": {"name": service_account},
            },
        }
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}", float(now + seconds)

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _uint(numbers.n),
                    "e": _uint(numbers.e),
                }
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
