"""Kinesis Video errors: HTTP errors named after their AWS error codes (ruff's N818 rule is
waived for them), and the error acknowledgements PutMedia writes into its answer stream."""

from __future__ import annotations

from emulation.core.exceptions import CONTENT_TYPE, ERROR_TYPE, REQUEST_ID, AwsJsonError


class KinesisVideoError(AwsJsonError):
    """An error answered as AWS's REST-JSON error (``x-amzn-ErrorType`` + ``{"Message"}``)."""

    message_key = "Message"
    wire_headers = (CONTENT_TYPE, REQUEST_ID, ERROR_TYPE)


class ResourceNotFoundException(KinesisVideoError):  # noqa: N818 - named after the AWS error code
    """The stream (or a fragment of it) does not exist."""

    status = 404


class InvalidArgumentException(KinesisVideoError):  # noqa: N818 - named after the AWS error code
    """A parameter is missing, malformed or out of range."""


class VersionMismatchException(KinesisVideoError):  # noqa: N818 - named after the AWS error code
    """``CurrentVersion`` is not the stream's version."""


class TagsPerResourceExceededLimitException(KinesisVideoError):  # noqa: N818 - named after the AWS error code
    """A stream would carry more than 50 tags."""


class NotAuthorizedException(KinesisVideoError):  # noqa: N818 - named after the AWS error code
    """The caller may not perform the operation (used for a stream that is not ACTIVE)."""

    status = 401


# -- PutMedia acknowledgements -------------------------------------------------------------
class AckError(Exception):
    """An ``ERROR`` acknowledgement: the fragment was refused, the session ends."""

    def __init__(self, error_id: int, error_code: str, detail: str) -> None:
        super().__init__(f"{error_code} ({error_id}): {detail}")
        self.error_id = error_id
        self.error_code = error_code
        self.detail = detail


#: PutMedia error acknowledgements (``ErrorId`` -> ``ErrorCode``), as AWS documents them
STREAM_READ_ERROR = (4000, "STREAM_READ_ERROR")
MAX_FRAGMENT_SIZE_REACHED = (4001, "MAX_FRAGMENT_SIZE_REACHED")
MAX_FRAGMENT_DURATION_REACHED = (4002, "MAX_FRAGMENT_DURATION_REACHED")
FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS = (4004, "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS")
MORE_THAN_ALLOWED_TRACKS_FOUND = (4005, "MORE_THAN_ALLOWED_TRACKS_FOUND")
INVALID_MKV_DATA = (4006, "INVALID_MKV_DATA")
INVALID_PRODUCER_TIMESTAMP = (4007, "INVALID_PRODUCER_TIMESTAMP")
INTERNAL_ERROR = (5000, "INTERNAL_ERROR")


def ack_error(kind: tuple[int, str], detail: str) -> AckError:
    return AckError(kind[0], kind[1], detail)
