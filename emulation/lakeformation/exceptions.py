"""Lake Formation errors, named after their AWS error codes (REST-JSON)."""

from __future__ import annotations

from emulation.core.exceptions import CONTENT_TYPE, ERROR_TYPE, REQUEST_ID, AwsJsonError


class LakeFormationError(AwsJsonError):
    message_key = "Message"
    wire_headers = (ERROR_TYPE, REQUEST_ID, CONTENT_TYPE)


class InvalidInputException(LakeFormationError):  # noqa: N818 - named after the AWS error code
    """The request is invalid, or (RevokePermissions) revokes nothing the grantee holds."""
