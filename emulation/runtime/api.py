"""The control API: JSON over HTTP/1.1 on 127.0.0.1 (port in ``<state>/runtime/api.json``).

=======  =====================================================  ==============================
method   path                                                   answer
=======  =====================================================  ==============================
GET      /health                                                runtime status, all-ready flag
GET      /api/v1/namespaces                                     namespaces
GET      /api/v1/deployments[?namespace=]                       deployments with ready counts
GET      /api/v1/namespaces/NS/deployments/NAME                 one deployment
POST     /api/v1/namespaces/NS/deployments/NAME/scale           body ``{"replicas": N}``
POST     /api/v1/namespaces/NS/deployments/NAME/restart         rolling restart
GET      /api/v1/pods[?namespace=&deployment=]                  pods (phase, ready, restarts...)
GET      /api/v1/namespaces/NS/pods/NAME                        one pod
GET      /api/v1/namespaces/NS/pods/NAME/log                    ``?tail=N&follow=true``
GET      /api/v1/namespaces/NS/deployments/NAME/log             every pod's lines, prefixed
GET      /api/v1/services                                       Services, local ports, endpoints
GET      /api/v1/events[?namespace=&name=&since=ID]             events, oldest first
POST     /api/v1/apply                                          reload the manifests folder
GET      /openid/v1/jwks, /.well-known/openid-configuration     service-account token keys
=======  =====================================================  ==============================

Errors are ``{"error": {"code": 404, "reason": "NotFound", "message": "..."}}``. Logs are
``text/plain``; with ``follow=true`` the answer is chunked and stays open, sending lines
as pods write them (new pods of a deployment join the stream) until the client closes.
Every connection is closed after its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulation.runtime.controller import Cluster
from emulation.runtime.exceptions import InvalidRequestError, ObjectNotFoundError, ProcessRuntimeError

log = logging.getLogger(__name__)

MAX_HEADER = 65536
MAX_BODY = 1 << 20
FOLLOW_POLL_SECONDS = 0.2
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}
ERROR_REASONS = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    422: "Invalid",
    500: "InternalError",
}

Handler = Callable[..., Awaitable[Any]]


class Request:
    def __init__(self, method: str, target: str, body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.body = body

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
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


class ControlApi:
    """Routes requests to the :class:`Cluster`."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.server: asyncio.Server | None = None
        self.port = 0
        ns, name = r"(?P<ns>[a-z0-9-]+)", r"(?P<name>[a-z0-9.-]+)"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/health"), self.health),
            ("GET", re.compile(r"/api/v1/namespaces"), self.namespaces),
            ("GET", re.compile(r"/api/v1/deployments"), self.deployments),
            ("GET", re.compile(rf"/api/v1/namespaces/{ns}/deployments/{name}"), self.deployment),
            ("POST", re.compile(rf"/api/v1/namespaces/{ns}/deployments/{name}/scale"), self.scale),
            ("POST", re.compile(rf"/api/v1/namespaces/{ns}/deployments/{name}/restart"), self.restart),
            ("GET", re.compile(r"/api/v1/pods"), self.pods),
            ("GET", re.compile(rf"/api/v1/namespaces/{ns}/pods/{name}"), self.pod),
            ("GET", re.compile(rf"/api/v1/namespaces/{ns}/(pods|deployments)/{name}/log"), self.logs),
            ("GET", re.compile(r"/api/v1/services"), self.services),
            ("GET", re.compile(r"/api/v1/events"), self.events),
            ("POST", re.compile(r"/api/v1/apply"), self.apply),
            ("GET", re.compile(r"/openid/v1/jwks"), self.jwks),
            ("GET", re.compile(r"/\.well-known/openid-configuration"), self.discovery),
        ]

    async def start(self, port: int) -> int:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", port, reuse_address=True)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    # -- HTTP -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self._read(reader)
            if request is not None:
                await self._dispatch(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEADER:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) < 2:
            return None
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(min(length, MAX_BODY)) if length else b""
        return Request(parts[0].upper(), parts[1], body)

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> None:
        allowed = []
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                result = await handler(request, writer, **match.groupdict())
            except ProcessRuntimeError as exc:
                await self._json(writer, exc.status, _error(exc.status, exc.message))
                return
            except Exception as exc:
                log.exception("control API %s %s failed", request.method, request.path)
                await self._json(writer, 500, _error(500, f"{type(exc).__name__}: {exc}"))
                return
            if result is not None:
                await self._json(writer, 200, result)
            return
        if allowed:
            await self._json(writer, 405, _error(405, f"{request.path} accepts {', '.join(allowed)}"))
        else:
            await self._json(writer, 404, _error(404, f"no route {request.method} {request.path}"))

    @staticmethod
    async def _json(writer: asyncio.StreamWriter, code: int, payload: Any) -> None:
        body = json.dumps(payload, default=str).encode()
        head = (
            f"HTTP/1.1 {code} {REASONS.get(code, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    # -- handlers (each returns JSON data, or None after writing its own answer) -------------
    async def health(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return self.cluster.health()

    async def namespaces(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return {
            "items": [
                {"name": name, "status": "Active", "labels": labels}
                for name, labels in sorted(self.cluster.manifests.namespaces.items())
            ]
        }

    async def deployments(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        namespace = request.query.get("namespace")
        keys = sorted(self.cluster.manifests.deployments)
        return {
            "items": [
                self.cluster.deployment_status(k)
                for k in keys
                if namespace is None or k.startswith(f"{namespace}/")
            ]
        }

    async def deployment(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        return self.cluster.deployment_status(self.cluster.deployment(ns, name).key)

    async def scale(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        body = request.json()
        if "replicas" not in body:
            raise InvalidRequestError('the body must be {"replicas": N}')
        return self.cluster.scale(ns, name, body["replicas"])

    async def restart(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        return self.cluster.restart(ns, name)

    async def pods(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        namespace = request.query.get("namespace")
        deployment = request.query.get("deployment")
        return {
            "items": [
                p.as_dict()
                for p in self.cluster.all_pods()
                if (namespace is None or p.namespace == namespace)
                and (deployment is None or p.deployment == deployment)
            ]
        }

    async def pod(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        return self.cluster.find_pod(ns, name).as_dict()

    async def services(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        services = self.cluster.manifests.services
        return {"items": [self.cluster.service_status(services[k]) for k in sorted(services)]}

    async def events(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        since = request.int_query("since", 0)
        return {
            "items": self.cluster.events.list(
                request.query.get("namespace"), since, request.query.get("name")
            )
        }

    async def apply(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return await self.cluster.apply()

    async def jwks(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return self.cluster.issuer.jwks()

    async def discovery(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return self.cluster.issuer.discovery(f"http://127.0.0.1:{self.port}/openid/v1/jwks")

    async def logs(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        tail = request.int_query("tail", -1)
        follow = request.flag("follow")
        files = self.cluster.log_files(ns, name)  # raises ObjectNotFoundError
        is_deployment = f"{ns}/{name}" in self.cluster.manifests.deployments
        if not files and not follow and not is_deployment:
            raise ObjectNotFoundError(f"no logs for {ns}/{name}")
        stream = _LogStream(writer, prefix=is_deployment)
        # Read the tails (and so fix where following starts) before the answer's head goes
        # out: a client that writes a line once it sees the head must get that line.
        tails = [(pod, stream.read_tail(pod, path, tail)) for pod, path in files]
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
        writer.write((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            for pod, lines in tails:
                await stream.send(pod, lines)
            while follow and not writer.is_closing():
                await asyncio.sleep(FOLLOW_POLL_SECONDS)
                current = self.cluster.log_files(ns, name) if is_deployment else files
                for pod, path in current:
                    stream.offsets[pod] = await stream.send_new(pod, path, stream.offsets.get(pod, 0))
                if not is_deployment and not any(p.name == name for p in self.cluster.all_pods()):
                    break  # the pod is gone
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ObjectNotFoundError:
            writer.write(b"0\r\n\r\n")
        return None


class _LogStream:
    """Sends log lines as HTTP chunks, prefixed with the pod name for deployments."""

    def __init__(self, writer: asyncio.StreamWriter, prefix: bool) -> None:
        self.writer = writer
        self.prefix = prefix
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, bytes] = {}

    async def send(self, pod: str, lines: list[bytes]) -> None:
        if not lines:
            return
        if self.prefix:
            lines = [f"[{pod}] ".encode() + line for line in lines]
        data = b"".join(line + b"\n" for line in lines)
        self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    def read_tail(self, pod: str, path: Path, tail: int) -> list[bytes]:
        """The last ``tail`` complete lines (all when negative); following starts after them."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.offsets[pod] = 0
            return []
        self.offsets[pod] = len(data)
        complete = data[: data.rfind(b"\n") + 1]
        self.partial[pod] = data[len(complete) :]
        lines = complete.splitlines()
        if tail >= 0:
            lines = lines[-tail:] if tail else []
        return lines

    async def send_new(self, pod: str, path: Path, offset: int) -> int:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                fresh = fh.read()
        except FileNotFoundError:
            return offset
        if not fresh:
            return offset
        data = self.partial.pop(pod, b"") + fresh
        cut = data.rfind(b"\n") + 1
        self.partial[pod] = data[cut:]
        await self.send(pod, data[:cut].splitlines())
        return offset + len(fresh)


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "reason": ERROR_REASONS.get(code, "Error"), "message": message}}
