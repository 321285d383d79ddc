"""A ServiceAccount token issuer for hosts without a cluster (``docker compose``).

On Kubernetes the kubelet projects each pod's token and the cluster publishes the keys.
``docker compose`` has neither, so its one-shot ``nexus-tokens`` service runs::

    python -m services.common.devtokens --out /var/run/nexus-auth \\
        --issuer https://nexus-compose.local --account nexus-agent-core/agent-orchestrator ...

which writes, into a volume whose sub-folders the other services mount read-only (each
service sees the public keys and its own token, never another's):

``public/jwks.json``
    the public key (services point ``NEXUS_AUTH_JWKS`` at it);
``<namespace>/<serviceaccount>/token``
    a token per account (audience ``nexus-services``), what a projected volume would hold
    (callers mount their folder at ``/var/run/secrets/nexus``, as in the manifests);
``private/signing-key.pem``
    the private key (0600), kept so a rerun refreshes the tokens without changing keys.

``--owner UID`` hands the files to the services' user (the images run as 10001).

Tokens last ``--seconds`` (a day by default); run the service again to refresh them.
The claims are those of a Kubernetes ServiceAccount token, so the services verify them
exactly as they verify the cluster's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

from services.common.callers import SERVICE_AUDIENCE

_ACCOUNT = re.compile(r"^([a-z0-9][-a-z0-9.]*)/([a-z0-9][-a-z0-9.]*)$")


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class DevIssuer:
    """Signs ServiceAccount tokens with a key kept in ``folder``."""

    def __init__(self, folder: Path, issuer: str) -> None:
        self.folder = folder
        self.issuer = issuer.rstrip("/")
        key_file = folder / "private" / "signing-key.pem"
        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if key_file.exists():
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise SystemExit(f"{key_file} is not an RSA private key")
            self.key = loaded
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write(key_file, pem, 0o600)
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = base64url_encode(hashlib.sha256(der).digest()).decode()[:32]

    def jwks(self) -> dict[str, object]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk = {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": public["n"],
            "e": public["e"],
        }
        return {"keys": [jwk]}

    def token(self, namespace: str, name: str, audience: str, seconds: int) -> str:
        now = int(time.time())
        claims = {
            "aud": [audience],
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name}},
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def issue_all(
    out: Path, issuer: str, accounts: Sequence[str], audience: str, seconds: int, owner: int | None = None
) -> list[Path]:
    """Write the JWKS and a token per ``namespace/serviceaccount``; the files written."""
    bad = [account for account in accounts if not _ACCOUNT.match(account)]
    if bad:
        raise SystemExit(f"--account {bad[0]!r} is not namespace/serviceaccount")
    out.mkdir(parents=True, exist_ok=True)
    dev = DevIssuer(out, issuer)
    public = out / "public"
    public.mkdir(exist_ok=True)
    written = [public / "jwks.json"]
    _write(written[0], json.dumps(dev.jwks()).encode(), 0o644)
    for account in accounts:
        namespace, _, name = account.partition("/")
        folder = out / namespace / name
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / "token"
        _write(path, dev.token(namespace, name, audience, seconds).encode(), 0o600)
        written.append(path)
    if owner is not None:
        for path in sorted(out.rglob("*")):
            if "private" not in path.relative_to(out).parts:
                os.chown(path, owner, owner)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.devtokens", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write (a volume the services mount)"
    )
    parser.add_argument(
        "--issuer", required=True, help="the issuer URL the services trust (NEXUS_AUTH_ISSUER)"
    )
    parser.add_argument("--account", action="append", default=[], help="namespace/serviceaccount (repeat)")
    parser.add_argument("--audience", default=SERVICE_AUDIENCE)
    parser.add_argument("--seconds", type=int, default=86400)
    parser.add_argument("--owner", type=int, default=None, help="uid (and gid) to give the tokens to")
    args = parser.parse_args(argv)
    if not 600 <= args.seconds <= 7 * 86400:
        parser.error("--seconds must be between 600 and 604800")
    for path in issue_all(args.out, args.issuer, args.account, args.audience, args.seconds, args.owner):
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
