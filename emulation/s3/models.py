"""Bucket settings AWS keeps and answers, and moto does not (call with the state lock held).

* The EventBridge switch of a bucket's notification configuration: moto stores it but
  ``GetBucketNotificationConfiguration`` leaves ``<EventBridgeConfiguration/>`` out.
* The lifecycle configuration's ``TransitionDefaultMinimumObjectSize`` (request header
  ``x-amz-transition-default-minimum-object-size``): moto ignores it and always answers
  ``all_storage_classes_128K`` (AWS's default).
* Default encryption: since January 2023 every bucket is encrypted with SSE-S3 unless
  configured otherwise, and ``GetBucketEncryption`` answers that; moto answers
  ``ServerSideEncryptionConfigurationNotFoundError``.

This module is the one place that touches moto's bucket objects for these.
"""

from __future__ import annotations

import re
from typing import Any

from emulation.core import moto_compat
from emulation.core.moto_compat import existing_backend, existing_regions

DEFAULT_MINIMUM_OBJECT_SIZE = "all_storage_classes_128K"
MINIMUM_OBJECT_SIZES = ("all_storage_classes_128K", "varies_by_storage_class")
_EMPTY_CONFIGURATION = re.compile(r"<NotificationConfiguration(?P<attributes>[^>]*?)\s*/>")
_MINIMUM_SIZE_ATTRIBUTE = "nexus_transition_default_minimum_object_size"
DEFAULT_ENCRYPTION = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
    "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule>"
    "</ServerSideEncryptionConfiguration>"
)


def find_bucket(name: str) -> Any | None:
    """moto's bucket called ``name`` (in whichever account holds it), None when absent."""
    from moto.s3.models import s3_backends

    located = s3_backends.bucket_accounts.get(name)
    if not located:
        return None
    partition, account = located
    backend = existing_backend(s3_backends, account, partition)
    return backend.buckets.get(name) if backend is not None else None


#: AWS's default quota of general purpose buckets per account
BUCKET_QUOTA = 10_000


def bucket_count(account: str) -> int:
    """Buckets the account owns (in every partition), without creating its backend."""
    from moto.s3.models import s3_backends

    return sum(len(backend.buckets) for _partition, backend in existing_regions(s3_backends, account))


def sends_to_eventbridge(bucket: Any) -> bool:
    configuration = getattr(bucket, "notification_configuration", None)
    return configuration is not None and getattr(configuration, "event_bridge", None) is not None


def with_eventbridge(xml: bytes) -> bytes:
    """A GetBucketNotificationConfiguration answer with ``<EventBridgeConfiguration/>`` in it
    (moto's answer may be ``<NotificationConfiguration .../>`` or have a closing tag)."""
    text = xml.decode("utf-8")
    if "<EventBridgeConfiguration" in text:
        return xml
    element = "<EventBridgeConfiguration></EventBridgeConfiguration>"
    empty = _EMPTY_CONFIGURATION.search(text)
    if empty is not None:
        opening = f"<NotificationConfiguration{empty['attributes']}>"
        return (
            text[: empty.start()] + opening + element + "</NotificationConfiguration>" + text[empty.end() :]
        ).encode()
    closing = text.rfind("</NotificationConfiguration>")
    if closing < 0:
        return xml
    return (text[:closing] + element + text[closing:]).encode()


def minimum_object_size(bucket: Any) -> str:
    return str(getattr(bucket, _MINIMUM_SIZE_ATTRIBUTE, None) or DEFAULT_MINIMUM_OBJECT_SIZE)


def set_minimum_object_size(bucket: Any, value: str | None) -> None:
    setattr(bucket, _MINIMUM_SIZE_ATTRIBUTE, value or DEFAULT_MINIMUM_OBJECT_SIZE)


def judge_bucket_policies_in_iam() -> None:
    """moto's S3 object calls ask ``FakeBucket.get_permission`` whether the bucket policy
    allows or denies; answer with the IAM layer's verdict on this request instead.

    The IAM layer has already evaluated the bucket policy with the request's context (a
    request it denied never reaches moto): a request it let through is PERMITTED (so an
    anonymous GET a bucket policy allows is served even when the object's ACL is
    private), anything else (``--iam off``) NEUTRAL: nothing is enforced.
    """
    from emulation.iam.verdict import request_authorized

    moto_compat.judge_bucket_permissions(request_authorized)
