"""PutObject, GetObject and HeadObject without moto's request machinery, same state, same answers.

Profiled with py-spy under ``benchmarks/bench_peers.py`` (1 KiB objects): of the ~1.3 ms a
PutObject spent in the engine, about two thirds went to the path to moto's S3 code, not
to storing the object - Flask's request context, moto's ``S3Response`` set-up (headers
parsed into several dicts, the body read again, the region and bucket parsed from the
URL), moto's recorder hook - and a GetObject paid the same.

This extension (last in line, order 95: IAM enforcement, Lake Formation and every other
extension have already seen the request) answers the plain cases itself with moto's own
parts: the caller's backend (``s3_backends[account][partition]``), ``S3Backend.put_object``
(which makes moto's ``FakeKey``, stores it in the bucket, versions included, and sends the
bucket's event notifications), moto's metadata, ACL and tagging calls, the key's own
``response_dict`` and moto's S3 response writer (:func:`emulation.core.moto_compat.response_sender`).
The objects it stores are moto's, in moto's backend: listings, versioning, notifications,
persistence (S3's rows, written before the answer: :mod:`emulation.core.s3store`), IAM and
Lake Formation see exactly what moto would have.

Anything else goes on to moto unchanged: a query string (versions, ACLs, tagging, parts,
presigned URLs...), a Range, conditional headers, SSE (customer keys or KMS), object lock,
ACL, tagging, storage-class or redirect headers, aws-chunked or streaming-signed bodies, an
``Origin`` (CORS), anonymous callers, access points, buckets with server access logging or
object lock, archived objects, a missing bucket or key (moto answers the error), moto's own
IAM checks switched on, or moto's request recorder running. ``tests/emulation/
test_s3_objects.py`` compares every answer with moto's for the same request.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core import cors, moto_compat
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.iam.actions import is_execute_api, s3_addressing

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

log = logging.getLogger(__name__)

#: headers whose presence sends a request to moto (lower case)
_MOTO_ONLY_HEADERS = frozenset(
    {
        "range",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "origin",
        "x-amz-copy-source",
        "x-amz-acl",
        "x-amz-grant-full-control",
        "x-amz-grant-read",
        "x-amz-grant-read-acp",
        "x-amz-grant-write",
        "x-amz-grant-write-acp",
        "x-amz-tagging",
        "x-amz-storage-class",
        "x-amz-website-redirect-location",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "x-amz-server-side-encryption-bucket-key-enabled",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold",
        "x-amz-decoded-content-length",
        "x-amz-trailer",
        "x-moto-account-id",
    }
)
_METHODS = frozenset({"GET", "PUT", "HEAD"})
#: moto's request handler keeps header names with underscores under this environ key
PRESERVED_HEADER_NAMES = "moto.preserved_header_names"


class _Moto:
    """moto's parts the fast path calls (imported when the extension starts)."""

    def __init__(self) -> None:
        import moto.moto_api
        import moto.settings
        from moto.core.request import EnvironHeaders
        from moto.iam.access_control import PermissionResult
        from moto.iam.models import get_account_id_from
        from moto.s3.models import FakeKey, s3_backends
        from moto.s3.utils import ARCHIVE_STORAGE_CLASSES, metadata_from_headers
        from moto.utilities.utils import get_partition

        self.denied = PermissionResult.DENIED
        self.settings = moto.settings
        self.moto_api = moto.moto_api
        self.environ_headers = EnvironHeaders
        self.account_of = get_account_id_from
        self.fake_key = FakeKey
        self.backends = s3_backends
        self.send_response = moto_compat.response_sender()
        self.archived = frozenset(ARCHIVE_STORAGE_CLASSES)
        self.metadata_from_headers = metadata_from_headers
        self.partition_of = get_partition

    def checks_iam(self) -> bool:
        """moto's own IAM checks are on, or counting down to (INITIAL_NO_AUTH_ACTION_COUNT set)."""
        return not math.isinf(self.settings.INITIAL_NO_AUTH_ACTION_COUNT)

    def records(self) -> bool:
        recorder = getattr(self.moto_api, "recorder", None)
        return recorder is None or bool(getattr(recorder, "recording", True))


class _Answer(Response):  # type: ignore[misc]
    """moto's answer as its Flask app would make it (``text/html`` by default), sent with
    the engine's treatment of moto's answers (moto's CORS headers dropped, the bucket's own
    CORS headers added)."""

    default_mimetype = "text/html"
    request: AwsRequest

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = self.request

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(
                status, cors.strip_cors(list(headers)) + cors.actual_headers(request), exc_info
            )

        return super().__call__(environ, start)


class S3ObjectFastPath(Extension):
    """Answers plain PutObject/GetObject/HeadObject calls with moto's own objects."""

    name = "s3-objects"
    order = 95

    def __init__(self) -> None:
        self.engine: EngineApp | None = None
        self._moto: _Moto | None = None
        self._unavailable = False
        self._lock = threading.Lock()
        self.answered = 0
        self.passed = 0

    def start(self, engine: EngineApp) -> None:
        self.engine = engine

    def warm_up(self) -> None:
        self._parts()

    def _parts(self) -> _Moto | None:
        """moto's parts, imported on first use (not at start: moto's S3 is imported then)."""
        if self._moto is None and not self._unavailable:
            with self._lock:
                if self._moto is None and not self._unavailable:
                    try:
                        self._moto = _Moto()
                    except (ImportError, AttributeError) as exc:  # moto moved something
                        log.warning("S3 object fast path off (moto changed?): %s", exc)
                        self._unavailable = True
        return self._moto

    def health(self) -> dict[str, Any]:
        return {"answered": self.answered, "passed_to_moto": self.passed}

    def handle(self, request: AwsRequest) -> Response | None:
        if request.method not in _METHODS or self.engine is None:
            return None
        if request.signing_service != "s3" or is_execute_api(request):
            return None
        target = _target(request)
        moto = self._parts() if target is not None else None
        answer = None
        if target is not None and moto is not None:
            answer = self._answer(request, target, moto, self.engine)
        if answer is None:
            self.passed += 1
        else:
            self.answered += 1
        return answer

    # -- the plain cases ------------------------------------------------------------------
    def _answer(
        self, request: AwsRequest, target: tuple[str, str], moto: _Moto, engine: EngineApp
    ) -> Response | None:
        bucket_name, key_name = target
        if moto.checks_iam() or moto.records() or "MOTO_ACCOUNT_ID" in os.environ:
            return None
        headers = moto.environ_headers(request.environ)
        if request.method == "PUT":
            content_sha = request.headers.get("x-amz-content-sha256", "")
            if content_sha.startswith("STREAMING-") or "aws-chunked" in request.headers.get(
                "content-encoding", ""
            ):
                return None
        account = moto.account_of(request.access_key)
        with engine.state_lock.shared():
            backend = moto.backends[account][moto.partition_of(request.region or "us-east-1")]
            bucket = _plain_bucket(backend, bucket_name)
            if bucket is None:
                return None
            action = {"GET": "s3:GetObject", "PUT": "s3:PutObject", "HEAD": "s3:HeadObject"}[request.method]
            resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
            if bucket.get_permission(action, resource) == moto.denied:
                return None
            if request.method != "PUT" and not _servable(bucket, key_name, moto):
                return None
            if request.method == "PUT":
                result = self._put(request, headers, backend, bucket, bucket_name, key_name, moto)
            else:
                result = self._get(request, headers, backend, bucket_name, key_name, moto)
            if result is None:
                return None
            status, response_headers, body = moto.send_response(result)
        answer = _Answer(response=body, status=status, headers=response_headers)
        if request.method == "HEAD" and "content-length" in response_headers:
            answer.headers["Content-Length"] = response_headers["content-length"]
        answer.request = request
        request.changes_state = request.method == "PUT"
        return answer

    def _put(
        self,
        request: AwsRequest,
        headers: Any,
        backend: Any,
        bucket: Any,
        bucket_name: str,
        key_name: str,
        moto: _Moto,
    ) -> tuple[int, dict[str, Any], str] | None:
        if bucket.object_lock_enabled:
            return None
        backend.get_object(bucket_name, key_name)  # as moto's key_response does (state advance)
        response_headers: dict[str, Any] = {}
        algorithm = headers.get("x-amz-sdk-checksum-algorithm", "")
        checksum_value: str | None = None
        if algorithm:
            checksum_header = f"x-amz-checksum-{algorithm.lower()}"
            checksum_value = headers.get(checksum_header)
            if not checksum_value:
                return None  # moto computes it or reads a trailer: its own path
            response_headers[checksum_header] = checksum_value
        new_key = backend.put_object(
            bucket_name,
            key_name,
            request.body or b"",
            storage="STANDARD",
            encryption=None,
            kms_key_id=None,
            bucket_key_enabled=None,
            lock_mode=None,
            lock_legal_status=headers.get("x-amz-object-lock-legal-hold"),
            lock_until=None,
            checksum_value=checksum_value,
        )
        new_key.set_metadata(moto.metadata_from_headers(listed_headers(request.environ)))
        new_key.set_acl(bucket.acl)
        new_key.website_redirect_location = None
        if algorithm:
            new_key.checksum_algorithm = algorithm
        backend.put_object_tagging(new_key, {})
        response_headers.update(new_key.response_dict)
        response_headers.pop("content-length", None)
        return 200, response_headers, ""

    def _get(
        self, request: AwsRequest, headers: Any, backend: Any, bucket_name: str, key_name: str, moto: _Moto
    ) -> tuple[int, dict[str, Any], Any] | None:
        key = backend.get_object(bucket_name, key_name)  # as moto's key_response does
        if key is None:
            return None
        checksum_mode = headers.get("x-amz-checksum-mode") == "ENABLED"
        if request.method == "HEAD":
            key = backend.head_object(bucket_name, key_name, version_id=None, part_number=None)
            response_headers: dict[str, Any] = {}
            response_headers.update(key.metadata)
            response_headers.update(key.response_dict)
            response_headers.update({"Accept-Ranges": "bytes"})
            if checksum_mode and key.checksum_algorithm:
                response_headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = key.checksum_value
            return 200, response_headers, ""
        key = backend.get_object(bucket_name, key_name)  # moto reads it twice (_get_key)
        if key is None or type(key) is not moto.fake_key:
            return None
        response_headers = {}
        if key.version_id != "null":
            response_headers["x-amz-version-id"] = key.version_id
        response_headers.update(key.response_dict)
        if checksum_mode and key.checksum_algorithm:
            qualified = key.checksum_value
            if key.checksum_type == "COMPOSITE":
                qualified = f"{key.checksum_value}-{key.checksum_parts}"
            response_headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = qualified
            if key.checksum_type:
                response_headers["x-amz-checksum-type"] = key.checksum_type
        response_headers.update(key.metadata)
        response_headers.update({"Accept-Ranges": "bytes"})
        return 200, response_headers, key.value


def listed_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers as moto's ``EnvironHeaders`` lists them when no name was
    preserved (werkzeug's spelling, ``X-Amz-Meta-Colour``), in one dict: moto's
    ``metadata_from_headers`` reads each name and value once, where iterating
    ``EnvironHeaders`` (three generators deep) was a tenth of a small PutObject's CPU."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in _CONTENT_HEADER_KEYS:
                headers[key[5:].replace("_", "-").title()] = value
        elif key in _CONTENT_KEYS and value:
            headers[key.replace("_", "-").title()] = value
    return headers


_CONTENT_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_CONTENT_HEADER_KEYS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})


def _target(request: AwsRequest) -> tuple[str, str] | None:
    """(bucket, key) of a plain object request, None when moto must answer it."""
    if request.query_string and not _only_x_id(request.query_string):
        return None
    if "authorization" not in request.headers or not request.access_key:
        return None  # anonymous callers are judged by object ACLs: moto's
    headers = request.headers
    if any(name in _MOTO_ONLY_HEADERS for name in headers):
        return None
    if request.environ.get(PRESERVED_HEADER_NAMES):
        return None  # metadata names with underscores (spelled as sent): moto's
    host = headers.get("host", "")
    if ".s3-accesspoint." in host:
        return None
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
    raw_path = raw.split("?", 1)[0]
    if not raw_path.startswith("/") or raw_path.startswith("//") or "%" in raw_path or "+" in raw_path:
        return None  # encoded keys: moto's own decoding
    bucket, key, virtual = s3_addressing(request)
    if bucket is None or key is None:
        return None
    if virtual:
        key_name = raw_path[1:]
    else:
        parts = raw_path.split("/")
        if parts[1] != bucket:
            return None
        key_name = "/".join(parts[2:])
    if not key_name or key_name != key:
        return None
    return bucket, key_name


def _servable(bucket: Any, key_name: str, moto: _Moto) -> bool:
    """The latest version of the key is an object moto would simply send (looked at without
    moto's ``get_object``, which advances the object's managed state)."""
    versions = dict.get(bucket.keys, key_name)
    if not versions:
        return False  # moto answers NoSuchKey
    latest = versions[-1]
    return type(latest) is moto.fake_key and latest.storage_class not in moto.archived


def _only_x_id(query_string: str) -> bool:
    """The SDKs' ``x-id=PutObject`` marker is the whole query (moto ignores it)."""
    return all(part.split("=", 1)[0] == "x-id" for part in query_string.split("&") if part)


def _plain_bucket(backend: Any, name: str) -> Any | None:
    """The bucket, when moto would serve an object call on it with nothing else to do."""
    from moto.s3.exceptions import S3ClientError

    try:
        bucket = backend.get_bucket(name)
    except S3ClientError:
        return None
    if type(bucket).__name__ != "FakeBucket" or bucket.logging:
        return None
    return bucket


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return S3ObjectFastPath()
