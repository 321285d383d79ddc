"""Lake Formation errors, named after their AWS error codes (REST-JSON)."""

from __future__ import annotations

import json
import uuid

from werkzeug.wrappers import Response


class LakeFormationError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def response(self) -> Response:
        headers = {"x-amzn-ErrorType": self.code, "x-amzn-RequestId": str(uuid.uuid4())}
        body = json.dumps({"Message": self.message})
        return Response(body, status=self.status, headers=headers, mimetype="application/json")


class InvalidInputException(LakeFormationError):  # noqa: N818 - named after the AWS error code
    """The request is invalid, or (RevokePermissions) revokes nothing the grantee holds."""
