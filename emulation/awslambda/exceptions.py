"""Lambda API errors the runtime raises, one class per AWS error code (same name).

Each renders as AWS's REST-JSON error: the code in ``x-amzn-ErrorType`` and the body
``{"Type": "User", "message": ...}``, which is what boto3 parses into ``ClientError``.
"""

from __future__ import annotations

from typing import Any

from emulation.core.exceptions import AwsJsonError


class LambdaError(AwsJsonError):
    """Base: an AWS error code, an HTTP status and a message."""

    code = "ServiceException"
    code_is_class_name = False
    status = 500
    kind = "Service"

    def body(self) -> dict[str, Any]:
        return {"Type": self.kind, "message": self.message}


class InvalidParameterValueException(LambdaError):  # noqa: N818 - named after the AWS error code
    """A parameter of the request is not acceptable (e.g. a non-Python runtime)."""

    code = "InvalidParameterValueException"
    status = 400
    kind = "User"


class InvalidRequestContentException(LambdaError):  # noqa: N818 - named after the AWS error code
    """The invocation payload is not JSON."""

    code = "InvalidRequestContentException"
    status = 400
    kind = "User"


class RequestTooLargeException(LambdaError):  # noqa: N818 - named after the AWS error code
    """The invocation payload is over the 6 MB synchronous limit."""

    code = "RequestTooLargeException"
    status = 413
    kind = "User"


class ResourceNotFoundException(LambdaError):  # noqa: N818 - named after the AWS error code
    """No such function (or version, or alias)."""

    code = "ResourceNotFoundException"
    status = 404
    kind = "User"


class TooManyRequestsException(LambdaError):  # noqa: N818 - named after the AWS error code
    """Every execution environment of the function is busy (concurrency limit)."""

    code = "TooManyRequestsException"
    status = 429
    kind = "User"


class ServiceException(LambdaError):  # noqa: N818 - named after the AWS error code
    """The runtime itself failed (the sandbox could not be started)."""

    code = "ServiceException"
    status = 500
