"""Lambda API errors the runtime raises, one class per AWS error code (same name).

Each renders as AWS's REST-JSON error: the code in ``x-amzn-ErrorType`` and the body
``{"Type": "User", "message": ...}``, which is what boto3 parses into ``ClientError``.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Response


class LambdaError(Exception):
    """Base: an AWS error code, an HTTP status and a message."""

    code = "ServiceException"
    status = 500
    kind = "Service"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> Response:
        body = {"Type": self.kind, "message": self.message}
        return Response(
            json.dumps(body),
            status=self.status,
            headers={"x-amzn-ErrorType": self.code},
            mimetype="application/json",
        )


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
