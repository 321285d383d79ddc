"""Kinesis errors, one class per AWS error code (the class name is the code, so ruff's
N818 ``Error`` suffix rule is waived for them)."""

from __future__ import annotations

from emulation.core.exceptions import CONTENT_TYPE, ERROR_TYPE, REQUEST_ID, AwsJsonError


class KinesisError(AwsJsonError):
    """An error answered to the client as AWS's JSON 1.1 error body."""

    type_in_body = True
    compact_json = True
    content_type = "application/x-amz-json-1.1"
    wire_headers = (CONTENT_TYPE, REQUEST_ID, ERROR_TYPE)


class ProvisionedThroughputExceededException(KinesisError):  # noqa: N818 - named after the AWS error code
    """A shard's write or read limit was exceeded."""

    @classmethod
    def for_write(cls, shard_id: str, stream: str, account: str) -> ProvisionedThroughputExceededException:
        return cls(write_throttle_message(shard_id, stream, account))

    @classmethod
    def for_read(cls, shard_id: str, stream: str, account: str) -> ProvisionedThroughputExceededException:
        return cls(f"Rate exceeded for Shard - {account}/{stream}/{shard_id}")


class ValidationException(KinesisError):  # noqa: N818 - named after the AWS error code
    """A request member breaks a constraint of the service model."""

    @classmethod
    def of(cls, violations: list[str]) -> ValidationException:
        count = len(violations)
        noun = "error" if count == 1 else "errors"
        return cls(f"{count} validation {noun} detected: " + "; ".join(violations))


class InvalidArgumentException(KinesisError):  # noqa: N818 - named after the AWS error code
    """A parameter is valid in form but not acceptable (sizes, hash key range)."""


class SerializationException(KinesisError):  # noqa: N818 - named after the AWS error code
    """The request body could not be read as the operation's input."""


class LimitExceededException(KinesisError):  # noqa: N818 - named after the AWS error code
    """An account quota (open shards per region) would be exceeded."""

    @classmethod
    def for_shards(
        cls, account: str, region: str, current: int, limit: int, more: int
    ) -> LimitExceededException:
        return cls(
            f"This request would exceed the shard limit for the account {account} in {region}. "
            f"Current shard count for the account: {current}. Limit: {limit}. Number of additional "
            f"shards that would have resulted from this request: {more}. Refer to the AWS Service "
            "Limits page for current limits and how to request higher limits."
        )


class InternalFailureException(KinesisError):  # noqa: N818 - named after the AWS error code
    """The engine could not make the put durable (the journal could not be written)."""

    status = 500


def write_throttle_message(shard_id: str, stream: str, account: str) -> str:
    """AWS's message for a throttled PutRecord call or PutRecords entry."""
    return f"Rate exceeded for shard {shard_id} in stream {stream} under account {account}."
