"""HTTP/1.1 for the Kubernetes API: requests on kept-alive connections, JSON answers, streams.

A connection serves requests one after the other until the client closes it, asks to
(``Connection: close``) or stays idle for :data:`IDLE_SECONDS`. Bodies come with a
``Content-Length`` or chunked, at most :data:`MAX_BODY` (3 MiB, the API server's limit:
413 beyond). Headers that must appear once (``Host``, ``Authorization``, ``Origin``,
``Content-Length``, ``Content-Type``) are refused when repeated (400). Long answers
(watches, followed logs) are chunked streams.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulation.runtime.kube.errors import BadRequestError, TooLargeError, UnsupportedMediaTypeError

if TYPE_CHECKING:
    from emulation.runtime.auth import Principal
    from emulation.runtime.rbac import User

MAX_HEAD = 65536
MAX_BODY = 3 << 20
IDLE_SECONDS = 120.0
SINGLE_HEADERS = {"host", "authorization", "origin", "content-length", "content-type"}
REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = unquote(parts.path).rstrip("/") or "/"
        self.query: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.principal: Principal | None = None
        self.user: User | None = None  # after impersonation: whom the request is for
        self.warnings: list[str] = []

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in {"1", "true", "yes"}

    def int_param(self, name: str) -> int | None:
        raw = self.query.get(name)
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequestError(f"{name}: invalid value {raw!r}: must be an integer") from None

    def json(self) -> Any:
        """The body as JSON (a YAML body for ``application/apply-patch+yaml``; a few kinds in protobuf)."""
        if self.media_type == "application/vnd.kubernetes.protobuf":
            from emulation.runtime.kube.protobuf import decode

            return decode(self.body)
        if self.media_type == "application/apply-patch+yaml":
            import yaml

            try:
                return yaml.safe_load(self.body.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise BadRequestError(f"error decoding YAML: {exc}") from None
        if self.media_type and not self.media_type.endswith("json"):
            raise UnsupportedMediaTypeError(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json, application/yaml (got {self.media_type})"
            )
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise BadRequestError(f"the body of the request is not valid JSON: {exc}") from None


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection; None when the client is done or sends garbage."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return None
    if len(head) > MAX_HEAD:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) < 3 or not parts[2].startswith("HTTP/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            if key in headers and key in SINGLE_HEADERS:
                raise BadRequestError(f"the {key} header appears more than once")
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        raw = headers.get("content-length", "0") or "0"
        if not raw.isdigit():
            raise BadRequestError(f"bad Content-Length {raw!r}")
        if int(raw) > MAX_BODY:
            raise TooLargeError(f"the request body is over {MAX_BODY} bytes")
        body = await reader.readexactly(int(raw)) if int(raw) else b""
    return Request(parts[0].upper(), parts[1], headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequestError("bad chunk size") from None
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise TooLargeError(f"the request body is over {MAX_BODY} bytes")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _head(code: int, content_type: str, extra: dict[str, str] | None, keep_alive: bool) -> str:
    head = f"HTTP/1.1 {code} {REASONS.get(code, 'Error')}\r\nContent-Type: {content_type}\r\n"
    if "Cache-Control" not in (extra or {}):
        head += "Cache-Control: no-cache, private\r\n"
    head += "X-Content-Type-Options: nosniff\r\n"
    for name, value in (extra or {}).items():
        head += f"{name}: {value}\r\n"
    if code == 401:
        head += 'WWW-Authenticate: Bearer realm="kubernetes"\r\n'
    if not keep_alive:
        head += "Connection: close\r\n"
    return head


async def send_bytes(
    writer: asyncio.StreamWriter,
    code: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
) -> None:
    head = _head(code, content_type, headers, keep_alive) + f"Content-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode("latin-1") + body)
    await writer.drain()


async def send_json(
    writer: asyncio.StreamWriter,
    code: int,
    payload: Any,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
) -> None:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    await send_bytes(writer, code, body, content_type, headers, keep_alive)


class Stream:
    """A chunked answer written piece by piece (watch events, followed logs)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def start(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        head = _head(200, content_type, headers, keep_alive=True) + "Transfer-Encoding: chunked\r\n\r\n"
        self.writer.write(head.encode("latin-1"))
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        if data:
            self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await self.writer.drain()

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()
