"""Bedrock runtime errors, one class per AWS error code (the class name is the code).

Bedrock runtime speaks REST-JSON: the code travels in the ``x-amzn-ErrorType`` header,
the message in a ``{"message": ...}`` body, with the HTTP status AWS uses for the code.
"""

from __future__ import annotations

from typing import Any

from emulation.core.exceptions import CONTENT_TYPE, ERROR_TYPE, REQUEST_ID, AwsJsonError

#: how AWS words every schema violation of an InvokeModel body
MALFORMED = "Malformed input request: {detail}, please reformat your input and try again."


class BedrockError(AwsJsonError):
    """An error answered to the client in Bedrock's REST-JSON error shape."""

    wire_headers = (REQUEST_ID, ERROR_TYPE, CONTENT_TYPE)

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        #: extra body fields (nexuskit's details; boto3 ignores them)
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


class ValidationException(BedrockError):  # noqa: N818 - named after the AWS error code
    """The request body or parameters break the model's input schema or limits."""

    @classmethod
    def malformed(cls, violations: list[str]) -> ValidationException:
        """AWS's wording: one violation is quoted, several are only counted."""
        detail = violations[0] if len(violations) == 1 else f"{len(violations)} schema violations found"
        return cls(MALFORMED.format(detail=detail), {"violations": violations})


class ResourceNotFoundException(BedrockError):  # noqa: N818 - named after the AWS error code
    """The model identifier does not name a model this engine (or the region) offers."""

    status = 404

    @classmethod
    def unknown_model(cls, model_id: str) -> ResourceNotFoundException:
        return cls(
            "Could not resolve the foundation model from the provided model identifier.",
            {"modelId": model_id},
        )


class AccessDeniedException(BedrockError):  # noqa: N818 - named after the AWS error code
    status = 403


class ThrottlingException(BedrockError):  # noqa: N818 - named after the AWS error code
    """The per-model requests-per-minute quota was exceeded."""

    status = 429


class ModelErrorException(BedrockError):  # noqa: N818 - named after the AWS error code
    status = 424


class InternalServerException(BedrockError):  # noqa: N818 - named after the AWS error code
    status = 500


class CassetteNotFoundException(BedrockError):  # noqa: N818 - named after the AWS error code
    """Replay mode got a request that no cassette holds (nexuskit's own code).

    Status 400 so that SDKs fail at once instead of retrying.
    """


class RecordingFailedException(BedrockError):  # noqa: N818 - named after the AWS error code
    """Record mode could not get an answer from real Bedrock (nexuskit's own code)."""
