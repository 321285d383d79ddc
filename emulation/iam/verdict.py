"""The IAM layer's verdict on the request a thread is serving (read by S3's permission
hook, see :func:`emulation.s3.models.judge_bucket_policies_in_iam`); apart from the
enforcement extension so that an engine with ``--iam off`` imports none of it."""

from __future__ import annotations

import threading

#: per thread (the engine serves each request on one thread, extensions first, then moto)
_verdict = threading.local()


def record_verdict(authorized: bool) -> None:
    """What the IAM layer decided on the request this thread is serving."""
    _verdict.authorized = authorized


def request_authorized() -> bool:
    """Whether the IAM layer let the request this thread is serving through, having judged
    the caller's policies and the resource's own (bucket policies included) with the
    request's context (``aws:SecureTransport``, source IP, time...)."""
    return bool(getattr(_verdict, "authorized", False))
