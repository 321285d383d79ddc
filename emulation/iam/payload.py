"""S3's payload modes: what a signed ``x-amz-content-sha256`` promises about the body.

Every service but S3 signs the body's SHA-256 and the engine always computes it from
the body that arrived (see :func:`emulation.iam.sigv4.payload_hash`). S3 lets the client
say how the body is protected, in the signed ``x-amz-content-sha256`` header, and the
engine holds it to that:

* a hex SHA-256: the body must hash to it, else ``XAmzContentSHA256Mismatch``;
* ``UNSIGNED-PAYLOAD`` / ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: the body is not signed
  (AWS allows it for S3; the signature still covers method, path, query and headers);
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (and ``-TRAILER``): an ``aws-chunked`` body in
  which every chunk is signed, each signature chained to the previous one starting from
  the request's own (the *seed*)::

      <hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n ... 0;chunk-signature=<sig>\\r\\n\\r\\n

  with the string to sign ``AWS4-HMAC-SHA256-PAYLOAD\\n<timestamp>\\n<scope>\\n<previous
  signature>\\n<sha256("")>\\n<sha256(data)>``. Every chunk (the final empty one too) is
  verified, the decoded length must equal the signed ``x-amz-decoded-content-length``,
  and a signed trailer (``x-amz-trailer-signature``) is verified against the trailing
  headers. A tampered chunk is ``SignatureDoesNotMatch``.

Any other value is ``InvalidArgument``, as from S3.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from emulation.iam.exceptions import (
    IncompleteBody,
    InvalidRequest,
    InvalidSignatureException,
    ValidationError,
    XAmzContentSHA256Mismatch,
)

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_MODES = frozenset({UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_TRAILER})
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BAD_MODE = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)


def signing_key(secret_key: str, scope_date: str, region: str, service: str) -> bytes:
    """SigV4's derived key: HMAC chain over date, region, service and ``aws4_request``."""
    key = f"AWS4{secret_key}".encode()
    for part in (scope_date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_s3_payload(
    mode: str,
    body: bytes,
    *,
    key: bytes,
    timestamp: str,
    scope: str,
    seed_signature: str,
    decoded_length: str | None,
) -> None:
    """Hold an S3 body to its signed ``x-amz-content-sha256`` (see the module docstring)."""
    if mode in UNSIGNED_MODES:
        return
    if _HEX_SHA256.match(mode):
        computed = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(computed, mode):
            raise XAmzContentSHA256Mismatch(mode, computed)
        return
    if mode in {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER}:
        if decoded_length is None:
            raise InvalidRequest("Missing required header for this request: x-amz-decoded-content-length")
        try:
            expected_length = int(decoded_length)
        except ValueError as exc:
            raise IncompleteBody("x-amz-decoded-content-length is not a number") from exc
        chain = _ChunkChain(key, timestamp, scope, seed_signature)
        length = chain.verify(body, trailer=mode == STREAMING_SIGNED_TRAILER)
        if length != expected_length:
            raise IncompleteBody(
                f"{length} bytes decoded, x-amz-decoded-content-length says {expected_length}"
            )
        return
    raise ValidationError(_BAD_MODE)


class _ChunkChain:
    """Walks an ``aws-chunked`` body, verifying each chunk signature in turn."""

    def __init__(self, key: bytes, timestamp: str, scope: str, seed_signature: str) -> None:
        self.key = key
        self.prefix = f"{timestamp}\n{scope}\n"
        self.previous = seed_signature

    def _sign(self, kind: str, digest: str) -> str:
        string_to_sign = f"{kind}\n{self.prefix}{self.previous}\n{digest}"
        return hmac.new(self.key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def _check(self, kind: str, digest: str, claimed: str) -> None:
        if not hmac.compare_digest(self._sign(kind, digest), claimed.strip().lower()):
            raise InvalidSignatureException()
        self.previous = claimed.strip().lower()

    def verify(self, body: bytes, *, trailer: bool) -> int:
        """Verify every chunk (and the trailer); the number of data bytes."""
        pos = 0
        total = 0
        while True:
            eol = body.find(b"\r\n", pos)
            if eol < 0:
                raise IncompleteBody("a chunk header has no end")
            size, signature = _chunk_header(body[pos:eol])
            start = eol + 2
            data = body[start : start + size]
            if len(data) != size:
                raise IncompleteBody("a chunk is shorter than its size")
            self._check(
                "AWS4-HMAC-SHA256-PAYLOAD", f"{EMPTY_SHA256}\n{hashlib.sha256(data).hexdigest()}", signature
            )
            total += size
            pos = start + size
            if size == 0:
                break
            if body[pos : pos + 2] != b"\r\n":
                raise IncompleteBody("a chunk is longer than its size")
            pos += 2
        rest = body[pos:]
        if trailer:
            self._verify_trailer(rest)
        elif rest != b"\r\n":
            raise IncompleteBody("data after the final chunk")
        return total

    def _verify_trailer(self, rest: bytes) -> None:
        lines = rest.decode("latin-1").split("\r\n")
        canonical = ""
        signature: str | None = None
        for index, line in enumerate(lines):
            if not line:
                if signature is None or any(lines[index + 1 :]):
                    raise IncompleteBody("the trailer is not signed")
                break
            name, sep, value = line.partition(":")
            if not sep:
                raise IncompleteBody("a trailing header has no value")
            if name.strip().lower() == "x-amz-trailer-signature":
                signature = value
            elif signature is not None:
                raise IncompleteBody("a trailing header follows the trailer signature")
            else:
                canonical += f"{name.strip().lower()}:{value.strip()}\n"
        else:
            raise IncompleteBody("the trailer has no end")
        assert signature is not None
        self._check("AWS4-HMAC-SHA256-TRAILER", hashlib.sha256(canonical.encode()).hexdigest(), signature)


def _chunk_header(line: bytes) -> tuple[int, str]:
    text = line.decode("latin-1")
    size_hex, _, extension = text.partition(";")
    name, _, signature = extension.partition("=")
    if name.strip() != "chunk-signature" or not signature:
        raise InvalidSignatureException()  # an unsigned chunk in a signed stream
    try:
        return int(size_hex.strip(), 16), signature
    except ValueError as exc:
        raise IncompleteBody("a chunk size is not hexadecimal") from exc
