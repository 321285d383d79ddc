"""Signature Version 4 verification, with botocore's own signer doing the arithmetic.

The incoming request is rebuilt as a botocore ``AWSRequest`` from what was on the wire:
the raw request target (``RAW_URI``, not werkzeug's decoded ``PATH_INFO``), the query
string decoded and re-encoded the way SigV4 canonicalises it, exactly the headers named
in ``SignedHeaders`` (read from the WSGI environ, where ``Content-Type`` and
``Content-Length`` are not ``HTTP_*`` keys), and ``X-Amz-Date`` as the timestamp. A
``SigV4Auth`` subclass then computes the canonical request, string to sign and signature
with the secret of the key the request names. Nothing of the request is re-serialised by
botocore, so whatever the client signed is what we check.

Only signed headers are trusted: ``Host`` must be signed, an unsigned
``x-amz-security-token`` is never read, and unsigned ``x-amz-*`` headers are refused (all
of them for S3, as S3 does; the ones that pick the caller or the operation elsewhere).

Payload hash: every service but S3 has the body's SHA-256 computed from the body that
arrived, whatever headers say. S3 uses its signed ``x-amz-content-sha256`` (required for
header auth) and is then held to it (:mod:`emulation.iam.payload`: the body must match a
hex hash, every chunk of a signed streaming upload is verified; ``UNSIGNED-PAYLOAD`` and
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` are accepted, as S3 accepts them); presigned S3
URLs use ``UNSIGNED-PAYLOAD``.

S3 also still accepts Signature Version 2 in us-west-2 (botocore presigns S3 URLs with it
unless told ``s3v4``), so ``AWS key:signature`` headers and ``AWSAccessKeyId``/``Signature``/
``Expires`` query strings are verified too (:mod:`emulation.iam.sigv2`); a ``Date``
more than 15 minutes off is ``RequestTimeTooSkewed`` as for SigV4. Other services get
``IncompleteSignature`` for anything but SigV4, as in AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders

from emulation.core.request import AwsRequest
from emulation.iam.exceptions import (
    HeadersNotSigned,
    IncompleteSignatureException,
    InvalidRequest,
    InvalidSignatureException,
    RequestExpiredException,
    UnsupportedSignatureException,
)
from emulation.iam.payload import check_s3_payload, signing_key

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: how far a header-signed request's X-Amz-Date may be from now (AWS: 15 minutes)
MAX_CLOCK_SKEW = timedelta(minutes=15)
#: the longest a presigned URL may be valid (AWS: 7 days)
MAX_PRESIGN_EXPIRES = 604800


class SigningKeys(NamedTuple):
    """What botocore's signers read of a credentials object. Not botocore's
    ``Credentials``: its module imports every credential and token provider with it
    (configparser, subprocess, botocore.tokens), ~20 ms of the engine's start, for a class
    the signers use only these three attributes of."""

    access_key: str
    secret_key: str
    token: str | None = None


_AUTH_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]+)")


@dataclass(frozen=True)
class SignedAuth:
    """What a signed request claims: key, scope, signed headers, signature, time."""

    presigned: bool
    access_key: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    session_token: str | None
    expires: int | None = None
    #: 4, or 2 for S3's legacy HMAC-SHA1 signatures (``timestamp`` is then unused)
    version: int = 4

    @property
    def signed_at(self) -> datetime:
        return datetime.strptime(self.timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise IncompleteSignatureException(
            f"Credential should be scoped to a valid region, service and 'aws4_request'. Got '{credential}'."
        )
    return parts[0], parts[1], parts[2], parts[3]


def _timestamp_from_headers(headers: dict[str, str]) -> str:
    amz_date = headers.get("x-amz-date")
    if amz_date:
        return amz_date.strip()
    date = headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).astimezone(UTC).strftime(TIMESTAMP_FORMAT)
        except (TypeError, ValueError):
            pass
    raise IncompleteSignatureException(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    """The query string as decoded (key, value) pairs, ``+`` kept literal as SigV4 does."""
    pairs: list[tuple[str, str]] = []
    if not query_string:
        return pairs
    for item in query_string.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def parse_auth(request: AwsRequest) -> SignedAuth | None:
    """The request's SigV4 claim, None when it carries no signature at all.

    Raises :class:`UnsupportedSignatureException` for SigV2/other schemes and
    :class:`IncompleteSignatureException` for a malformed SigV4 claim.
    """
    header = request.headers.get("authorization")
    if header:
        if header.startswith("AWS ") and ":" in header and request.signing_service is None:
            from emulation.iam.sigv2 import sigv2_header

            return sigv2_header(request, header)
        if not header.startswith(ALGORITHM):
            raise UnsupportedSignatureException()
        fields = dict(_AUTH_FIELD.findall(header))
        missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in fields]
        if missing:
            # (AWS echoes the header; the engine does not, so no log ever holds a signature)
            raise IncompleteSignatureException(f"Authorization header requires '{missing[0]}' parameter.")
        access_key, scope_date, region, service = _split_credential(fields["Credential"])
        signed_headers = tuple(h.strip().lower() for h in fields["SignedHeaders"].split(";"))
        return SignedAuth(
            presigned=False,
            access_key=access_key,
            scope_date=scope_date,
            region=region,
            service=service,
            signed_headers=signed_headers,
            signature=fields["Signature"].lower(),
            timestamp=_timestamp_from_headers(request.headers),
            # an unsigned token is not the client's word: it is never read
            session_token=request.headers.get("x-amz-security-token")
            if "x-amz-security-token" in signed_headers
            else None,
        )
    if "X-Amz-Algorithm=" not in request.query_string and "Signature=" not in request.query_string:
        return None
    query = dict(query_pairs(request.query_string))
    if "X-Amz-Algorithm" not in query:
        if "AWSAccessKeyId" in query and "Signature" in query:
            from emulation.iam.sigv2 import sigv2_query

            return sigv2_query(request, query)
        return None
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise UnsupportedSignatureException()
    for name in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date"):
        if name not in query:
            raise IncompleteSignatureException(f"Query-string authentication requires the {name} parameter.")
    access_key, scope_date, region, service = _split_credential(query["X-Amz-Credential"])
    try:
        expires = int(query.get("X-Amz-Expires", "0") or 0)
    except ValueError as exc:
        raise IncompleteSignatureException("X-Amz-Expires should be a number") from exc
    return SignedAuth(
        presigned=True,
        access_key=access_key,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(h.strip().lower() for h in query["X-Amz-SignedHeaders"].split(";")),
        signature=query["X-Amz-Signature"].lower(),
        timestamp=query["X-Amz-Date"],
        session_token=query.get("X-Amz-Security-Token"),
        expires=expires,
    )


def check_request_time(auth: SignedAuth, now: datetime) -> None:
    """Refuse requests signed too long ago (or in the future), and expired presigned URLs."""
    if auth.version == 2 and auth.presigned:
        if now.timestamp() > (auth.expires or 0):
            raise RequestExpiredException("Request has expired", presigned=True)
        return
    try:
        signed_at = auth.signed_at
    except ValueError as exc:
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{auth.timestamp}'."
        ) from exc
    if auth.presigned:
        expires = auth.expires or 0
        if expires > MAX_PRESIGN_EXPIRES:
            raise RequestExpiredException(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
                presigned=True,
            )
        if now > signed_at + timedelta(seconds=expires):
            raise RequestExpiredException(
                f"Signature expired: {auth.timestamp} is now earlier than {now.strftime(TIMESTAMP_FORMAT)}",
                presigned=True,
            )
        return
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        earlier = signed_at < now
        reference = now - MAX_CLOCK_SKEW if earlier else now + MAX_CLOCK_SKEW
        relation = "earlier" if earlier else "later"
        sign = "-" if earlier else "+"
        error = RequestExpiredException(
            f"Signature expired: {auth.timestamp} is now {relation} than "
            f"{reference.strftime(TIMESTAMP_FORMAT)} "
            f"({now.strftime(TIMESTAMP_FORMAT)} {sign} 15 min.)",
            presigned=False,
        )
        error.extra_s3_fields.update(
            {
                "RequestTime": signed_at.strftime(TIMESTAMP_FORMAT),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "MaxAllowedSkewMilliseconds": str(int(MAX_CLOCK_SKEW.total_seconds() * 1000)),
            }
        )
        raise error


class _RecomputingSigner(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer, told exactly which headers and payload hash were signed.

    The headers live on the signer, not on the ``AWSRequest``: botocore would otherwise
    take an ``X-Amz-Content-SHA256`` header as the payload hash instead of ours.
    """

    def __init__(
        self,
        credentials: Any,
        service: str,
        region: str,
        signed_headers: dict[str, str],
        payload_hash: str,
        normalize_path: bool,
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed_headers = signed_headers
        self._payload_hash = payload_hash
        self._normalize_path = normalize_path

    def headers_to_sign(self, request: Any) -> Any:
        headers = HTTPHeaders()
        for name, value in self._signed_headers.items():
            headers[name] = value
        return headers

    def payload(self, request: Any) -> str:
        return self._payload_hash

    def _normalize_url_path(self, path: str) -> str:
        if not self._normalize_path:
            return path  # S3 signs the path as sent
        normalized: str = super()._normalize_url_path(path)
        return normalized


def raw_path(environ: dict[str, Any], fallback: str) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        from urllib.parse import quote

        return quote(fallback, safe="/~!$&'()*+,;=:@")
    raw = str(raw)
    if raw.startswith(("http://", "https://")):
        raw = urlsplit(raw).path or "/"
    return raw.split("?", 1)[0] or "/"


def _header_value(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return None if value is None else str(value)


def payload_hash(request: AwsRequest, auth: SignedAuth) -> str:
    """The payload hash of the canonical request (see the module docstring)."""
    if auth.service == "s3":
        if "x-amz-content-sha256" in auth.signed_headers:
            return request.headers.get("x-amz-content-sha256", "").strip()
        if auth.presigned:
            return UNSIGNED_PAYLOAD
    return hashlib.sha256(request.body).hexdigest()


def expected_signature(request: AwsRequest, auth: SignedAuth, secret_key: str) -> str:
    """The signature botocore computes for this request with ``secret_key``."""
    headers: dict[str, str] = {}
    for name in auth.signed_headers:
        value = _header_value(request.environ, name)
        headers[name] = "" if value is None else value
    params = query_pairs(request.query_string)
    if auth.presigned:
        params = [(k, v) for k, v in params if k != "X-Amz-Signature"]
    aws_request = AWSRequest(
        method=request.method,
        url="http://localhost" + raw_path(request.environ, request.path),
        params=params,
    )
    aws_request.context["timestamp"] = auth.timestamp
    signer = _RecomputingSigner(
        SigningKeys(auth.access_key, secret_key),
        auth.service,
        auth.region,
        headers,
        payload_hash(request, auth),
        normalize_path=auth.service != "s3",
    )
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    signature: str = signer.signature(string_to_sign, aws_request)
    return signature


def signature_matches(request: AwsRequest, auth: SignedAuth, secret_key: str) -> bool:
    """Only the signature itself (see :func:`verify_signature` for the whole check)."""
    if auth.version == 2:
        from emulation.iam.sigv2 import expected_s3_sigv2_signature

        expected = expected_s3_sigv2_signature(request, auth, secret_key)
        return hmac.compare_digest(expected, auth.signature)
    return hmac.compare_digest(expected_signature(request, auth, secret_key), auth.signature)


#: x-amz-* headers that pick the caller or the operation outside S3: they must be signed
_AUTHENTICATING_HEADERS = frozenset({"x-amz-security-token", "x-amz-target", "x-amz-content-sha256"})


def check_signed_headers(request: AwsRequest, auth: SignedAuth) -> None:
    """Refuse requests whose identity-deciding headers are not covered by the signature."""
    if auth.version != 4:
        return  # SigV2 signs every x-amz-* header by construction
    if "host" not in auth.signed_headers:
        raise IncompleteSignatureException(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    if auth.presigned:
        return
    # the WSGI environ spells "_" in header names as "-" (as AwsRequest.headers does)
    signed = {name.replace("_", "-") for name in auth.signed_headers}
    unsigned = sorted(
        name
        for name in request.headers
        if name.startswith("x-amz-")
        and name not in signed
        and (auth.service == "s3" or name in _AUTHENTICATING_HEADERS)
    )
    if unsigned:
        raise HeadersNotSigned(unsigned)
    if auth.service == "s3" and "x-amz-content-sha256" not in request.headers:
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")


def verify_signature(request: AwsRequest, auth: SignedAuth, secret_key: str) -> None:
    """The whole check of a signed request with the key's secret; raises what AWS answers.

    Signed headers first, then the signature, then (S3) the body against its signed hash
    or chunk signatures.
    """
    check_signed_headers(request, auth)
    if not signature_matches(request, auth, secret_key):
        raise InvalidSignatureException()
    if auth.version != 4 or auth.service != "s3" or "x-amz-content-sha256" not in auth.signed_headers:
        return
    check_s3_payload(
        payload_hash(request, auth),
        request.body,
        key=signing_key(secret_key, auth.scope_date, auth.region, auth.service),
        timestamp=auth.timestamp,
        scope=f"{auth.scope_date}/{auth.region}/{auth.service}/aws4_request",
        seed_signature=auth.signature,
        decoded_length=request.headers.get("x-amz-decoded-content-length"),
    )
