"""S3's legacy Signature Version 2 (HMAC-SHA1), verified with botocore's ``HmacV1Auth``.

S3 still accepts it in us-west-2 (botocore presigns S3 URLs with it unless told
``s3v4``): ``Authorization: AWS key:signature`` headers and ``AWSAccessKeyId``/
``Signature``/``Expires`` query strings. Every ``x-amz-*`` header is part of the string to
sign, so nothing unsigned is trusted. The request time is ``x-amz-date`` or ``Date``
(RFC 1123); :func:`emulation.iam.sigv4.check_request_time` refuses one more than 15
minutes off (``RequestTimeTooSkewed``), as for SigV4.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import HmacV1Auth
from botocore.compat import HTTPHeaders

from emulation.core.request import AwsRequest
from emulation.iam.exceptions import AccessDeniedException, IncompleteSignatureException
from emulation.iam.sigv4 import TIMESTAMP_FORMAT, SignedAuth, SigningKeys, query_pairs, raw_path


def _sigv2_timestamp(headers: dict[str, str]) -> str:
    """The request time of a SigV2 header-signed request (``x-amz-date`` wins over ``Date``)."""
    for name in ("x-amz-date", "date"):
        value = headers.get(name)
        if not value:
            continue
        try:
            return parsedate_to_datetime(value).astimezone(UTC).strftime(TIMESTAMP_FORMAT)
        except (TypeError, ValueError):
            break
    raise AccessDeniedException("AWS authentication requires a valid Date or x-amz-date header")


def sigv2_header(request: AwsRequest, header: str) -> SignedAuth:
    access_key, _, signature = header[4:].strip().rpartition(":")
    if not access_key or not signature:
        raise IncompleteSignatureException("Authorization header is malformed")
    return SignedAuth(
        presigned=False,
        access_key=access_key,
        scope_date="",
        region="us-east-1",
        service="s3",
        signed_headers=(),
        signature=signature,
        timestamp=_sigv2_timestamp(request.headers),
        session_token=request.headers.get("x-amz-security-token"),
        version=2,
    )


def sigv2_query(request: AwsRequest, query: dict[str, str]) -> SignedAuth:
    try:
        expires = int(query.get("Expires", ""))
    except ValueError as exc:
        raise IncompleteSignatureException("Expires must be a number of seconds since the epoch") from exc
    return SignedAuth(
        presigned=True,
        access_key=query["AWSAccessKeyId"],
        scope_date="",
        region="us-east-1",
        service="s3",
        signed_headers=(),
        signature=query["Signature"],
        timestamp="",
        session_token=query.get("x-amz-security-token"),
        expires=expires,
        version=2,
    )


class _HmacV1Recomputer(HmacV1Auth):  # type: ignore[misc]
    """botocore's SigV2 signer with the request's own date (or Expires) line."""

    def __init__(self, credentials: Any, date: str) -> None:
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


def expected_s3_sigv2_signature(request: AwsRequest, auth: SignedAuth, secret_key: str) -> str:
    from emulation.iam.actions import s3_addressing

    headers = HTTPHeaders()
    for name, value in request.headers.items():
        if name in {"content-md5", "content-type"} or name.startswith("x-amz-"):
            headers[name] = value
    if auth.presigned:
        for name, value in query_pairs(request.query_string):
            if name.lower().startswith("x-amz-") and name.lower() not in headers:
                headers[name.lower()] = value
        date = str(auth.expires)
    else:
        date = "" if "x-amz-date" in request.headers else request.headers.get("date", "")
    path = raw_path(request.environ, request.path)
    bucket, _, virtual = s3_addressing(request)
    if bucket and virtual:
        path = f"/{bucket}{path}"  # virtual-host requests sign the bucket too
    split = urlsplit(f"http://localhost{path}?{request.query_string}")
    signer = _HmacV1Recomputer(SigningKeys(auth.access_key, secret_key), date)
    string_to_sign = signer.canonical_string(request.method, split, headers)
    signature: str = signer.sign_string(string_to_sign)
    return signature
