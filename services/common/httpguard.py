"""The front door of every Nexus HTTP service: Host, Origin, bearer token, body.

:class:`RequestGuard` is plain ASGI middleware (it wraps FastAPI and the MCP SDK's
Starlette app alike). In order, it refuses:

1. a ``Host`` that is not ours (DNS rebinding: a web page whose own name resolves to
   127.0.0.1 sends its name): allowed are IP literals, ``localhost``, the Service's
   cluster names (``svc``, ``svc.ns``, ``svc.ns.svc``, ``svc.ns.svc.cluster.local``), the
   pod's host name and ``NEXUS_ALLOWED_HOSTS`` (``*.example.com`` matches subdomains);
2. an ``Origin`` other than the service's own (a cross-site page; also every CORS
   preflight: no CORS headers are ever sent) unless listed in ``NEXUS_ALLOWED_ORIGINS``;
3. a request without a valid bearer token of an allowed caller (401/403), except the
   public paths (``GET /health``); with ``auth=None`` this step is the app's own (nexus-ui
   authenticates its users with operator JWTs, not ServiceAccount tokens);
4. a body over ``max_body_bytes`` (413) and, for JSON bodies (and bodies without a
   ``Content-Type``, which FastAPI reads as JSON), documents
   :mod:`~services.common.strictjson` refuses (400: duplicate keys and the like).

The authenticated :class:`~services.common.callers.Caller` is put in the ASGI scope's
state (``request.state.caller`` in Starlette/FastAPI; :func:`caller_of`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import anyio.to_thread

from services.common import strictjson
from services.common.callers import AuthError, Caller, CallerAuth

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY = 1 << 20
LOOPBACK_NAMES = frozenset({"localhost"})


def cluster_names(service: str, namespace: str | None) -> set[str]:
    """The DNS names a Service answers to inside a cluster."""
    if not service:
        return set()
    names = {service}
    if namespace:
        names |= {
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local",
        }
    return names


def _split_list(text: str) -> list[str]:
    return [
        item.strip().lower() for item in text.replace(";", ",").replace(" ", ",").split(",") if item.strip()
    ]


def host_name(host_header: str) -> str:
    """The name part of a Host header (no port, no IPv6 brackets), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which Host names and Origins a service accepts."""

    def __init__(self, names: Iterable[str], allowed_origins: Iterable[str] = ()) -> None:
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        for raw in names:
            name = raw.strip().lower()
            if name.startswith("*."):
                self.suffixes.append(name[1:])
            elif name:
                self.exact.add(name)
        self.origins = {origin.rstrip("/").lower() for origin in allowed_origins if origin}

    @classmethod
    def for_service(
        cls, service: str, namespace: str | None, extra_hosts: str = "", extra_origins: str = ""
    ) -> HostPolicy:
        names = cluster_names(service, namespace) | set(_split_list(extra_hosts))
        pod_host = os.environ.get("HOSTNAME", "")
        if pod_host:
            names.add(pod_host.lower())
        return cls(names, _split_list(extra_origins))

    def host_allowed(self, host_header: str) -> bool:
        name = host_name(host_header)
        if not name:
            return False
        if _is_ip(name) or name in LOOPBACK_NAMES or name.endswith(".localhost") or name in self.exact:
            return True
        return any(name.endswith(suffix) for suffix in self.suffixes)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        host = host_header.strip().lower()
        return origin in {f"http://{host}", f"https://{host}"} or origin in self.origins


def caller_of(scope_or_request: Any) -> Caller | None:
    """The caller the guard authenticated (from an ASGI scope or a Starlette request)."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    state = scope.get("state") or {}
    caller = state.get("caller") if isinstance(state, dict) else getattr(state, "caller", None)
    return caller if isinstance(caller, Caller) else None


#: JSON-RPC error codes of refusals (server-defined range) for JSON-RPC services
JSONRPC_CODES = {401: -32001, 403: -32003}


async def refuse(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None, jsonrpc: bool = False
) -> None:
    """A JSON ``{"detail": message}`` answer (FastAPI's error shape).

    ``jsonrpc`` adds a JSON-RPC error envelope (``id`` null) with the same message, which
    JSON-RPC clients such as the MCP SDK's report as the call's error.
    """
    doc: dict[str, Any] = {"detail": message}
    if jsonrpc:
        code = JSONRPC_CODES.get(status, -32600)
        doc = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}, **doc}
    body = json.dumps(doc).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        auth: CallerAuth | None,
        hosts: HostPolicy,
        *,
        public_paths: Iterable[str] = ("/health",),
        max_body_bytes: int = DEFAULT_MAX_BODY,
        jsonrpc_errors: bool = False,
    ) -> None:
        self.app = app
        self.auth = auth
        self.hosts = hosts
        self.public_paths = frozenset(public_paths)
        self.max_body_bytes = max_body_bytes
        self.jsonrpc_errors = jsonrpc_errors

    async def _refuse(
        self, send: Send, status: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        await refuse(send, status, message, headers, jsonrpc=self.jsonrpc_errors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if not self.hosts.host_allowed(host):
            log.warning("refused a request for Host %r (not a name of this service)", host[:100])
            await self._refuse(
                send,
                403,
                f"Host {host[:100]!r} is not a name of this service (set NEXUS_ALLOWED_HOSTS to allow it)",
            )
            return
        origin = headers.get("origin")
        if origin is not None and not self.hosts.origin_allowed(origin, host):
            await self._refuse(send, 403, f"cross-origin requests from {origin[:100]!r} are refused")
            return
        method = scope.get("method", "GET")
        if method == "OPTIONS":
            await self._refuse(
                send,
                403,
                "CORS preflight requests are refused: this service is not for browsers of other sites",
            )
            return
        path = scope.get("path", "")
        if self.auth is not None and not (path in self.public_paths and method in {"GET", "HEAD"}):
            try:
                caller = await anyio.to_thread.run_sync(self.auth.authenticate, headers.get("authorization"))
            except AuthError as exc:
                extra = {"WWW-Authenticate": 'Bearer realm="nexus"'} if exc.status == 401 else None
                await self._refuse(send, exc.status, exc.message, extra)
                return
            state = scope.setdefault("state", {})
            state["caller"] = caller
        await self._with_body(scope, receive, send, headers)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await self._refuse(send, 400, f"Content-Length {length[:20]!r} is not a number of bytes")
                return
            if int(length) > self.max_body_bytes:
                await self._refuse(send, 413, f"the body is larger than {self.max_body_bytes} bytes")
                return
        bodiless = length in {None, "0"} and "transfer-encoding" not in headers
        if scope.get("method") in {"GET", "HEAD", "DELETE"} and bodiless:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(send, 413, f"the body is larger than {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        content_type = headers.get("content-type", "").strip().lower()
        # no Content-Type: FastAPI parses the body as JSON anyway, so it is checked too
        if body and (not content_type or "json" in content_type):
            try:
                strictjson.loads(body)
            except strictjson.StrictJsonError as exc:
                await self._refuse(send, 400, str(exc))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
