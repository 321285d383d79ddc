"""RS256 JWT verification against a JWKS: operator tokens and ServiceAccount tokens.

Checks the signature (by ``kid``, with PyJWT), ``exp``/``nbf`` and, when configured,
``iss``/``aud``.
Keys come from a JWKS URL (the auth service's ``/.well-known/jwks.json``, a cluster's
``/openid/v1/jwks``) or a JWKS file; they are read on first use and again when a token
names an unknown ``kid`` (key rotation), at most once per ``refresh_s``.

PyJWT, ``cryptography`` (7-9 MB once imported) and httpx are imported by the first token
that is verified, not with this module: a pod that only answers its probes never loads them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)
LEEWAY_S = 30


class TokenRejectedError(Exception):
    """The bearer token is missing, malformed, forged, expired or for someone else."""


def _public_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = jwt.PyJWK(jwk, algorithm="RS256").key
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def read_json_source(source: str, bearer: Callable[[], str | None] | None = None, timeout: float = 10) -> Any:
    """A JSON document from a URL (``http(s)://``) or a file path.

    ``bearer`` gives a token to send to the URL (a cluster API serves its JWKS only to
    authenticated callers); ``None`` or an empty token sends none.
    """
    if source.startswith(("http://", "https://")):
        import httpx

        token = bearer() if bearer else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(source, timeout=timeout, headers=headers)
        response.raise_for_status()
        return response.json()
    return json.loads(Path(source).read_text(encoding="utf-8"))


class JwksVerifier:
    """Verifies tokens against the keys published at ``jwks_url`` (a URL or a file)."""

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str | None,
        audience: str | None,
        refresh_s: float = 5.0,
        bearer: Callable[[], str | None] | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.refresh_s = refresh_s
        self.bearer = bearer
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if not self.jwks_url:
            raise TokenRejectedError("no JWKS is configured to verify tokens against")
        import httpx

        try:
            doc = read_json_source(self.jwks_url, self.bearer)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            self._fetched = time.monotonic()
            log.warning("cannot read the JWKS at %s: %s", self.jwks_url, exc)
            raise TokenRejectedError("cannot read the keys to verify the token (try again)") from None
        import jwt

        keys = {}
        for jwk in doc.get("keys", []) if isinstance(doc, dict) else []:
            if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and jwk.get("kid"):
                try:
                    keys[str(jwk["kid"])] = _public_key(jwk)
                except (jwt.PyJWKError, jwt.InvalidKeyError, KeyError, ValueError):
                    log.warning("JWKS %s: key %s is not a valid RSA key; skipped", self.jwks_url, jwk["kid"])
        self._keys, self._fetched = keys, time.monotonic()

    def key(self, kid: str) -> rsa.RSAPublicKey:
        with self._lock:
            stale = not self._fetched or time.monotonic() - self._fetched > self.refresh_s
            if kid not in self._keys and stale:
                self._refresh()
            if kid not in self._keys:
                raise TokenRejectedError(f"token key id {kid!r} is not published in the JWKS")
            return self._keys[kid]

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The token's claims, or TokenRejectedError saying what failed."""
        import jwt

        parts = token.strip().split(".")
        if len(parts) != 3:
            raise TokenRejectedError("token is malformed: a JWT has three parts")
        try:
            header = jwt.get_unverified_header(token.strip())
            claims = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise TokenRejectedError("token is malformed") from None
        if header.get("alg") != "RS256":
            raise TokenRejectedError("only RS256 tokens are accepted")
        key = self.key(str(header.get("kid")))
        try:
            jwt.PyJWS().decode(token.strip(), key, algorithms=["RS256"])
        except jwt.InvalidSignatureError:
            raise TokenRejectedError("token signature does not verify") from None
        except jwt.InvalidTokenError:
            raise TokenRejectedError("token is malformed") from None
        moment = time.time() if now is None else now
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise TokenRejectedError("token has no expiry")
        if moment > exp + LEEWAY_S:
            raise TokenRejectedError("token expired")
        nbf = claims.get("nbf", claims.get("iat"))
        if isinstance(nbf, int | float) and moment + LEEWAY_S < nbf:
            raise TokenRejectedError("token is not valid yet")
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise TokenRejectedError("token issuer is not accepted")
        if self.audience is not None:
            aud = claims.get("aud")
            if self.audience not in (aud if isinstance(aud, list) else [aud]):
                raise TokenRejectedError("token audience is not accepted")
        return claims
