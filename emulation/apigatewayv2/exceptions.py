"""API Gateway v2 errors, one class per AWS error code.

Management calls raise :class:`ApiGatewayV2Error` subclasses (``{"message"}`` with
``x-amzn-ErrorType``). The data plane's own refusals (throttling, IAM authorization)
are :class:`GatewayResponseError` subclasses, answered as gateway responses; its other
answers (``{"message": "Not Found"}`` and friends) are built in
:mod:`emulation.apigatewayv2.models`.
"""

from __future__ import annotations

from emulation.core.exceptions import AwsJsonError


class ApiGatewayV2Error(AwsJsonError):
    """Base: an AWS error code, an HTTP status and a message."""

    code = "BadRequestException"
    code_is_class_name = False
    status = 400


class BadRequestException(ApiGatewayV2Error):  # noqa: N818 - named after the AWS error code
    """The request is malformed (e.g. an access log destination that is not a log group ARN)."""

    code = "BadRequestException"
    status = 400


class NotFoundException(ApiGatewayV2Error):  # noqa: N818 - named after the AWS error code
    """No such API or stage."""

    code = "NotFoundException"
    status = 404


# -- data-plane refusals -------------------------------------------------------------------
class GatewayResponseError(Exception):
    """A request the data plane refuses itself, answered as API Gateway does:
    ``{"message": ...}`` with the status and ``x-amzn-ErrorType`` of the error code."""

    code = "ForbiddenException"
    status = 403
    default_message = "Forbidden"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ForbiddenException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """An ``AWS_IAM`` route called without a signature (or a route type not emulated)."""


class AccessDeniedException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """A signed caller whose policies do not allow ``execute-api:Invoke`` on the route."""

    code = "AccessDeniedException"


class IncompleteSignatureException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """An Authorization header that cannot be parsed, or not SigV4."""

    code = "IncompleteSignatureException"


class InvalidSignatureException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """A signature that does not match, is scoped to another service or region, or is stale."""

    code = "InvalidSignatureException"


class UnrecognizedClientException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """An access key (or session token) the account does not know."""

    code = "UnrecognizedClientException"
    default_message = "The security token included in the request is invalid."


class ExpiredTokenException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """Temporary credentials used after their expiry."""

    code = "ExpiredTokenException"
    default_message = "The security token included in the request is expired"


class TooManyRequestsException(GatewayResponseError):  # noqa: N818 - named after the AWS error code
    """Over the route's throttling (its token bucket is empty) or the function's concurrency."""

    code = "TooManyRequestsException"
    status = 429
    default_message = "Too Many Requests"
