"""CORS on the engine, as AWS does it: S3 per bucket, nothing anywhere else.

moto's Flask apps add blanket CORS headers that echo any ``Origin`` (flask-cors), which
would let every web page read the engine's answers. The engine drops every
``Access-Control-*`` header from moto's answers (:func:`strip_cors`); responses of
nexuskit's own extensions are theirs (the HTTP API data plane answers its API's CORS
configuration). Then, for S3 only, it adds what the bucket's CORS configuration grants,
evaluated as S3 does:

* the first ``CORSRule`` whose ``AllowedOrigins`` match the ``Origin`` (one ``*``
  wildcard allowed) and whose ``AllowedMethods`` hold the method (for a preflight, the
  ``Access-Control-Request-Method``), and - for a preflight - whose ``AllowedHeaders``
  match every header in ``Access-Control-Request-Headers``, applies;
* it answers ``Access-Control-Allow-Origin`` (the origin, with
  ``Access-Control-Allow-Credentials: true``; ``*`` for a ``*`` rule),
  ``-Allow-Methods``, ``-Allow-Headers`` (preflight: the requested ones),
  ``-Expose-Headers`` and ``-Max-Age`` from that rule, and ``Vary``;
* a preflight (``OPTIONS``) that no rule allows, to a bucket without CORS configuration
  or to no bucket at all, is ``403 AccessForbidden`` ("CORSResponse: ..."); one without
  ``Origin`` or ``Access-Control-Request-Method`` is ``400 BadRequest``. Actual requests
  no rule allows simply get no CORS headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from emulation.core.exceptions import AccessForbidden, BadRequest, S3Error
from emulation.core.moto_compat import existing_backend
from emulation.core.request import AwsRequest

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
    "are not whitelisted by the resource's CORS spec."
)


def strip_cors(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers without any ``Access-Control-*`` one."""
    return [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _wildcard(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    if pattern == "*":
        return True
    flags = 0 if case_sensitive else re.IGNORECASE
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags) is not None


@dataclass(frozen=True)
class CorsRule:
    """One ``CORSRule`` of a bucket."""

    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: str | None = None

    @classmethod
    def from_moto(cls, rule: Any) -> CorsRule:
        max_age = getattr(rule, "max_age_seconds", None)
        return cls(
            allowed_methods=tuple(m.upper() for m in _as_list(getattr(rule, "allowed_methods", None))),
            allowed_origins=tuple(_as_list(getattr(rule, "allowed_origins", None))),
            allowed_headers=tuple(_as_list(getattr(rule, "allowed_headers", None))),
            expose_headers=tuple(_as_list(getattr(rule, "exposed_headers", None))),
            max_age_seconds=None if max_age in (None, "") else str(max_age),
        )

    def origin_pattern(self, origin: str) -> str | None:
        for pattern in self.allowed_origins:
            if _wildcard(pattern, origin, case_sensitive=True):
                return pattern
        return None

    def allows_headers(self, requested: list[str]) -> bool:
        return all(
            any(_wildcard(p.lower(), name, case_sensitive=False) for p in self.allowed_headers)
            for name in requested
        )

    def headers(self, origin: str, pattern: str, requested: list[str] | None) -> list[tuple[str, str]]:
        out = [("Access-Control-Allow-Origin", "*" if pattern == "*" else origin)]
        if pattern != "*":
            out.append(("Access-Control-Allow-Credentials", "true"))
        out.append(("Access-Control-Allow-Methods", ", ".join(self.allowed_methods)))
        if requested:
            out.append(("Access-Control-Allow-Headers", ", ".join(requested)))
        if self.expose_headers:
            out.append(("Access-Control-Expose-Headers", ", ".join(self.expose_headers)))
        if self.max_age_seconds is not None:
            out.append(("Access-Control-Max-Age", self.max_age_seconds))
        out.append(("Vary", VARY))
        return out


def bucket_cors(bucket: str | None) -> list[CorsRule] | None:
    """The bucket's CORS rules ([] without configuration), None when there is no such bucket.

    Reads moto state: call with the engine's state lock held shared.
    """
    if not bucket:
        return None
    from moto.s3.models import s3_backends

    located = s3_backends.bucket_accounts.get(bucket)
    if not located:
        return None
    partition, account = located
    backend = existing_backend(s3_backends, account, partition)
    found = backend.buckets.get(bucket) if backend is not None else None
    if found is None:
        return None
    return [CorsRule.from_moto(rule) for rule in getattr(found, "cors", None) or []]


def _requested_headers(request: AwsRequest) -> list[str]:
    raw = request.headers.get("access-control-request-headers", "")
    return [name.strip().lower() for name in raw.split(",") if name.strip()]


def _bucket(request: AwsRequest) -> tuple[str | None, bool]:
    from emulation.iam.actions import s3_addressing

    bucket, key, _ = s3_addressing(request)
    return bucket, key is not None


def preflight(request: AwsRequest) -> Response:
    """S3's answer to a CORS preflight (``OPTIONS``), from the bucket's configuration."""
    try:
        return _preflight(request)
    except S3Error as error:
        return error.response(request.method)


def _preflight(request: AwsRequest) -> Response:
    origin = request.headers.get("origin")
    if not origin:
        raise BadRequest("Insufficient information. Origin request header needed.")
    method = request.headers.get("access-control-request-method", "").strip().upper()
    if not method:
        raise BadRequest("Invalid Access-Control-Request-Method: null")
    bucket, is_object = _bucket(request)
    rules = bucket_cors(bucket)
    resource = "OBJECT" if is_object else "BUCKET"
    if rules is None:
        raise AccessForbidden("CORSResponse: Bucket not found", Method=method, ResourceType=resource)
    if not rules:
        raise AccessForbidden(
            "CORSResponse: CORS is not enabled for this bucket.", Method=method, ResourceType=resource
        )
    requested = _requested_headers(request)
    for rule in rules:
        pattern = rule.origin_pattern(origin)
        if pattern is not None and method in rule.allowed_methods and rule.allows_headers(requested):
            return Response(b"", status=200, headers=rule.headers(origin, pattern, requested))
    raise AccessForbidden(NOT_ALLOWED, Method=method, ResourceType=resource)


def actual_headers(request: AwsRequest) -> list[tuple[str, str]]:
    """CORS headers for a (non-preflight) S3 request with an ``Origin``; [] when none apply.

    Reads moto state: call with the engine's state lock held shared.
    """
    origin = request.headers.get("origin")
    if not origin:
        return []
    bucket, _ = _bucket(request)
    for rule in bucket_cors(bucket) or []:
        pattern = rule.origin_pattern(origin)
        if pattern is not None and request.method in rule.allowed_methods:
            return rule.headers(origin, pattern, None)
    return []
