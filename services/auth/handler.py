"""The auth token service: the Lambda ``${prefix}-auth`` behind the HTTP API (spec §2.5, §3.1).

Routes (payload format 2.0 events from API Gateway; 1.0 works too):

``POST /auth`` with the JSON body ``{"user": str, "ttl_minutes": int, "metadata": {...}}``
  (``ttl_minutes`` and ``metadata`` optional) answers 200 with the bearer payload::

    {"token": JWT, "token_type": "Bearer", "expires_at": ISO-8601, "ttl_minutes": int,
     "credentials": {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"},
     "streams": {"data_stream": {"name", "arn"}, "video_stream": {"name", "arn"} | null,
                 "firehose": {"name", "arn"}}}

  The TTL granted is the one asked for (default ``TOKEN_TTL_DEFAULT``) clamped to
  ``TOKEN_TTL_MIN``..``TOKEN_TTL_MAX`` (never outside 15..60), and the clamped value
  reported. The credentials come from ``sts:AssumeRole`` on the bearer role with a
  session name derived from the user, ``SourceIdentity`` and session tags, for the
  token's lifetime (at least 15 minutes, STS's minimum). The token is a JWT signed RS256
  with the active key of the signing secret (``kid`` in its header; claims ``iss``,
  ``aud``, ``sub``, ``jti``, ``iat``, ``nbf``, ``exp``).
  The body is read strictly (:mod:`validation`: duplicate keys, huge numbers, deep
  nesting refused); a bad body gets 400 (413 when over 16 KiB) with ``{"message",
  "field"}`` naming the field.

``GET /.well-known/jwks.json`` publishes the public half of every key in the secret, so
  tokens signed before a rotation stay verifiable.

Anything that fails inside answers 500 ``{"message": "internal error", "request_id"}``;
the traceback goes to the function's log, never into a response.

Configuration (environment, set by the deployment): ``SIGNING_SECRET_ID``,
``BEARER_ROLE_ARN``, ``TOKEN_TTL_MIN``/``TOKEN_TTL_MAX``/``TOKEN_TTL_DEFAULT``,
``TOKEN_ISSUER``, ``TOKEN_AUDIENCE``, ``CLIENT_DATA_STREAM_NAME``/``_ARN``,
``CLIENT_VIDEO_STREAM_NAME``/``_ARN`` (empty when video streams are off),
``CLIENT_FIREHOSE_NAME``/``_ARN``, ``SIGNING_KEY_CACHE_SECONDS`` (default 60).

This module and :mod:`validation` are the function's zip: they import only the standard
library, boto3 (part of the Lambda Python runtime), ``cryptography`` and PyJWT (see
requirements.txt).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import encode as encode_jwt
from jwt.algorithms import RSAAlgorithm

if __package__:  # imported as services.auth.handler (tests, tools)
    from .validation import AuthRequest, RequestError, parse_body
else:  # the Lambda runtime imports the zip's modules by name, from its root
    from validation import AuthRequest, RequestError, parse_body  # type: ignore[import-not-found,no-redef]

__all__ = ["AuthRequest", "RequestError", "handler", "parse_body"]

log = logging.getLogger("nexus.auth")
log.setLevel(logging.INFO)

ABSOLUTE_TTL_MIN, ABSOLUTE_TTL_MAX = 15, 60  # spec §6: never outside 15-60 minutes
STS_MIN_SECONDS = 900
_SESSION_UNSAFE = re.compile(r"[^A-Za-z0-9_+=,.@-]")
_TAG_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]", re.UNICODE)


class ConfigurationError(Exception):
    """The function's environment is incomplete (a deployment problem: 500)."""


# -- configuration ------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    signing_secret_id: str
    bearer_role_arn: str
    ttl_min: int
    ttl_max: int
    ttl_default: int
    issuer: str
    audience: str
    streams: dict[str, dict[str, str] | None]
    key_cache_seconds: float

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        def minutes(name: str, default: int) -> int:
            try:
                value = int(env.get(name, default))
            except ValueError:
                raise ConfigurationError(f"{name} must be an integer number of minutes") from None
            return min(max(value, ABSOLUTE_TTL_MIN), ABSOLUTE_TTL_MAX)

        ttl_min = minutes("TOKEN_TTL_MIN", ABSOLUTE_TTL_MIN)
        ttl_max = max(ttl_min, minutes("TOKEN_TTL_MAX", ABSOLUTE_TTL_MAX))
        ttl_default = min(max(minutes("TOKEN_TTL_DEFAULT", 30), ttl_min), ttl_max)

        def stream(prefix: str) -> dict[str, str] | None:
            name = env.get(f"{prefix}_NAME", "").strip()
            return {"name": name, "arn": env.get(f"{prefix}_ARN", "").strip()} if name else None

        return cls(
            signing_secret_id=need("SIGNING_SECRET_ID"),
            bearer_role_arn=need("BEARER_ROLE_ARN"),
            ttl_min=ttl_min,
            ttl_max=ttl_max,
            ttl_default=ttl_default,
            issuer=need("TOKEN_ISSUER"),
            audience=need("TOKEN_AUDIENCE"),
            streams={
                "data_stream": stream("CLIENT_DATA_STREAM"),
                "video_stream": stream("CLIENT_VIDEO_STREAM"),
                "firehose": stream("CLIENT_FIREHOSE"),
            },
            key_cache_seconds=float(env.get("SIGNING_KEY_CACHE_SECONDS", "60") or 60),
        )


def clamp_ttl(requested: int | None, settings: Settings) -> int:
    """The token lifetime in minutes: the request (or the default) clamped to the bounds."""
    ttl = settings.ttl_default if requested is None else requested
    return min(max(ttl, settings.ttl_min), settings.ttl_max)


def session_name(user: str, token_id: str) -> str:
    """An STS RoleSessionName ([\\w+=,.@-]{2,64}) that says who and which token."""
    base = _SESSION_UNSAFE.sub("-", user.strip())[:55].strip("-") or "user"
    return f"{base}.{token_id[:8]}"


def source_identity(user: str) -> str:
    value = _SESSION_UNSAFE.sub("-", user.strip())[:64]
    if value.lower().startswith("aws:"):
        value = "u-" + value[:62]
    return value if len(value) >= 2 else f"user-{value}".rstrip("-")


def tag_value(text: str) -> str:
    return _TAG_UNSAFE.sub("_", text)[:256]


# -- signing keys -------------------------------------------------------------------------
@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, str]:
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": public["n"],
            "e": public["e"],
        }


@dataclass(frozen=True)
class KeySet:
    active: SigningKey
    keys: tuple[SigningKey, ...]

    @classmethod
    def parse(cls, secret_string: str) -> KeySet:
        doc = json.loads(secret_string)
        keys = []
        for entry in doc["keys"]:
            if entry.get("alg", "RS256") != "RS256":
                continue
            private_key = serialization.load_pem_private_key(entry["private_key_pem"].encode(), password=None)
            if not isinstance(private_key, rsa.RSAPrivateKey):
                raise ConfigurationError(f"signing key {entry['kid']} is not an RSA key")
            keys.append(SigningKey(str(entry["kid"]), private_key))
        active = next((k for k in keys if k.kid == doc["active_kid"]), None)
        if active is None:
            raise ConfigurationError(f"active_kid {doc['active_kid']!r} is not among the keys")
        return cls(active, tuple(keys))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}


class _Cache:
    """AWS clients and the key set, shared by the invocations of a warm sandbox."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: dict[str, Any] = {}
        self.keys: tuple[float, KeySet] | None = None

    def client(self, service: str) -> Any:
        with self.lock:
            if service not in self.clients:
                config = Config(
                    connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
                )
                self.clients[service] = boto3.client(service, config=config)
            return self.clients[service]

    def key_set(self, settings: Settings) -> KeySet:
        now = time.monotonic()
        if self.keys is not None and now - self.keys[0] < settings.key_cache_seconds:
            return self.keys[1]
        secret = self.client("secretsmanager").get_secret_value(SecretId=settings.signing_secret_id)
        key_set = KeySet.parse(secret["SecretString"])
        self.keys = (now, key_set)
        return key_set


_CACHE = _Cache()


def sign_jwt(claims: dict[str, Any], key: SigningKey) -> str:
    """The RS256 JWT of ``claims`` (header ``alg``, ``typ``, ``kid``)."""
    return encode_jwt(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def _iso(moment: datetime | float) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- issuing ------------------------------------------------------------------------------
def issue(request: AuthRequest, settings: Settings) -> dict[str, Any]:
    """Assume the bearer role and sign a token for ``request`` (the 200 payload)."""
    ttl = clamp_ttl(request.ttl_minutes, settings)
    token_id = uuid.uuid4().hex
    issued_at = int(time.time())
    expires = issued_at + ttl * 60
    session = session_name(request.user, token_id)
    assumed = _CACHE.client("sts").assume_role(
        RoleArn=settings.bearer_role_arn,
        RoleSessionName=session,
        DurationSeconds=max(STS_MIN_SECONDS, ttl * 60),
        SourceIdentity=source_identity(request.user),
        Tags=[
            {"Key": "nexus-user", "Value": tag_value(request.user)},
            {"Key": "nexus-token-id", "Value": token_id},
        ],
    )
    creds = assumed["Credentials"]
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": request.user,
        "jti": token_id,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires,
        "sid": session,
        "akid": creds["AccessKeyId"],
    }
    if request.metadata:
        claims["metadata"] = request.metadata
    token = sign_jwt(claims, _CACHE.key_set(settings).active)
    log.info(json.dumps({"event": "token_issued", "sub": request.user, "jti": token_id, "ttl_minutes": ttl}))
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_at": _iso(expires),
        "ttl_minutes": ttl,
        "credentials": {
            "AccessKeyId": creds["AccessKeyId"],
            "SecretAccessKey": creds["SecretAccessKey"],
            "SessionToken": creds["SessionToken"],
            "Expiration": _iso(creds["Expiration"]),
        },
        "streams": dict(settings.streams),
    }


# -- HTTP ---------------------------------------------------------------------------------
def _response(status: int, doc: Any, cache: str = "no-store") -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": cache},
        "body": json.dumps(doc),
    }


def _route(event: dict[str, Any]) -> str:
    if event.get("version") == "1.0" or "httpMethod" in event:
        return f"{event.get('httpMethod', '')} {event.get('resource', '')}"
    return str(event.get("routeKey", ""))


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point (see the module docstring for the contract)."""
    request_id = str(getattr(context, "aws_request_id", "") or "")
    try:
        if not isinstance(event, dict) or not ("routeKey" in event or "httpMethod" in event):
            return _response(400, {"message": "expected an API Gateway HTTP API event (payload format 2.0)"})
        route = _route(event)
        if route == "GET /.well-known/jwks.json":
            settings = Settings.from_env()
            return _response(200, _CACHE.key_set(settings).jwks(), cache="public, max-age=300")
        if route == "POST /auth":
            settings = Settings.from_env()
            try:
                request = parse_body(event.get("body"), bool(event.get("isBase64Encoded")))
            except RequestError as exc:
                doc: dict[str, Any] = {"message": exc.message}
                if exc.field:
                    doc["field"] = exc.field
                return _response(exc.status, doc)
            return _response(200, issue(request, settings))
        return _response(404, {"message": "Not Found"})
    except Exception:
        log.exception("request %s failed", request_id)
        return _response(500, {"message": "internal error", "request_id": request_id})
