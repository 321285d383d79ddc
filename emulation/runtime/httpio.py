"""HTTP/1.1 for the control API: reading one request, writing JSON answers and errors.

One request per connection (``Connection: close``). Headers that must appear once
(``Host``, ``Authorization``, ``Origin``, ``Content-Length``, ``Content-Type``) are refused
when repeated (400); bodies need a ``Content-Length`` (411) of at most 1 MiB (413) and,
when parsed, ``Content-Type: application/json`` (415). Errors are Kubernetes ``Status``
objects that also carry ``{"error": {"code", "reason", "message"}}``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from emulation.runtime.exceptions import InvalidRequestError, ProcessRuntimeError

if TYPE_CHECKING:
    from emulation.runtime.auth import Principal

MAX_HEADER = 65536
MAX_BODY = 1 << 20
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}
ERROR_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    411: "LengthRequired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}
SINGLE_HEADERS = {"host", "authorization", "origin", "content-length", "content-type"}


class HttpError(ProcessRuntimeError):
    """A request the HTTP layer refuses (its ``status`` set per instance)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Created:
    """A handler's answer with status 201."""

    payload: Any


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.headers = headers
        self.body = body
        self.principal: Principal | None = None

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise HttpError(415, f"the body must be application/json, not {media or 'untyped'}")
        try:
            data = json.loads(self.body)
        except ValueError:
            raise InvalidRequestError("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequestError("the request body must be a JSON object")
        return data

    def int_query(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidRequestError(f"{name} must be an integer, got {raw!r}") from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in {"1", "true", "yes"}


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request (head and body); None for garbage; HttpError for what HTTP refuses."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            if key in headers and key in SINGLE_HEADERS:
                raise HttpError(400, f"the {key} header appears more than once")
            headers[key] = value.strip()
    if "transfer-encoding" in headers:
        raise HttpError(411, "send the body with a Content-Length")
    raw_length = headers.get("content-length", "0") or "0"
    if not raw_length.isdigit():
        raise HttpError(400, f"bad Content-Length {raw_length!r}")
    length = int(raw_length)
    if length > MAX_BODY:
        raise HttpError(413, f"the body is over {MAX_BODY} bytes")
    body = await reader.readexactly(length) if length else b""
    return Request(parts[0].upper(), parts[1], headers, body)


async def write_json(writer: asyncio.StreamWriter, code: int, payload: Any) -> None:
    """A whole JSON answer (no CORS headers, ever; 401 says how to authenticate)."""
    body = json.dumps(payload, default=str).encode()
    head = (
        f"HTTP/1.1 {code} {REASONS.get(code, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
    )
    if code == 401:
        head += 'WWW-Authenticate: Bearer realm="nexuskit-runtime"\r\n'
    writer.write((head + "Connection: close\r\n\r\n").encode() + body)
    await writer.drain()


def error_status(code: int, message: str) -> dict[str, Any]:
    """A Kubernetes ``Status`` (plus the ``error`` object older clients read)."""
    reason = ERROR_REASONS.get(code, "Error")
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
        "error": {"code": code, "reason": reason, "message": message},
    }
