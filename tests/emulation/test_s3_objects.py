"""The S3 object fast path (``emulation/s3/objects.py``) answers exactly what moto answers.

Two engine apps share moto's (process-wide) S3 state: one with the fast path in front of
moto, one with moto alone. Each PutObject is sent to both (on two keys); the answers must
be equal header for header (request ids, dates and version ids aside) and the stored
objects equal attribute for attribute. Each GetObject and HeadObject of one key is sent to
both and must be equal, body included. Requests the fast path leaves to moto are checked
to reach moto, and to get moto's answer.
"""

from __future__ import annotations

import base64
import itertools
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, environ_key_for_header
from werkzeug.test import Client, EnvironBuilder

from emulation.core.app import EngineApp
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.s3.objects import S3ObjectFastPath

ACCOUNT = "123456789012"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAFASTPATHTEST0001/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
)
#: what differs between two answers to the same request, whoever gives them
VOLATILE = {"x-amzn-requestid", "date", "x-amz-request-id", "x-amz-id-2"}
_names = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[EngineApp, EngineApp, S3ObjectFastPath]]:
    settings = EngineSettings(iam="off", persist=False, kinesis_limits="off")
    fast = S3ObjectFastPath()
    with_fast_path = EngineApp(settings, [fast])
    moto_alone = EngineApp(settings, [])
    fast.start(with_fast_path)
    yield with_fast_path, moto_alone, fast


def _environ(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> dict[str, Any]:
    raw_path, _, query = path.partition("?")
    all_headers = {
        "host": "127.0.0.1:4566",
        "authorization": AUTH,
        "x-amz-date": "20260101T000000Z",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    }
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    builder = EnvironBuilder(
        method=method, path=raw_path, query_string=query, headers=all_headers, data=body or None
    )
    environ = builder.get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = path
    # as moto's request handler records a header name with underscores (S3 metadata)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
        environ_key_for_header(name): name for name in (headers or {}) if "_" in name
    }
    return environ


def _call(
    app: EngineApp, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Any:
    environ = _environ(method, path, headers, body)
    return Client(app).open(environ)


def _create_bucket(app: EngineApp, name: str, *, versioned: bool = False) -> None:
    assert _call(app, "PUT", f"/{name}").status_code == 200
    if versioned:
        config = (
            b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Status>Enabled</Status></VersioningConfiguration>"
        )
        assert _call(app, "PUT", f"/{name}?versioning", body=config).status_code == 200


def _headers(response: Any, *, also: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The answer's headers, in order, with the values that legitimately differ masked."""
    return [
        (name.lower(), "*" if name.lower() in VOLATILE | also else value)
        for name, value in response.headers.items()
    ]


def _stored(app: EngineApp, bucket: str, key: str) -> dict[str, Any]:
    """What moto holds for the object (its attributes as a user could read them back)."""
    from moto.s3.models import s3_backends

    obj = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys[key]
    tags = s3_backends[ACCOUNT]["aws"].get_object_tagging(obj)
    return {
        "value": obj.value,
        "etag": obj.etag,
        "size": obj.size,
        "metadata": dict(obj.metadata),
        "storage_class": obj.storage_class,
        "encryption": obj.encryption,
        "kms_key_id": obj.kms_key_id,
        "checksum_algorithm": obj.checksum_algorithm,
        "checksum_value": obj.checksum_value,
        "acl": obj.acl.to_config_dict() if obj.acl else None,
        "tags": tags,
        "website_redirect_location": obj.website_redirect_location,
        "lock": (obj.lock_mode, obj.lock_legal_status, obj.lock_until),
        "version_id_is_null": obj.version_id == "null",
    }


def _crc32(body: bytes) -> str:
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


BODY = b"line one\nline two\n" * 57
PUT_CASES: dict[str, dict[str, str]] = {
    "boto3 default (CRC32 header)": {
        "x-amz-checksum-crc32": _crc32(BODY),
        "x-amz-sdk-checksum-algorithm": "CRC32",
    },
    "no checksum": {},
    "metadata and content headers": {
        "Content-Type": "application/json",
        "Cache-Control": "no-cache",
        "Content-Disposition": "attachment",
        "Content-Language": "en",
        "Expires": "Thu, 01 Dec 2044 16:00:00 GMT",
        "x-amz-meta-owner": "lake",
        "X-Amz-Meta-Mixed-Case": "Value",
        "Content-MD5": base64.b64encode(__import__("hashlib").md5(BODY).digest()).decode(),
    },
    "SHA256 checksum": {
        "x-amz-checksum-sha256": base64.b64encode(__import__("hashlib").sha256(BODY).digest()).decode(),
        "x-amz-sdk-checksum-algorithm": "SHA256",
    },
}


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
@pytest.mark.parametrize("case", list(PUT_CASES))
def test_put_object_answers_and_stores_what_moto_does(
    apps: tuple[EngineApp, EngineApp, S3ObjectFastPath], case: str, versioned: bool
) -> None:
    """A PutObject through the fast path answers moto's headers and stores moto's object."""
    fast_app, moto_app, fast = apps
    bucket = _name("put")
    _create_bucket(moto_app, bucket, versioned=versioned)
    answered = fast.answered
    ours = _call(fast_app, "PUT", f"/{bucket}/dir/ours.txt?x-id=PutObject", PUT_CASES[case], BODY)
    theirs = _call(moto_app, "PUT", f"/{bucket}/dir/theirs.txt?x-id=PutObject", PUT_CASES[case], BODY)
    assert fast.answered == answered + 1
    assert (ours.status_code, ours.data) == (theirs.status_code, theirs.data)
    masked = frozenset({"last-modified", "x-amz-version-id"})
    assert _headers(ours, also=masked) == _headers(theirs, also=masked)
    assert _stored(moto_app, bucket, "dir/ours.txt") == _stored(moto_app, bucket, "dir/theirs.txt")


GET_CASES: dict[str, dict[str, str]] = {
    "plain": {},
    "checksum mode": {"x-amz-checksum-mode": "ENABLED"},
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
@pytest.mark.parametrize("put_case", ["boto3 default (CRC32 header)", "metadata and content headers"])
@pytest.mark.parametrize("case", list(GET_CASES))
def test_get_and_head_object_answer_what_moto_does(
    apps: tuple[EngineApp, EngineApp, S3ObjectFastPath],
    case: str,
    put_case: str,
    versioned: bool,
    method: str,
) -> None:
    """GetObject and HeadObject answer moto's status, headers and body, byte for byte."""
    fast_app, moto_app, fast = apps
    bucket = _name("get")
    _create_bucket(moto_app, bucket, versioned=versioned)
    _call(moto_app, "PUT", f"/{bucket}/k", {"x-amz-meta-a": "1"}, b"old")
    assert _call(moto_app, "PUT", f"/{bucket}/k", PUT_CASES[put_case], BODY).status_code == 200
    answered = fast.answered
    ours = _call(fast_app, method, f"/{bucket}/k?x-id=GetObject", GET_CASES[case])
    theirs = _call(moto_app, method, f"/{bucket}/k?x-id=GetObject", GET_CASES[case])
    assert fast.answered == answered + 1
    assert (ours.status_code, ours.data) == (theirs.status_code, theirs.data)
    assert _headers(ours) == _headers(theirs)
    if method == "GET":
        assert ours.data == BODY


def test_objects_put_through_the_fast_path_are_moto_objects(
    apps: tuple[EngineApp, EngineApp, S3ObjectFastPath],
) -> None:
    """moto lists, versions and reads back what the fast path stored (same state for every API)."""
    fast_app, moto_app, _ = apps
    bucket = _name("state")
    _create_bucket(moto_app, bucket, versioned=True)
    for body in (b"one", b"two"):
        assert _call(fast_app, "PUT", f"/{bucket}/a/b.txt", {}, body).status_code == 200
    listing = _call(moto_app, "GET", f"/{bucket}?versions").data
    assert listing.count(b"<Version>") == 2
    assert _call(moto_app, "GET", f"/{bucket}/a/b.txt").data == b"two"
    assert b"<Key>a/b.txt</Key>" in _call(moto_app, "GET", f"/{bucket}?list-type=2").data


def _reaches_moto(fast: S3ObjectFastPath, environ: dict[str, Any]) -> bool:
    return fast.handle(AwsRequest.from_environ(environ)) is None


FALLBACKS: dict[str, tuple[str, str, dict[str, str]]] = {
    "range": ("GET", "/{b}/k", {"Range": "bytes=0-3"}),
    "if-none-match": ("GET", "/{b}/k", {"If-None-Match": '"x"'}),
    "if-modified-since": ("HEAD", "/{b}/k", {"If-Modified-Since": "Thu, 01 Dec 2044 16:00:00 GMT"}),
    "version id": ("GET", "/{b}/k?versionId=null", {}),
    "object ACL": ("GET", "/{b}/k?acl", {}),
    "tagging": ("PUT", "/{b}/k", {"x-amz-tagging": "a=b"}),
    "canned ACL": ("PUT", "/{b}/k", {"x-amz-acl": "public-read"}),
    "SSE-KMS": ("PUT", "/{b}/k", {"x-amz-server-side-encryption": "aws:kms"}),
    "SSE-C": ("GET", "/{b}/k", {"x-amz-server-side-encryption-customer-algorithm": "AES256"}),
    "storage class": ("PUT", "/{b}/k", {"x-amz-storage-class": "GLACIER"}),
    "copy": ("PUT", "/{b}/k2", {"x-amz-copy-source": "/{b}/k"}),
    "checksum to compute": ("PUT", "/{b}/k", {"x-amz-sdk-checksum-algorithm": "CRC32"}),
    "aws-chunked": ("PUT", "/{b}/k", {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}),
    "CORS origin": ("GET", "/{b}/k", {"Origin": "http://localhost:3000"}),
    "missing key": ("GET", "/{b}/missing", {}),
    "missing bucket": ("PUT", "/no-such-bucket-anywhere/k", {}),
    "encoded key": ("GET", "/{b}/a%2Fb", {}),
    "metadata name with underscore": ("PUT", "/{b}/k", {"x-amz-meta-my_key": "1"}),
    "presigned": ("GET", "/{b}/k?X-Amz-Signature=abc&X-Amz-Credential=x", {}),
    "part upload": ("PUT", "/{b}/k?partNumber=1&uploadId=abc", {}),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_requests_the_fast_path_does_not_handle_reach_moto(
    apps: tuple[EngineApp, EngineApp, S3ObjectFastPath], case: str
) -> None:
    """Each request outside the plain cases goes to moto unchanged."""
    _fast_app, moto_app, fast = apps
    bucket = _name("fallback")
    _create_bucket(moto_app, bucket)
    _call(moto_app, "PUT", f"/{bucket}/k", {}, b"body")
    method, path, headers = FALLBACKS[case]
    path = path.replace("{b}", bucket)
    headers = {name: value.replace("{b}", bucket) for name, value in headers.items()}
    assert _reaches_moto(fast, _environ(method, path, headers, b"x" if method == "PUT" else b""))


def test_anonymous_requests_reach_moto(apps: tuple[EngineApp, EngineApp, S3ObjectFastPath]) -> None:
    """An unsigned GetObject is judged by the object's ACL: moto's."""
    _fast_app, moto_app, fast = apps
    bucket = _name("anonymous")
    _create_bucket(moto_app, bucket)
    _call(moto_app, "PUT", f"/{bucket}/k", {}, b"body")
    environ = _environ("GET", f"/{bucket}/k")
    del environ["HTTP_AUTHORIZATION"]
    assert _reaches_moto(fast, environ)


def test_a_delete_marker_and_an_object_lock_bucket_reach_moto(
    apps: tuple[EngineApp, EngineApp, S3ObjectFastPath],
) -> None:
    """A key whose latest version is a delete marker, and a bucket with object lock, are moto's."""
    fast_app, moto_app, fast = apps
    bucket = _name("marker")
    _create_bucket(moto_app, bucket, versioned=True)
    _call(moto_app, "PUT", f"/{bucket}/k", {}, b"body")
    _call(moto_app, "DELETE", f"/{bucket}/k")
    assert _reaches_moto(fast, _environ("GET", f"/{bucket}/k"))
    assert _reaches_moto(fast, _environ("HEAD", f"/{bucket}/k"))
    ours = _call(fast_app, "HEAD", f"/{bucket}/k")
    theirs = _call(moto_app, "HEAD", f"/{bucket}/k")
    assert (ours.status_code, _headers(ours)) == (theirs.status_code, _headers(theirs))
    locked = _name("locked")
    response = _call(moto_app, "PUT", f"/{locked}", {"x-amz-bucket-object-lock-enabled": "true"})
    assert response.status_code == 200
    assert _reaches_moto(fast, _environ("PUT", f"/{locked}/k", {}, b"x"))


def test_missing_keys_get_motos_error(apps: tuple[EngineApp, EngineApp, S3ObjectFastPath]) -> None:
    """A GetObject of a missing key answers moto's NoSuchKey through the engine with the fast path."""
    fast_app, moto_app, _ = apps
    bucket = _name("missing")
    _create_bucket(moto_app, bucket)
    ours = _call(fast_app, "GET", f"/{bucket}/nothing")
    assert ours.status_code == 404
    assert b"<Code>NoSuchKey</Code>" in ours.data


def test_the_preserved_header_names_key_is_motos() -> None:
    """Contract: the fast path looks for underscored metadata names where moto keeps them."""
    from emulation.s3 import objects

    assert objects.PRESERVED_HEADER_NAMES == PRESERVED_HEADER_NAMES_ENVIRON_KEY


def test_listed_headers_are_motos_environ_headers() -> None:
    """Contract: the fast path hands moto's metadata reader the names and values moto's own
    ``EnvironHeaders`` would list (werkzeug's spelling, content headers included)."""
    from moto.core.request import EnvironHeaders

    from emulation.s3.objects import listed_headers

    environ = _environ(
        "PUT",
        "/bucket/key",
        {
            "x-amz-meta-colour": "red",
            "X-Amz-Meta-Shape": "round",
            "content-type": "text/plain",
            "cache-control": "no-cache",
            "content-encoding": "gzip",
            "expires": "Thu, 01 Jan 2037 00:00:00 GMT",
        },
        b"body",
    )
    environ["HTTP_CONTENT_TYPE"] = "ignored/by-werkzeug"
    listed = listed_headers(environ)
    assert listed == dict(EnvironHeaders(environ))
    assert listed["X-Amz-Meta-Colour"] == "red" and listed["Content-Type"] == "text/plain"
