"""Delivery failures, named by the error codes Firehose writes to its CloudWatch log.

Firehose reports delivery errors as ``<Service>.<Code>`` (``S3.NoSuchBucket``,
``S3.AccessDenied``). Those codes are not Python names, so the classes here are one per
*origin* (the destination bucket, the source stream) and carry the AWS code.
"""

from __future__ import annotations


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
