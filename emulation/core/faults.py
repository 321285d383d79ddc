"""Bad requests and failures answered in the shape of the AWS protocol the caller speaks.

Two guards around moto:

* :func:`precheck` refuses, before anything reads the request, what AWS refuses at its
  front door: a ``Content-Length`` that is not a non-negative integer (werkzeug reads it
  as 0, so a PUT stored an empty object), an ``X-Amz-Target`` call whose body is not a
  JSON object (moto read it as "no parameters": "Stream None not found"), and an S3
  configuration or multi-object body that is not well-formed XML (moto answered 500, or a
  bare 404 for ``PutBucketVersioning``).
* :func:`failure` turns an exception raised while moto handled a request into the error
  AWS gives (``UnknownOperationException``, ``InvalidAction``, S3's ``MalformedXML``), or
  an ``InternalFailure``/``InternalError`` 500 in the protocol's own shape, instead of
  werkzeug's plain-text page. SDKs parse these; the traceback goes to the engine's log.

The protocol comes from the request itself: ``X-Amz-Target`` is AWS JSON, S3 is REST-XML,
EC2 has its own XML, a form with ``Action`` is the Query protocol, the rest is REST-JSON.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from emulation.core.request import AwsRequest

log = logging.getLogger(__name__)

#: S3 sub-resources whose PUT/POST body is an XML document (``?delete`` is DeleteObjects,
#: ``?uploadId`` on POST is CompleteMultipartUpload)
S3_XML_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "legal-hold",
        "tagging",
        "uploadId",
        "versioning",
        "website",
    }
)
MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"
#: what moto raises when it reads a body that is not the document it expects
_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, IndexError, ValueError, ElementTree.ParseError)


def protocol(request: AwsRequest, s3: bool) -> str:
    """``json``, ``rest-xml``, ``ec2``, ``query`` or ``rest-json``."""
    if request.target:
        return "json"
    if s3:
        return "rest-xml"
    if request.signing_service == "ec2":
        return "ec2"
    if request.query.get("Action") or request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return "query"
    return "rest-json"


def error(request: AwsRequest, s3: bool, status: int, code: str, message: str) -> Response:
    """An error response as the caller's protocol shapes it."""
    request_id = str(uuid.uuid4())
    kind = protocol(request, s3)
    if kind == "json":
        content_type = request.headers.get("content-type") or "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message})
        return Response(
            body, status=status, headers={"x-amzn-RequestId": request_id}, content_type=content_type
        )
    if kind == "rest-json":
        body = json.dumps({"message": message, "Message": message})
        return Response(
            body,
            status=status,
            headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code},
            mimetype="application/json",
        )
    text = escape(message)
    if kind == "rest-xml":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{text}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        headers = {"x-amz-request-id": request_id}
        return Response(
            b"" if request.method == "HEAD" else xml.encode(),
            status=status,
            headers=headers,
            mimetype="application/xml",
        )
    if kind == "ec2":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        return Response(xml, status=status, mimetype="text/xml")
    party = "Receiver" if status >= 500 else "Sender"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Error><Type>{party}</Type><Code>{code}</Code><Message>{text}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(xml, status=status, mimetype="text/xml")


def _s3_xml_body(request: AwsRequest) -> bool:
    if request.method not in {"PUT", "POST"} or not request.body:
        return False
    keys = request.query.keys()
    if "uploadId" in keys and request.method == "PUT":
        return False  # UploadPart: the body is the part's bytes
    return not S3_XML_SUBRESOURCES.isdisjoint(keys)


def _well_formed(body: bytes) -> bool:
    try:
        ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return False
    return True


def precheck(request: AwsRequest, s3: bool) -> Response | None:
    """The refusal AWS gives this request before any service reads it, or None."""
    length = request.environ.get("CONTENT_LENGTH")
    if length not in (None, "") and not str(length).isdigit():
        return error(
            request, s3, 400, "BadRequest", f"Content-Length must be a non-negative integer, not {length!r}"
        )
    if request.target and request.body:
        if not isinstance(request.json(), dict):
            return error(
                request,
                s3,
                400,
                "SerializationException",
                "The request body must be a JSON object (start of structure or map expected)",
            )
    elif s3 and _s3_xml_body(request) and not _well_formed(request.body):
        return error(request, s3, 400, "MalformedXML", MALFORMED_XML)
    return None


@functools.lru_cache(maxsize=32)
def _operations(service: str) -> frozenset[str] | None:
    """The operations of a botocore service model (None when there is no such model)."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:
        return None
    return frozenset(model.operation_names)


def failure(request: AwsRequest, s3: bool, exc: BaseException) -> Response:
    """The answer to a request moto raised ``exc`` on (logged with its traceback)."""
    operation = request.operation
    service = request.signing_service
    if operation and service and protocol(request, s3) in {"json", "query"}:
        known = _operations(service)
        if known is not None and operation not in known:
            log.info("%s: unknown operation %s", service, operation)
            if request.target:
                return error(request, s3, 400, "UnknownOperationException", f"Unknown operation {operation}")
            message = f"The action {operation} is not valid for this web service."
            return error(request, s3, 400, "InvalidAction", message)
    if s3 and _s3_xml_body(request) and isinstance(exc, _SHAPE_ERRORS):
        log.info("S3 %s %s: body not in the expected schema (%r)", request.method, request.path, exc)
        return error(request, s3, 400, "MalformedXML", MALFORMED_XML)
    log.error("moto failed on %s %s (%s)", request.method, request.path, operation, exc_info=exc)
    if s3:
        return error(request, s3, 500, "InternalError", "We encountered an internal error. Please try again.")
    message = "The request processing has failed because of an unknown error."
    return error(request, s3, 500, "InternalFailure", message)
