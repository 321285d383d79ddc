"""Glue errors, one class per AWS error code (the class name is the code).

Glue speaks JSON 1.1: ``{"__type": code, "message": ...}`` with status 400.
"""

from __future__ import annotations

from emulation.core.exceptions import AwsJsonError


class GlueError(AwsJsonError):
    """An error answered to the client as Glue's JSON error body."""

    type_in_body = True
    content_type = "application/x-amz-json-1.1"


class ConcurrentRunsExceededException(GlueError):  # noqa: N818 - named after the AWS error code
    """The job already has ``MaxConcurrentRuns`` runs in progress."""

    @classmethod
    def for_job(cls, job_name: str) -> ConcurrentRunsExceededException:
        return cls(f"Concurrent runs exceeded for {job_name}")


class EntityNotFoundException(GlueError):  # noqa: N818 - named after the AWS error code
    """The job or job run does not exist."""


class InvalidInputException(GlueError):  # noqa: N818 - named after the AWS error code
    """A parameter is invalid or the combination of parameters is."""
