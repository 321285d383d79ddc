"""API Gateway v2 management errors raised by our operations (one class per AWS error code).

Data-plane answers (``{"message": "Not Found"}`` and friends) are not errors of the API
but gateway responses; they are built in :mod:`emulation.apigatewayv2.models`.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Response


class ApiGatewayV2Error(Exception):
    """Base: an AWS error code, an HTTP status and a message."""

    code = "BadRequestException"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> Response:
        return Response(
            json.dumps({"message": self.message}),
            status=self.status,
            headers={"x-amzn-ErrorType": self.code},
            mimetype="application/json",
        )


class BadRequestException(ApiGatewayV2Error):  # noqa: N818 - named after the AWS error code
    """The request is malformed (e.g. an access log destination that is not a log group ARN)."""

    code = "BadRequestException"
    status = 400


class NotFoundException(ApiGatewayV2Error):  # noqa: N818 - named after the AWS error code
    """No such API or stage."""

    code = "NotFoundException"
    status = 404
