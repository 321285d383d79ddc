"""Bearer tokens from the client's side: issue over HTTP, verify against the JWKS, export.

Everything here talks to the auth service the way a producer does, over HTTP through the
HTTP API (never by calling the handler): :func:`issue_token` posts to ``/auth``,
:func:`verify_token` checks a JWT's RS256 signature against the keys published at
``/.well-known/jwks.json`` plus its ``exp``/``nbf``/``iss``/``aud``, and
:func:`export_lines` turns a payload into ``export`` lines for a producer's shell.

When the stack puts ``POST /auth`` behind IAM (``auth_route_authorization_type`` =
``AWS_IAM``), :func:`issue_token` signs the call with SigV4 for ``execute-api`` as the
``signer`` identity (the caller needs ``execute-api:Invoke`` on the route, as in AWS).

The ``*_for_stack`` functions find the URLs of a local stack, and whether ``/auth`` needs
a signature, and sign as the stack's admin when it does (what the CLI calls). Nothing
here prints or logs a secret: the payload goes back to the caller, which masks it.
"""

from __future__ import annotations

import json
import shlex
import time
import urllib.error
import urllib.request
from typing import Any

import jwt
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.edge.errors import TokenError

SECRET_FIELDS = ("SecretAccessKey", "SessionToken")
DEFAULT_TIMEOUT = 15.0
LEEWAY_S = 30


def signed_headers(
    url: str, data: bytes, headers: dict[str, str], signer: AwsTarget, method: str = "POST"
) -> dict[str, str]:
    """``headers`` plus the SigV4 ``Authorization`` (and date, session token) of a call to
    an HTTP API route with ``AWS_IAM`` authorization, signed as ``signer``."""
    credentials = Credentials(signer.access_key_id, signer.secret_access_key, signer.session_token)
    request = AWSRequest(method=method, url=url, data=data, headers=dict(headers))
    SigV4Auth(credentials, "execute-api", signer.region).add_auth(request)
    return {str(key): str(value) for key, value in request.headers.items()}


def _post_json(url: str, body: dict[str, Any], timeout: float, signer: AwsTarget | None = None) -> Any:
    data = json.dumps(body).encode("utf-8")
    headers = {"content-type": "application/json"}
    if signer is not None:
        headers = signed_headers(url, data, headers, signer)
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    return _call(request, timeout)


def _call(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            doc = json.loads(raw)
            message = (
                doc.get("message", raw.decode("utf-8", "replace")) if isinstance(doc, dict) else str(doc)
            )
        except ValueError:
            message = raw.decode("utf-8", "replace")[:200]
        raise TokenError(f"the auth service answered {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TokenError(
            f"cannot reach the auth service at {request.full_url} ({exc})",
            "is the stack up? `nexuskit up --local`",
        ) from None
    except ValueError:
        raise TokenError(f"the auth service at {request.full_url} did not answer JSON") from None


def issue_token(
    auth_url: str,
    user: str,
    ttl_minutes: int | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    signer: AwsTarget | None = None,
) -> dict[str, Any]:
    """``POST auth_url`` and return the bearer payload (TokenError with the service's message).

    ``signer``: sign the call with SigV4 as this identity (for an ``AWS_IAM`` route).
    """
    body: dict[str, Any] = {"user": user}
    if ttl_minutes is not None:
        body["ttl_minutes"] = ttl_minutes
    if metadata is not None:
        body["metadata"] = metadata
    payload = _post_json(auth_url, body, timeout, signer)
    if not isinstance(payload, dict) or "token" not in payload:
        raise TokenError("the auth service answered without a token")
    return payload


def fetch_jwks(url: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    doc = _call(urllib.request.Request(url, method="GET"), timeout)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise TokenError(f"{url} is not a JWKS document")
    return doc


def _malformed(exc: jwt.InvalidTokenError) -> TokenError:
    """PyJWT's reason for refusing to read a token, in this module's words."""
    reason = str(exc)
    what = "header" if "header" in reason.lower() else "payload"
    if "padding" in reason:
        return TokenError("token is malformed: a segment is not base64url")
    if "json object" in reason:
        return TokenError(f"token is malformed: its {what} is not an object")
    return TokenError(f"token is malformed: its {what} is not JSON")


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT without checking anything (for display)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError("token is malformed: a JWT has three dot-separated parts")
    unsigned = f"{parts[0]}.{parts[1]}."  # the signature is not read here
    try:
        return jwt.get_unverified_header(unsigned), jwt.decode(unsigned, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise _malformed(exc) from None


def verify_token(
    token: str,
    jwks: dict[str, Any],
    *,
    issuer: str | None,
    audience: str | None,
    now: float | None = None,
    leeway: int = LEEWAY_S,
) -> dict[str, Any]:
    """Check signature (RS256, by ``kid``), expiry, not-before, issuer and audience.

    Returns ``{"valid": True, "kid", "claims", "expires_in_s"}``; raises TokenError saying
    what failed.
    """
    token = token.strip()
    header, claims = decode_unverified(token)
    if header.get("alg") != "RS256":
        raise TokenError(f"token algorithm {header.get('alg')!r} is not accepted (RS256 only)")
    kid = header.get("kid")
    jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
    if jwk is None:
        raise TokenError(f"token key id {kid!r} is not published in the JWKS")
    try:
        jwt.PyJWS().decode(token, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"])
    except jwt.InvalidSignatureError:
        raise TokenError("token signature does not verify (tampered, or signed by another key)") from None
    except jwt.InvalidTokenError as exc:
        raise _malformed(exc) from None
    moment = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise TokenError("token has no expiry (exp)")
    if moment > exp + leeway:
        raise TokenError(f"token expired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(exp))}")
    nbf = claims.get("nbf", claims.get("iat"))
    if isinstance(nbf, int | float) and moment + leeway < nbf:
        raise TokenError("token is not valid yet (nbf is in the future)")
    if issuer is not None and claims.get("iss") != issuer:
        raise TokenError(f"token issuer {claims.get('iss')!r} is not {issuer!r}")
    if audience is not None:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            raise TokenError(f"token audience {aud!r} does not include {audience!r}")
    return {"valid": True, "kid": kid, "claims": claims, "expires_in_s": int(exp - moment)}


def _mask(value: str, keep: int = 4) -> str:
    return value[:keep] + "…" + f"({len(value)} chars)" if len(value) > keep else "…"


def masked(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with the secret key, session token and token signature masked."""
    doc: dict[str, Any] = json.loads(json.dumps(payload))
    credentials = doc.get("credentials") or {}
    for field in SECRET_FIELDS:
        if isinstance(credentials.get(field), str):
            credentials[field] = _mask(credentials[field])
    token = doc.get("token")
    if isinstance(token, str) and token.count(".") == 2:
        head, body, _ = token.split(".")
        doc["token"] = f"{head}.{body}.{_mask(token.rsplit('.', 1)[1], 0)}"
    return doc


def export_lines(payload: dict[str, Any], *, region: str, endpoint_url: str | None) -> list[str]:
    """``export`` lines that make a shell a producer with the token's credentials."""
    credentials = payload["credentials"]
    streams = payload.get("streams") or {}
    variables = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    if endpoint_url:
        variables["AWS_ENDPOINT_URL"] = endpoint_url
    names = {
        "data_stream": "NEXUS_CLIENT_STREAM",
        "video_stream": "NEXUS_CLIENT_VIDEO_STREAM",
        "firehose": "NEXUS_CLIENT_FIREHOSE",
    }
    for key, variable in names.items():
        stream = streams.get(key)
        if stream:
            variables[variable] = stream["name"]
            variables[f"{variable}_ARN"] = stream["arn"]
    variables["NEXUS_BEARER_TOKEN"] = payload["token"]
    variables["NEXUS_TOKEN_EXPIRES_AT"] = payload["expires_at"]
    return [f"export {key}={shlex.quote(str(value))}" for key, value in variables.items()]


# -- a local stack ------------------------------------------------------------------------
def _stack(settings: KitSettings) -> tuple[dict[str, str], AwsTarget]:
    """The URLs of the local stack and its admin identity (TokenError when not up/deployed).

    ``urls["authorization"]`` is the ``AuthorizationType`` of ``POST /auth``.
    """
    from nexuskit.edge.auth import auth_route_authorization, auth_url, jwks_url
    from nexuskit.engine import EmbeddedEngine

    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    if engine.health() is None:
        raise TokenError(
            f"no engine answers on {engine.endpoint}", "start the stack with `nexuskit up --local`"
        )
    admin = engine.target(spec.region)
    url = auth_url(spec, admin)
    if url is None:
        raise TokenError(
            f"the HTTP API {spec.http_api} is not deployed on {engine.endpoint}",
            "run `nexuskit up --local` to deploy it",
        )
    urls = {
        "auth_url": url,
        "jwks_url": jwks_url(url),
        "endpoint": engine.endpoint,
        "region": spec.region,
        "authorization": auth_route_authorization(spec, admin) or "NONE",
    }
    return urls, admin


def stack_urls(settings: KitSettings) -> dict[str, str]:
    """The auth and JWKS URLs of the local stack (TokenError when it is not up/deployed)."""
    return _stack(settings)[0]


def _issue_on_stack(
    settings: KitSettings, user: str, ttl_minutes: int | None, metadata: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    urls, admin = _stack(settings)
    signer = admin if urls["authorization"] == "AWS_IAM" else None
    return issue_token(urls["auth_url"], user, ttl_minutes, metadata, signer=signer), urls


def issue_for_stack(
    settings: KitSettings, user: str, ttl_minutes: int | None = None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A token from the local stack's auth service (signed as the stack's admin when
    ``POST /auth`` needs IAM authorization)."""
    return _issue_on_stack(settings, user, ttl_minutes, metadata)[0]


def verify_for_stack(settings: KitSettings, token: str) -> dict[str, Any]:
    from nexuskit.edge.auth import token_audience, token_issuer

    spec = settings.stack()
    jwks = fetch_jwks(stack_urls(settings)["jwks_url"])
    return verify_token(token, jwks, issuer=token_issuer(spec), audience=token_audience(spec))


def env_for_stack(settings: KitSettings, user: str, ttl_minutes: int | None = None) -> list[str]:
    payload, urls = _issue_on_stack(settings, user, ttl_minutes, None)
    return export_lines(payload, region=urls["region"], endpoint_url=urls["endpoint"])
