"""Firehose errors: API errors answered to a caller, and delivery failures.

API errors are named after their AWS error codes (awsJson 1.1: ``__type`` and ``message``).

Delivery failures are named by the error codes Firehose writes to its CloudWatch log:
Firehose reports them as ``<Service>.<Code>`` (``S3.NoSuchBucket``, ``S3.AccessDenied``).
Those codes are not Python names, so the classes are one per *origin* (the destination
bucket, the source stream) and carry the AWS code.
"""

from __future__ import annotations

from emulation.core.exceptions import CONTENT_TYPE, REQUEST_ID, AwsJsonError


# -- API errors ----------------------------------------------------------------------------
class FirehoseApiError(AwsJsonError):
    """An error answered to the caller of a Firehose API."""

    type_in_body = True
    content_type = "application/x-amz-json-1.1"
    wire_headers = (REQUEST_ID, CONTENT_TYPE)


class InvalidArgumentException(FirehoseApiError):  # noqa: N818 - named after the AWS error code
    """A parameter is invalid, or the operation is not allowed on this delivery stream."""


# -- delivery failures ---------------------------------------------------------------------


class FirehoseDeliveryError(Exception):
    """One delivery attempt failed; the records stay buffered and are retried."""

    error_code: str = "InternalFailure"

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code


class DestinationDeliveryError(FirehoseDeliveryError):
    """The S3 destination refused an object (``S3.NoSuchBucket``, ``S3.AccessDenied``...)."""

    error_code = "S3.InternalError"

    @classmethod
    def from_s3(cls, exc: Exception) -> DestinationDeliveryError:
        """Translate an exception raised by moto's S3 backend."""
        code = getattr(exc, "code", None) or getattr(exc, "error_type", None) or "InternalError"
        message = str(getattr(exc, "message", "") or exc) or code
        if not message.endswith("."):
            message += "."
        return cls(message, f"S3.{code}")


class SourceReadError(FirehoseDeliveryError):
    """The Kinesis source stream cannot be read (deleted, never created)."""

    error_code = "Kinesis.ResourceNotFound"
