"""The S3 extension of the engine (order 45): bucket configuration calls moto answers
incompletely go to moto, and their answers are completed (see :mod:`emulation.s3.models`):

* ``GetBucketNotificationConfiguration`` names EventBridge when it is on;
* ``PutBucketLifecycleConfiguration`` keeps ``x-amz-transition-default-minimum-object-size``
  (an invalid value is refused as AWS does) and ``GetBucketLifecycleConfiguration`` answers
  it;
* ``GetBucketEncryption`` of a bucket without a configuration answers SSE-S3, AWS's default.

Bucket policies are judged by the IAM layer (:mod:`emulation.iam`), with the request's
context; moto's own check of them on object calls knows no context (a TLS-only policy's
``aws:SecureTransport`` condition denied every call), so it is replaced by that verdict
(:func:`models.judge_bucket_policies_in_iam`).

Conditional writes (an object PUT or POST - PutObject, CompleteMultipartUpload, CopyObject -
with ``If-Match`` or ``If-None-Match``) go to moto one at a time: moto compares the ETag
and then stores the object, and two writers naming the same version must not both pass
the comparison before either stores (S3 lets exactly one of them succeed, the other gets
412 PreconditionFailed). Writers that rely on it: claims and leases kept in S3, such as
the dissemination ledger's retry claims.

Every other S3 call is moto's (object traffic never stops here: only bucket-level requests
with one of these sub-resources in the query, and conditional writes, are looked at).
"""

from __future__ import annotations

import io
import threading
import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from emulation.core import cors
from emulation.core.exceptions import TooManyBuckets
from emulation.core.extension import Extension
from emulation.core.request import AwsRequest
from emulation.core.settings import EngineSettings
from emulation.iam.actions import s3_bucket_and_key
from emulation.s3 import listing, models

if TYPE_CHECKING:
    from emulation.core.app import EngineApp

MINIMUM_SIZE_HEADER = "x-amz-transition-default-minimum-object-size"
_SUBRESOURCES = ("notification", "lifecycle", "encryption")
_NO_ENCRYPTION = b"ServerSideEncryptionConfigurationNotFoundError"


def _subresource(query_string: str) -> str | None:
    names = {part.split("=", 1)[0] for part in query_string.split("&") if part}
    found = [name for name in _SUBRESOURCES if name in names]
    return found[0] if len(found) == 1 else None


def _conditional(request: AwsRequest) -> bool:
    """An object write carrying If-Match or If-None-Match."""
    if request.signing_service not in {None, "s3"}:
        return False
    if "if-match" not in request.headers and "if-none-match" not in request.headers:
        return False
    bucket, key = s3_bucket_and_key(request)
    return bucket is not None and key is not None


def _invalid_argument(message: str, name: str, value: str) -> Response:
    request_id = uuid.uuid4().hex.upper()[:16]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>InvalidArgument</Code><Message>{message}</Message>"
        f"<ArgumentName>{name}</ArgumentName><ArgumentValue>{value}</ArgumentValue>"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return Response(body, status=400, mimetype="application/xml", headers={"x-amz-request-id": request_id})


class S3Extension(Extension):
    name = "s3"
    order = 45

    def __init__(self) -> None:
        self.engine: EngineApp | None = None
        self._conditional_writes = threading.Lock()

    def start(self, engine: EngineApp) -> None:
        self.engine = engine
        models.judge_bucket_policies_in_iam()
        listing.install()

    def handle(self, request: AwsRequest) -> Response | None:
        if request.method in {"PUT", "POST"} and _conditional(request):
            return self._conditional_write(request)
        if request.method == "PUT" and not request.query_string:
            return self._over_bucket_quota(request)
        if not request.query_string or request.method not in {"GET", "PUT"}:
            return None
        if request.signing_service not in {None, "s3"}:
            return None
        subresource = _subresource(request.query_string)
        if subresource is None:
            return None
        bucket, key = s3_bucket_and_key(request)
        if bucket is None or key is not None:
            return None
        if request.method == "PUT":
            return self._put_lifecycle(request, bucket) if subresource == "lifecycle" else None
        return self._get(request, bucket, subresource)

    def _over_bucket_quota(self, request: AwsRequest) -> Response | None:
        """CreateBucket past AWS's default of 10,000 buckets per account: 400 TooManyBuckets."""
        if self.engine is None or request.signing_service not in {None, "s3"}:
            return None
        bucket, key = s3_bucket_and_key(request)
        if bucket is None or key is not None:
            return None
        from emulation.core.request import account_of

        with self.engine.state_lock.shared():
            if models.find_bucket(bucket) is not None:
                return None  # moto answers BucketAlreadyOwnedByYou / BucketAlreadyExists
            owned = models.bucket_count(account_of(request))
        if owned < models.BUCKET_QUOTA:
            return None
        refusal = TooManyBuckets("You have attempted to create more buckets than allowed")
        return refusal.response(request.method)

    def _conditional_write(self, request: AwsRequest) -> Response | None:
        """moto compares and stores under one lock (see the module's docstring)."""
        if self.engine is None:
            return None
        answer = self._moto(request, holding=self._conditional_writes)
        with self.engine.state_lock.shared():
            for name, value in cors.actual_headers(request):
                answer.headers[name] = value
        return answer

    def _moto(self, request: AwsRequest, holding: AbstractContextManager[Any] | None = None) -> Response:
        assert self.engine is not None
        request.environ["wsgi.input"] = io.BytesIO(request.body)
        return self.engine.call_moto(request.environ, holding=holding)

    def _put_lifecycle(self, request: AwsRequest, name: str) -> Response:
        size = request.headers.get(MINIMUM_SIZE_HEADER)
        if size is not None and size not in models.MINIMUM_OBJECT_SIZES:
            return _invalid_argument(
                "Invalid value for x-amz-transition-default-minimum-object-size", MINIMUM_SIZE_HEADER, size
            )
        answer = self._moto(request)
        if answer.status_code == 200:
            assert self.engine is not None
            with self.engine.state_lock.shared():
                bucket = models.find_bucket(name)
                if bucket is not None:
                    models.set_minimum_object_size(bucket, size)
                    answer.headers[MINIMUM_SIZE_HEADER] = models.minimum_object_size(bucket)
        return answer

    def _get(self, request: AwsRequest, name: str, subresource: str) -> Response:
        assert self.engine is not None
        answer = self._moto(request)
        request.changes_state = False
        with self.engine.state_lock.shared():
            bucket = models.find_bucket(name)
            if bucket is None:
                return answer
            if (
                answer.status_code == 200
                and subresource == "notification"
                and models.sends_to_eventbridge(bucket)
            ):
                answer.set_data(models.with_eventbridge(answer.get_data()))
            if answer.status_code == 200 and subresource == "lifecycle":
                answer.headers[MINIMUM_SIZE_HEADER] = models.minimum_object_size(bucket)
        if subresource == "encryption" and answer.status_code == 404 and _NO_ENCRYPTION in answer.get_data():
            return Response(models.DEFAULT_ENCRYPTION, status=200, mimetype="application/xml")
        return answer


def create(settings: EngineSettings) -> Extension:
    """Factory named in :data:`emulation.extensions.REGISTRY`."""
    return S3Extension()
