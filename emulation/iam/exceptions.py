"""The errors IAM enforcement answers with, shaped as each AWS protocol shapes them.

One class per AWS error, named after its JSON-protocol code. The same failure has a
different code, status and body per protocol (Kinesis says ``UnrecognizedClientException``
where STS says ``InvalidClientTokenId`` and S3 ``InvalidAccessKeyId``), so each class
carries a small table: protocol -> (status, code), and :meth:`IamError.response` renders
the body the protocol's SDK parser expects:

* ``json``: awsJson 1.0/1.1 (``X-Amz-Target``: Kinesis, Firehose, ...): JSON ``__type``.
* ``rest-json``: REST-JSON services (Kinesis Video, Lambda, ...): ``x-amzn-ErrorType``.
* ``query``: STS, IAM and other Query services: ``<ErrorResponse>`` XML.
* ``s3``: S3's ``<Error>`` XML (HEAD requests get no body, as from S3).
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import ClassVar
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response


class Protocol(StrEnum):
    JSON = "json"
    REST_JSON = "rest-json"
    QUERY = "query"
    S3 = "s3"


_QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


class IamError(Exception):
    """An authentication or authorization failure (or a validation error of ours)."""

    #: protocol -> (HTTP status, error code); missing protocols use ``default``
    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {}
    default: ClassVar[tuple[int, str]] = (400, "IamError")
    #: short reason recorded in the denial log
    reason: ClassVar[str] = "error"

    def __init__(self, message: str, *, s3_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.s3_message = s3_message or message
        self.extra_s3_fields: dict[str, str] = {}

    def status_and_code(self, protocol: Protocol) -> tuple[int, str]:
        return self.codes.get(protocol, self.default)

    def response(self, protocol: Protocol, *, service: str | None, method: str) -> Response:
        status, code = self.status_and_code(protocol)
        request_id = str(uuid.uuid4())
        if protocol is Protocol.S3:
            fields = "".join(
                f"<{name}>{escape(value)}</{name}>" for name, value in self.extra_s3_fields.items()
            )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{escape(self.s3_message)}</Message>"
                f"{fields}<RequestId>{request_id}</RequestId>"
                f"<HostId>{request_id}</HostId></Error>"
            )
            headers = {"x-amz-request-id": request_id}
            return Response(
                b"" if method == "HEAD" else body.encode(),
                status=status,
                headers=headers,
                mimetype="application/xml",
            )
        if protocol is Protocol.QUERY:
            namespace = _QUERY_NAMESPACES.get(service or "", "https://sts.amazonaws.com/doc/2011-06-15/")
            body = (
                f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{escape(self.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return Response(
                body, status=status, headers={"x-amzn-RequestId": request_id}, mimetype="text/xml"
            )
        payload = json.dumps({"__type": code, "message": self.message})
        content_type = "application/x-amz-json-1.1" if protocol is Protocol.JSON else "application/json"
        return Response(
            payload,
            status=status,
            headers={
                "x-amzn-RequestId": request_id,
                "x-amzn-ErrorType": code,
                "Content-Type": content_type,
            },
        )


class AccessDeniedException(IamError):  # noqa: N818 - named after the AWS error code
    """The caller is authenticated but not allowed (implicitly or explicitly denied)."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "AccessDeniedException"),
        Protocol.REST_JSON: (403, "AccessDeniedException"),
        Protocol.QUERY: (403, "AccessDenied"),
        Protocol.S3: (403, "AccessDenied"),
    }
    reason = "denied"

    def __init__(
        self,
        message: str,
        *,
        s3_message: str | None = None,
        service: str | None = None,
    ) -> None:
        super().__init__(message, s3_message=s3_message)
        self.service = service

    def status_and_code(self, protocol: Protocol) -> tuple[int, str]:
        if protocol is Protocol.REST_JSON and self.service == "kinesisvideo":
            return 401, "AccessDeniedException"  # as Kinesis Video documents it
        return super().status_and_code(protocol)


class UnrecognizedClientException(IamError):  # noqa: N818 - named after the AWS error code
    """The access key id is not known (or is inactive)."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "UnrecognizedClientException"),
        Protocol.REST_JSON: (403, "UnrecognizedClientException"),
        Protocol.QUERY: (403, "InvalidClientTokenId"),
        Protocol.S3: (403, "InvalidAccessKeyId"),
    }
    reason = "unknown access key"

    def __init__(self, access_key: str) -> None:
        super().__init__(
            "The security token included in the request is invalid.",
            s3_message="The AWS Access Key Id you provided does not exist in our records.",
        )
        self.extra_s3_fields["AWSAccessKeyId"] = access_key


class InvalidTokenException(IamError):  # noqa: N818 - named after the AWS error code
    """Temporary credentials without their session token, or with another one."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "UnrecognizedClientException"),
        Protocol.REST_JSON: (403, "UnrecognizedClientException"),
        Protocol.QUERY: (403, "InvalidClientTokenId"),
        Protocol.S3: (400, "InvalidToken"),
    }
    reason = "invalid session token"

    def __init__(self) -> None:
        super().__init__(
            "The security token included in the request is invalid.",
            s3_message="The provided token is malformed or otherwise invalid.",
        )


class ExpiredTokenException(IamError):  # noqa: N818 - named after the AWS error code
    """Temporary credentials used after their Expiration."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "ExpiredTokenException"),
        Protocol.REST_JSON: (403, "ExpiredTokenException"),
        Protocol.QUERY: (403, "ExpiredToken"),
        Protocol.S3: (400, "ExpiredToken"),
    }
    reason = "expired credentials"

    def __init__(self) -> None:
        super().__init__(
            "The security token included in the request is expired",
            s3_message="The provided token has expired.",
        )


class InvalidSignatureException(IamError):  # noqa: N818 - named after the AWS error code
    """The signature does not match the one computed with the key's secret."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "InvalidSignatureException"),
        Protocol.REST_JSON: (403, "InvalidSignatureException"),
        Protocol.QUERY: (403, "SignatureDoesNotMatch"),
        Protocol.S3: (403, "SignatureDoesNotMatch"),
    }
    reason = "signature does not match"

    def __init__(self, message: str | None = None, *, s3_message: str | None = None) -> None:
        super().__init__(
            message
            or (
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. "
                "Consult the service documentation for details."
            ),
            s3_message=s3_message
            or (
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method."
            ),
        )


class RequestExpiredException(InvalidSignatureException):
    """The request's timestamp is too far from now, or a presigned URL has expired."""

    reason = "request expired"

    def __init__(self, message: str, *, presigned: bool) -> None:
        super().__init__(
            message,
            s3_message="Request has expired"
            if presigned
            else "The difference between the request time and the current time is too large.",
        )
        self.presigned = presigned

    def status_and_code(self, protocol: Protocol) -> tuple[int, str]:
        if protocol is Protocol.S3:
            return (403, "AccessDenied") if self.presigned else (403, "RequestTimeTooSkewed")
        return super().status_and_code(protocol)


class MissingAuthenticationTokenException(IamError):  # noqa: N818 - named after the AWS error code
    """A request that is not signed at all."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "MissingAuthenticationTokenException"),
        Protocol.REST_JSON: (403, "MissingAuthenticationTokenException"),
        Protocol.QUERY: (403, "MissingAuthenticationToken"),
        Protocol.S3: (403, "AccessDenied"),
    }
    reason = "unsigned request"

    def __init__(self) -> None:
        super().__init__("Missing Authentication Token", s3_message="Access Denied")


class IncompleteSignatureException(IamError):  # noqa: N818 - named after the AWS error code
    """An Authorization header or presigned query that cannot be parsed."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "IncompleteSignatureException"),
        Protocol.REST_JSON: (400, "IncompleteSignatureException"),
        Protocol.QUERY: (400, "IncompleteSignature"),
        Protocol.S3: (400, "AuthorizationHeaderMalformed"),
    }
    reason = "malformed signature"


class UnsupportedSignatureException(IamError):  # noqa: N818 - named after the AWS error code
    """Signature versions other than SigV4 (us-west-2 accepts SigV4 only)."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "IncompleteSignatureException"),
        Protocol.REST_JSON: (400, "IncompleteSignatureException"),
        Protocol.QUERY: (400, "IncompleteSignature"),
        Protocol.S3: (400, "InvalidRequest"),
    }
    reason = "unsupported signature version"

    def __init__(self) -> None:
        super().__init__(
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
        )


class ValidationError(IamError):
    """A parameter AWS would reject before doing anything (e.g. DurationSeconds)."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "ValidationException"),
        Protocol.REST_JSON: (400, "ValidationException"),
        Protocol.QUERY: (400, "ValidationError"),
        Protocol.S3: (400, "InvalidArgument"),
    }
    reason = "invalid request"


class InvalidIdentityTokenException(IamError):  # noqa: N818 - named after the AWS error code
    """AssumeRoleWithWebIdentity with a token the role's trust cannot accept."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.QUERY: (400, "InvalidIdentityToken"),
    }
    default = (400, "InvalidIdentityTokenException")
    reason = "invalid identity token"


class HeadersNotSigned(IamError):  # noqa: N818 - named after S3's error field
    """``x-amz-*`` headers that are sent but not covered by the signature.

    S3 refuses every such header (``AccessDenied`` naming them in ``HeadersNotSigned``);
    for the other services the engine refuses the ones authentication or routing reads
    (``x-amz-security-token``, ``x-amz-target``), so an unsigned header never decides who
    calls or what is called.
    """

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.JSON: (400, "InvalidSignatureException"),
        Protocol.REST_JSON: (403, "InvalidSignatureException"),
        Protocol.QUERY: (403, "SignatureDoesNotMatch"),
        Protocol.S3: (403, "AccessDenied"),
    }
    reason = "unsigned headers"

    def __init__(self, names: list[str]) -> None:
        listed = ",".join(names)
        super().__init__(
            f"There were headers present in the request which were not signed: {listed}",
            s3_message="There were headers present in the request which were not signed",
        )
        self.extra_s3_fields["HeadersNotSigned"] = listed


class XAmzContentSHA256Mismatch(IamError):  # noqa: N818 - named after the AWS error code
    """S3: the signed ``x-amz-content-sha256`` is not the hash of the body that arrived."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {
        Protocol.S3: (400, "XAmzContentSHA256Mismatch"),
    }
    default = (400, "XAmzContentSHA256Mismatch")
    reason = "body does not match its signed hash"

    def __init__(self, claimed: str, computed: str) -> None:
        super().__init__("The provided 'x-amz-content-sha256' header does not match what was computed.")
        self.extra_s3_fields["ClientComputedContentSHA256"] = claimed
        self.extra_s3_fields["S3ComputedContentSHA256"] = computed


class InvalidRequest(IamError):  # noqa: N818 - named after the AWS error code
    """S3: a signed request without a header SigV4 needs (``x-amz-content-sha256``, ...)."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {Protocol.S3: (400, "InvalidRequest")}
    default = (400, "InvalidRequest")
    reason = "missing required header"


class IncompleteBody(IamError):  # noqa: N818 - named after the AWS error code
    """S3: an ``aws-chunked`` body that is cut short or does not add up."""

    codes: ClassVar[dict[Protocol, tuple[int, str]]] = {Protocol.S3: (400, "IncompleteBody")}
    default = (400, "IncompleteBody")
    reason = "malformed chunked body"

    def __init__(self, detail: str) -> None:
        super().__init__(f"The request body terminated unexpectedly ({detail}).")
