"""The engine's front door, piece by piece: host names, S3 payload modes, the recorder's
redaction, and the moto internals they lean on (contract tests: a moto upgrade that moves
them fails here, in one place). The attacker's side against real engines is in
``tests/security/``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest

from emulation.core.hosts import HostPolicy
from emulation.core.moto_compat import install_recorder
from emulation.core.motoapi import REDACTED, RedactingRecorder, redact_body, redact_url
from emulation.iam.exceptions import IamError, InvalidSignatureException, XAmzContentSHA256Mismatch
from emulation.iam.payload import EMPTY_SHA256, check_s3_payload, signing_key

TIMESTAMP = "20260101T000000Z"
SCOPE = "20260101/us-west-2/s3/aws4_request"
KEY = signing_key("secret", "20260101", "us-west-2", "s3")
SEED = "a" * 64


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:4566",
        "localhost",
        "[::1]:4566",
        "bucket.localhost:4566",
        "localhost.localstack.cloud:4566",
        "abc123.execute-api.localhost.localstack.cloud",
        "s3.us-west-2.amazonaws.com",
        "host.docker.internal:4566",
        "172.18.0.1:4566",
        "LOCALHOST.:4566",
    ],
)
def test_the_engines_names_are_allowed(host: str) -> None:
    """Loopback, *.localhost, LocalStack's and AWS's names and IP literals are answered."""
    assert HostPolicy().allows(host)


@pytest.mark.parametrize(
    "host",
    [
        "rebind.attacker.example",
        "localhost.attacker.example:4566",
        "amazonaws.com.evil.test",
        "x.localstack.cloud",
    ],
)
def test_other_names_are_refused(host: str) -> None:
    """Names an attacker could rebind to 127.0.0.1 are refused."""
    assert not HostPolicy().allows(host)


def test_allowed_hosts_add_exact_names_and_subdomains() -> None:
    """``--allowed-hosts dev.test,*.corp.test`` adds exactly those names."""
    policy = HostPolicy(HostPolicy.parse("dev.test, *.corp.test"))
    assert policy.allows("dev.test:4566") and policy.allows("api.corp.test")
    assert not policy.allows("other.dev.test") and not policy.allows("corp.test.evil")


def _chunk_body(chunks: list[bytes], trailer: str | None = None) -> bytes:
    previous = SEED
    body = b""
    for chunk in [*chunks, b""]:
        text = f"AWS4-HMAC-SHA256-PAYLOAD\n{TIMESTAMP}\n{SCOPE}\n{previous}\n{EMPTY_SHA256}\n"
        text += hashlib.sha256(chunk).hexdigest()
        previous = hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk
        if chunk or trailer is None:
            body += b"\r\n"
    if trailer is not None:
        canonical = trailer + "\n"
        text = f"AWS4-HMAC-SHA256-TRAILER\n{TIMESTAMP}\n{SCOPE}\n{previous}\n"
        text += hashlib.sha256(canonical.encode()).hexdigest()
        signature = hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()
        body += f"{trailer}\r\nx-amz-trailer-signature:{signature}\r\n\r\n".encode()
    return body


def _check(mode: str, body: bytes, decoded: int | None = None) -> None:
    check_s3_payload(
        mode,
        body,
        key=KEY,
        timestamp=TIMESTAMP,
        scope=SCOPE,
        seed_signature=SEED,
        decoded_length=None if decoded is None else str(decoded),
    )


def test_a_signed_trailer_is_verified() -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: chunks and the trailer signature pass."""
    _check(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        _chunk_body([b"hello"], "x-amz-checksum-crc32:AAAAAA=="),
        5,
    )


def test_a_tampered_trailer_is_refused() -> None:
    """A trailing checksum changed after signing: SignatureDoesNotMatch."""
    body = _chunk_body([b"hello"], "x-amz-checksum-crc32:AAAAAA==").replace(b"AAAAAA==", b"BBBBBB==")
    with pytest.raises(InvalidSignatureException):
        _check("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", body, 5)


@pytest.mark.parametrize(
    ("mode", "body", "decoded", "error"),
    [
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", _chunk_body([b"hello"]), 6, IamError),  # length lies
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", _chunk_body([b"hello"]) + b"extra", 5, IamError),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", _chunk_body([b"hello"])[:-9], 5, IamError),  # cut short
        ("0" * 64, b"body", None, XAmzContentSHA256Mismatch),
        ("STREAMING-SOMETHING-ELSE", b"body", None, IamError),
    ],
)
def test_malformed_payloads_are_refused(
    mode: str, body: bytes, decoded: int | None, error: type[Exception]
) -> None:
    """Wrong decoded length, data after the last chunk, a cut body, a wrong hash, an unknown mode."""
    with pytest.raises(error):
        _check(mode, body, decoded)


def test_redaction_removes_secrets_from_bodies_and_urls() -> None:
    """Secret values in JSON and form bodies, SecureString parameters and presign params go."""
    secret_json = json.dumps({"Name": "k", "SecretString": "pem", "Nested": [{"Password": "pw"}]}).encode()
    assert b"pem" not in redact_body(secret_json, "application/x-amz-json-1.1")
    assert b"pw" not in redact_body(secret_json, "application/x-amz-json-1.1")
    ssm = json.dumps({"Name": "p", "Type": "SecureString", "Value": "hunter2"}).encode()
    assert b"hunter2" not in redact_body(ssm, "application/x-amz-json-1.1")
    form = b"Action=CreateLoginProfile&UserName=u&Password=pw"
    assert parse_qs(redact_body(form, "application/x-www-form-urlencoded").decode())["Password"] == [REDACTED]
    url = redact_url("http://h/b/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&X-Amz-Security-Token=t&v=1")
    assert "abc" not in url and "AKIA" not in url and "=t&" not in url and "v=1" in url


def test_moto_asks_the_engines_recorder_on_every_request() -> None:
    """Contract: ``moto.moto_api.recorder`` is where the engine's recorder goes (the engine's
    service apps look it up per request, as moto's Flask wrapper does; see test_moto_routing)."""
    import moto.moto_api

    recorder = RedactingRecorder()
    previous = moto.moto_api.recorder
    install_recorder(recorder)
    try:
        assert moto.moto_api.recorder is recorder
    finally:
        moto.moto_api.recorder = previous
