"""Errors the engine itself answers (not moto, not an extension), shaped as AWS shapes them.

One class per AWS error code. S3's CORS preflight refusals are the only AWS-shaped ones
(``<Error>`` XML, as S3 answers an ``OPTIONS`` it will not allow); the engine's own APIs
answer JSON ``{"message": ...}`` (:func:`engine_refusal`).
"""

from __future__ import annotations

import json
import uuid
from typing import ClassVar
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response


class S3Error(Exception):
    """An S3 error response: status, code, message and extra ``<Error>`` fields."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "InvalidRequest"

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def response(self, method: str) -> Response:
        request_id = uuid.uuid4().hex[:16].upper()
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in self.fields.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        )
        return Response(
            b"" if method == "HEAD" else body.encode(),
            status=self.status,
            headers={"x-amz-request-id": request_id},
            mimetype="application/xml",
        )


class AccessForbidden(S3Error):  # noqa: N818 - named after the AWS error code
    """A CORS preflight the bucket's CORS configuration does not allow (or no such config)."""

    status = 403
    code = "AccessForbidden"


class BadRequest(S3Error):  # noqa: N818 - named after the AWS error code
    """A CORS preflight without the headers every preflight carries."""

    status = 400
    code = "BadRequest"


class TooManyBuckets(S3Error):  # noqa: N818 - named after the AWS error code
    """A CreateBucket past the account's bucket quota."""

    status = 400
    code = "TooManyBuckets"


def engine_refusal(message: str, status: int = 403) -> Response:
    """The engine API's refusal: JSON ``{"message": ...}`` (never any state)."""
    return Response(json.dumps({"message": message}), status=status, mimetype="application/json")
