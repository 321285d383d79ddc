"""Errors the engine itself answers (not moto, not an extension), shaped as AWS shapes them.

One class per AWS error code. S3's CORS preflight refusals are ``<Error>`` XML, as S3
answers an ``OPTIONS`` it will not allow; the engine's own APIs answer JSON
``{"message": ...}`` (:func:`engine_refusal`). The extensions' JSON errors all derive from
:class:`AwsJsonError`, whose subclasses say their service's shape, and are answered by
:func:`error_response`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar
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


# -- the extensions' JSON errors ---------------------------------------------------------------
CONTENT_TYPE = "Content-Type"
REQUEST_ID = "x-amzn-RequestId"
ERROR_TYPE = "x-amzn-ErrorType"
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


class AwsJsonError(Exception):
    """An error an extension answers as its AWS service does, in one of the JSON shapes.

    Each service's base class says its shape; :func:`error_response` renders it:

    * ``code``: the AWS error code, the class's name unless ``code_is_class_name`` is off
      (then it is the ``code`` attribute, inherited like any other);
    * the body: ``{"__type": code}`` first when ``type_in_body`` (JSON 1.0/1.1 services),
      then the message under ``message_key`` (``message`` or ``Message``), compact when
      ``compact_json``; :meth:`body` may add fields;
    * the headers, in the order of ``wire_headers``: ``Content-Type`` (``content_type``),
      ``x-amzn-RequestId`` (a fresh UUID), ``x-amzn-ErrorType`` (the code).
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "AwsJsonError"
    code_is_class_name: ClassVar[bool] = True
    message_key: ClassVar[str] = "message"
    type_in_body: ClassVar[bool] = False
    compact_json: ClassVar[bool] = False
    content_type: ClassVar[str] = "application/json"
    wire_headers: ClassVar[tuple[str, ...]] = (ERROR_TYPE, CONTENT_TYPE)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code_is_class_name and "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": self.code} if self.type_in_body else {}
        body[self.message_key] = self.message
        return body


def error_response(error: AwsJsonError) -> Response:
    """The HTTP answer to ``error``, in its service's shape (see :class:`AwsJsonError`)."""
    values = {CONTENT_TYPE: error.content_type, ERROR_TYPE: error.code}
    headers = {name: str(uuid.uuid4()) if name == REQUEST_ID else values[name] for name in error.wire_headers}
    body = error.body()
    payload = _COMPACT(body) if error.compact_json else json.dumps(body)
    return Response(payload, status=error.status, headers=headers)
