"""Signed requests tampered with on the way, on every protocol family (issue 22, finding 4).

The attacker holds a request someone else signed (a replay, or a request seen on the
wire) and changes what the signature does not cover: the body, or unsigned headers such
as ``X-Amz-Content-SHA256`` or ``X-Amz-Security-Token``. Each test sends real bytes to a
real engine (IAM enforced) and checks the refusal and that nothing was stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

import pytest
from botocore.auth import HmacV1Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from nexuskit.aws import AwsTarget
from tests.helpers import REGION, EngineProcess, RawResponse, raw_request, sign_headers

STREAM = "sigv4-stream"
BUCKET = "sigv4-bucket"
PUT_RECORD = {"X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Type": "application/x-amz-json-1.1"}
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An enforcing engine with one Kinesis stream and one bucket."""
    running = EngineProcess(tmp_path_factory.mktemp("sigv4"), "--iam", "enforce").start()
    try:
        admin = running.target()
        admin.client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
        admin.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield running
    finally:
        running.stop()


def _record(data: str) -> bytes:
    payload = {"StreamName": STREAM, "Data": base64.b64encode(data.encode()).decode(), "PartitionKey": "p"}
    return json.dumps(payload).encode()


def _stored_records(engine: EngineProcess) -> list[bytes]:
    kinesis = engine.target().client("kinesis")
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return [r["Data"] for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]]


def _object(engine: EngineProcess, key: str) -> bytes | None:
    try:
        body: bytes = engine.target().client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except ClientError:
        return None
    return body


def _send(engine: EngineProcess, method: str, path: str, body: bytes, headers: dict[str, str]) -> RawResponse:
    return raw_request(engine.endpoint, method, path, body, headers)


# -- JSON (awsJson: Kinesis) ---------------------------------------------------------------
def test_kinesis_accepts_the_body_that_was_signed(engine: EngineProcess) -> None:
    """Control: the signed PutRecord, sent as signed, is stored."""
    body = _record("genuine-json")
    headers = sign_headers(engine.target(), "POST", engine.endpoint + "/", "kinesis", body, PUT_RECORD)
    assert _send(engine, "POST", "/", body, headers).status == 200
    assert b"genuine-json" in _stored_records(engine)


def test_kinesis_refuses_a_swapped_body_with_an_unsigned_content_hash(engine: EngineProcess) -> None:
    """Finding 4: a signed PutRecord replayed with another body and an unsigned
    X-Amz-Content-SHA256 of that body is refused, and the forged record is not stored."""
    signed = sign_headers(
        engine.target(), "POST", engine.endpoint + "/", "kinesis", _record("genuine"), PUT_RECORD
    )
    forged = _record("forged-by-attacker")
    headers = {**signed, "X-Amz-Content-SHA256": hashlib.sha256(forged).hexdigest()}
    answer = _send(engine, "POST", "/", forged, headers)
    assert answer.status == 400
    assert answer.json()["__type"] == "InvalidSignatureException"
    assert b"forged-by-attacker" not in _stored_records(engine)


def test_kinesis_refuses_a_swapped_body(engine: EngineProcess) -> None:
    """The body's hash is computed by the engine: a new body breaks the signature."""
    signed = sign_headers(
        engine.target(), "POST", engine.endpoint + "/", "kinesis", _record("original"), PUT_RECORD
    )
    answer = _send(engine, "POST", "/", _record("swapped-body"), signed)
    assert answer.status == 400
    assert answer.json()["__type"] == "InvalidSignatureException"
    assert b"swapped-body" not in _stored_records(engine)


def test_a_session_token_outside_the_signature_is_not_accepted(engine: EngineProcess) -> None:
    """Temporary credentials whose X-Amz-Security-Token was added after signing are refused."""
    session = engine.target().client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    keys_only = engine.target().with_credentials(session["AccessKeyId"], session["SecretAccessKey"])
    body = _record("token-outside")
    signed = sign_headers(keys_only, "POST", engine.endpoint + "/", "kinesis", body, PUT_RECORD)
    answer = _send(engine, "POST", "/", body, {**signed, "X-Amz-Security-Token": session["SessionToken"]})
    assert answer.status == 400
    assert b"token-outside" not in _stored_records(engine)


# -- query (IAM) ---------------------------------------------------------------------------------
def test_query_api_refuses_a_swapped_form_body(engine: EngineProcess) -> None:
    """A signed IAM CreateUser whose form body names another user is refused; no such user."""
    url = engine.endpoint + "/"
    genuine = b"Action=CreateUser&UserName=alice&Version=2010-05-08"
    signed = sign_headers(engine.target(), "POST", url, "iam", genuine, FORM)
    forged = b"Action=CreateUser&UserName=mallory&Version=2010-05-08"
    answer = _send(
        engine, "POST", "/", forged, {**signed, "X-Amz-Content-SHA256": hashlib.sha256(forged).hexdigest()}
    )
    assert answer.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in answer.body
    with pytest.raises(ClientError) as missing:
        engine.target().client("iam").get_user(UserName="mallory")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


# -- REST-XML: S3 ------------------------------------------------------------------------------
def test_s3_put_with_a_signed_payload_hash_refuses_a_swapped_body(engine: EngineProcess) -> None:
    """PutObject signed with the body's SHA-256; another body: 400 XAmzContentSHA256Mismatch,
    and no object."""
    path = f"/{BUCKET}/swapped.txt"
    signed = sign_headers(engine.target(), "PUT", engine.endpoint + path, "s3", b"the genuine report")
    answer = _send(engine, "PUT", path, b"a forged report!!!", signed)
    assert answer.status == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in answer.body
    assert _object(engine, "swapped.txt") is None


def test_s3_refuses_a_rewritten_content_hash(engine: EngineProcess) -> None:
    """Rewriting the (signed) X-Amz-Content-SHA256 to the new body's hash breaks the signature."""
    path = f"/{BUCKET}/rehashed.txt"
    signed = sign_headers(engine.target(), "PUT", engine.endpoint + path, "s3", b"the genuine report")
    forged = b"a forged report"
    answer = _send(
        engine, "PUT", path, forged, {**signed, "X-Amz-Content-SHA256": hashlib.sha256(forged).hexdigest()}
    )
    assert answer.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in answer.body
    assert _object(engine, "rehashed.txt") is None


def test_s3_accepts_unsigned_payload(engine: EngineProcess) -> None:
    """UNSIGNED-PAYLOAD (signed as such) is accepted for S3, as AWS accepts it."""
    path = f"/{BUCKET}/unsigned-payload.txt"
    headers = _sigv4(
        engine.target(), "PUT", engine.endpoint + path, {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    assert _send(engine, "PUT", path, b"streamed without a hash", headers).status == 200
    assert _object(engine, "unsigned-payload.txt") == b"streamed without a hash"


def test_s3_signed_streaming_upload_is_accepted(engine: EngineProcess) -> None:
    """Control: an aws-chunked upload with valid chunk signatures stores the decoded data."""
    path = f"/{BUCKET}/streamed.bin"
    chunks = [b"first chunk of the upload;", b"second chunk"]
    headers, body = _streaming_upload(engine, path, chunks)
    assert _send(engine, "PUT", path, body, headers).status == 200
    assert _object(engine, "streamed.bin") == b"".join(chunks)


def test_s3_signed_streaming_upload_refuses_a_tampered_chunk(engine: EngineProcess) -> None:
    """One changed byte in a signed chunk: 403 SignatureDoesNotMatch, no object."""
    path = f"/{BUCKET}/tampered.bin"
    headers, body = _streaming_upload(engine, path, [b"first chunk of the upload;", b"second chunk"])
    tampered = body.replace(b"second chunk", b"SECOND chunk")
    answer = _send(engine, "PUT", path, tampered, headers)
    assert answer.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in answer.body
    assert _object(engine, "tampered.bin") is None


# -- request time ----------------------------------------------------------------------------------
def test_s3_sigv2_with_a_two_year_old_date_is_too_skewed(engine: EngineProcess) -> None:
    """Finding 7: an S3 SigV2 request dated two years ago is 403 RequestTimeTooSkewed."""
    engine.target().client("s3").put_object(Bucket=BUCKET, Key="old.txt", Body=b"x")

    class TwoYearsAgo(HmacV1Auth):  # type: ignore[misc]
        def _get_date(self) -> str:
            return formatdate(time.time() - 2 * 365 * 86400, usegmt=True)

    url = f"{engine.endpoint}/{BUCKET}/old.txt"
    request = AWSRequest(method="GET", url=url)
    TwoYearsAgo(Credentials(engine.target().access_key_id, engine.target().secret_access_key)).add_auth(
        request
    )
    answer = _send(engine, "GET", f"/{BUCKET}/old.txt", b"", dict(request.headers.items()))
    assert answer.status == 403
    assert b"<Code>RequestTimeTooSkewed</Code>" in answer.body
    assert b"The difference between the request time and the current time is too large." in answer.body


def test_s3_sigv4_with_an_old_date_is_too_skewed(
    engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SigV4 S3 requests signed 20 minutes ago are RequestTimeTooSkewed too."""
    path = f"/{BUCKET}/late.txt"
    headers = _signed_at(
        monkeypatch, timedelta(minutes=-20), engine.target(), "PUT", engine.endpoint + path, "s3"
    )
    answer = _send(engine, "PUT", path, b"late", headers)
    assert answer.status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in answer.body
    assert _object(engine, "late.txt") is None


def test_other_services_keep_their_expired_signature_error(
    engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kinesis signed 20 minutes ago: InvalidSignatureException "Signature expired", as AWS."""
    body = _record("expired")
    headers = _signed_at(
        monkeypatch, timedelta(minutes=-20), engine.target(), "POST", engine.endpoint + "/", "kinesis", body
    )
    answer = _send(engine, "POST", "/", body, {**PUT_RECORD, **headers})
    assert answer.status == 400
    assert answer.json()["__type"] == "InvalidSignatureException"
    assert answer.json()["message"].startswith("Signature expired")


# -- helpers --------------------------------------------------------------------------------------
def _sigv4(
    target: AwsTarget, method: str, url: str, headers: dict[str, str], body: bytes = b""
) -> dict[str, str]:
    """Plain SigV4 for S3 with the caller's own X-Amz-Content-SHA256 (no payload hashing)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(target.access_key_id, target.secret_access_key), "s3", REGION).add_auth(request)
    return {"Host": url.split("/")[2], **dict(request.headers.items())}


def _streaming_upload(engine: EngineProcess, path: str, chunks: list[bytes]) -> tuple[dict[str, str], bytes]:
    """Headers and aws-chunked body of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload, each
    chunk signed as the SDKs sign them."""
    target = engine.target()
    decoded = b"".join(chunks)
    headers = _sigv4(
        target,
        "PUT",
        engine.endpoint + path,
        {
            "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "Content-Encoding": "aws-chunked",
            "X-Amz-Decoded-Content-Length": str(len(decoded)),
        },
    )
    timestamp = headers["X-Amz-Date"]
    scope = f"{timestamp[:8]}/{REGION}/s3/aws4_request"
    key = f"AWS4{target.secret_access_key}".encode()
    for part in (timestamp[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = headers["Authorization"].rsplit("Signature=", 1)[1]
    body = b""
    for chunk in [*chunks, b""]:
        digest = hashlib.sha256(chunk).hexdigest()
        string_to_sign = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{digest}"
        )
        previous = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk + b"\r\n"
    return headers, body


def _signed_at(
    monkeypatch: pytest.MonkeyPatch,
    offset: timedelta,
    target: AwsTarget,
    method: str,
    url: str,
    service: str,
    body: bytes = b"",
) -> dict[str, str]:
    """Headers signed as if the client's clock were ``offset`` away from now."""
    import botocore.auth

    signed_at = datetime.now(UTC).replace(tzinfo=None) + offset
    with monkeypatch.context() as patch:
        patch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
        extra: dict[str, Any] = PUT_RECORD if service == "kinesis" else {}
        return sign_headers(target, method, url, service, body, extra)
