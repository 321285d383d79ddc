"""Settings, command line, HTTP app and server loop shared by the MCP services.

Every service runs as ``python -m services.mcp.<name> [--allow-write] [--port N]``:
settings come from the environment the Deployment gives the pod (``PORT``, ``MCP_PATH``,
``SERVICE_NAME``, ``NEXUS_AUTH*``, ...), overridden by the command line. The HTTP app is
the SDK's streamable-HTTP Starlette app (stateless, JSON responses: any replica behind a
Service can answer any request) plus ``GET /health``, behind
:class:`~services.common.httpguard.RequestGuard`: Host and Origin checked, a bearer
ServiceAccount token of an allowed caller on every request but ``GET /health``, bodies
bounded (``MCP_MAX_BODY_BYTES``) and strict JSON.

The MCP SDK (the ``mcp`` package: some 30 MB of pydantic models, a third of an MCP pod's
memory) is imported by the first request that needs it, not at the start: a service that
only answers its probes never loads it. ``GET /health`` is answered by a small front
app; every other request goes to the SDK's app, which the first one builds (the import on
a worker thread, so ``/health`` keeps answering meanwhile) and whose lifespan (the
session manager) then runs until the process stops.

The SDK's own DNS-rebinding protection (``TransportSecuritySettings``) is turned off: it
knows only loopback names, so it would refuse the Service's cluster names the guard
accepts; the guard checks Host and Origin for every route, ``/health`` included. The
SDK's other checks stay (``Content-Type: application/json`` on POST, its body limit set
to the same bound).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from services.common import memory
from services.common.callers import AuthSettings, CallerAuth, CallerConfigError, parse_callers
from services.common.httpguard import (
    DEFAULT_MAX_BODY,
    ASGIApp,
    HostPolicy,
    Receive,
    RequestGuard,
    Scope,
    Send,
)
from services.mcp.common.guard import CallerContext

if TYPE_CHECKING:
    from mcp.server import MCPServer

log = logging.getLogger(__name__)

HealthFn = Callable[[], Awaitable[dict[str, Any]]]
S = TypeVar("S", bound="McpServiceSettings")

#: a health report is reused this long: readiness probes (every 2 s), agent-core's own
#: readiness (which asks every MCP service) and anonymous callers of ``GET /health`` share
#: one check of the service's dependencies (an S3 or DynamoDB call, the cluster's API)
#: instead of each making one
HEALTH_CACHE_SECONDS = 5.0


class McpServiceSettings(BaseSettings):
    """What every MCP service reads from its environment (names as in the Deployments)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = Field(default="mcp", validation_alias=AliasChoices("SERVICE_NAME", "service_name"))
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=AliasChoices("PORT", "port"))
    bind_host: str | None = Field(default=None, validation_alias=AliasChoices("MCP_BIND_HOST", "bind_host"))
    mcp_path: str = Field(default="/mcp", validation_alias=AliasChoices("MCP_PATH", "mcp_path"))
    allow_write: bool = Field(default=False, validation_alias=AliasChoices("MCP_ALLOW_WRITE", "allow_write"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY,
        ge=1024,
        validation_alias=AliasChoices("MCP_MAX_BODY_BYTES", "max_body_bytes"),
    )
    namespace: str | None = Field(default=None, validation_alias=AliasChoices("POD_NAMESPACE", "namespace"))

    @property
    def host(self) -> str:
        """127.0.0.1 on a workstation, every interface inside a cluster (as the placeholder did)."""
        if self.bind_host:
            return self.bind_host
        return "0.0.0.0" if os.environ.get("KUBERNETES_SERVICE_HOST") else "127.0.0.1"


def parse_cli(settings_cls: type[S], argv: Sequence[str] | None, description: str) -> S:
    """Settings from the environment, overridden by ``--allow-write``, ``--port``, ``--host``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--allow-write", action="store_true", help="enable the tools that change state")
    parser.add_argument("--port", type=int, default=None, help="listen port (default: PORT or 8000)")
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1; 0.0.0.0 in a cluster)")
    parser.add_argument("--log-level", default=None)
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.allow_write:
        overrides["allow_write"] = True
    if args.port is not None:
        overrides["port"] = args.port
    if args.host is not None:
        overrides["bind_host"] = args.host
    if args.log_level is not None:
        overrides["log_level"] = args.log_level
    try:
        settings = settings_cls(**overrides)
        parse_callers(AuthSettings().callers)  # a bad NEXUS_AUTH_CALLERS stops the start, in one line
    except (ValidationError, CallerConfigError) as exc:
        parser.error(str(exc))
    configure_logging(settings)
    return settings


def configure_logging(settings: McpServiceSettings) -> None:
    """Log to stderr at ``LOG_LEVEL`` (once per process; the start's warnings included)."""
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


class SdkApp:
    """The SDK's Starlette app, built by the first request that needs it.

    Its lifespan (the streamable-HTTP session manager) must be entered and left by one
    task: a task of the front app's lifespan (:meth:`running`) holds it from the build
    until the process stops.
    """

    def __init__(self, build: Callable[[], Starlette]) -> None:
        self._build = build
        self.app: Starlette | None = None
        self._started = False
        self._group: TaskGroup | None = None
        self._stop: anyio.Event | None = None
        self._lock: anyio.Lock | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The front app's lifespan: requests may build the SDK app while this is entered."""
        self._stop, self._lock = anyio.Event(), anyio.Lock()
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                self._stop.set()

    async def _hold(
        self, app: Starlette, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        assert self._stop is not None
        async with app.router.lifespan_context(app):
            task_status.started()
            await self._stop.wait()

    async def get(self) -> Starlette:
        """The SDK app, built and started on the first call."""
        if self._started and self.app is not None:
            return self.app
        if self._lock is None or self._group is None:
            raise RuntimeError("the MCP app is not running: its lifespan has not started")
        async with self._lock:
            if not self._started:
                if self.app is None:
                    # the imports take most of a second: off the event loop; the build is quick
                    await anyio.to_thread.run_sync(importlib.import_module, "mcp.server")
                    self.app = self._build()
                group = self._group
                if group is None:
                    raise RuntimeError("the MCP app is stopping")
                await group.start(self._hold, self.app)
                self._started = True
        assert self.app is not None
        return self.app


class McpFront:
    """ASGI: ``GET /health`` answered here, every other request by the SDK's app (:class:`SdkApp`)."""

    def __init__(self, sdk: SdkApp, health: Route, lifespan: Router) -> None:
        self.sdk = sdk
        self.health = health
        self.lifespan = lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("path") == "/health":
            await self.health(scope, receive, send)
            return
        app = await self.sdk.get()
        await app(scope, receive, send)


def build_http_app(
    server: MCPServer | Callable[[], MCPServer],
    settings: McpServiceSettings,
    health: HealthFn,
    lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    auth: AuthSettings | None = None,
) -> ASGIApp:
    """The streamable-HTTP app at ``settings.mcp_path`` with ``GET /health``, behind the guard.

    ``server`` is the MCP server, or (usually) a function that makes it: then the SDK is
    imported and the server made by the first request other than ``GET /health`` (see the
    module docstring).

    ``health`` returns ``{"status": "ok" | "degraded" | "failing", ...}``; ``failing``
    answers 503 (the pod leaves its Service), anything else 200. ``/health`` answers
    anyone, so it says only the status, the service, whether it is read-only and whether
    authentication is on; the details are logged when the status changes. ``lifespan``
    wraps the app's own (which runs the MCP session manager): background workers start
    and stop there, once per process (the MCP server's lifespan runs once per stateless
    request); a few seconds after the start the process hands its free heap back
    (:func:`services.common.memory.released_after_start`). ``auth`` defaults to the
    ``NEXUS_AUTH*`` environment.
    """
    auth_settings = auth if auth is not None else AuthSettings()
    callers = CallerAuth(auth_settings)
    last_status: str | None = None
    last_report: tuple[float, dict[str, Any]] | None = None

    async def health_route(request: Request) -> JSONResponse:
        nonlocal last_status, last_report
        if last_report is not None and time.monotonic() - last_report[0] < HEALTH_CACHE_SECONDS:
            report = last_report[1]
        else:
            try:
                report = await health()
            except Exception as exc:  # a health check that crashes is a failing check, not a 500
                report = {"status": "failing", "error": f"{type(exc).__name__}: {exc}"}
            last_report = (time.monotonic(), report)
        status = str(report.get("status", "failing"))
        if status != last_status:
            level = logging.INFO if status == "ok" else logging.WARNING
            details = {k: v for k, v in report.items() if k != "status"}
            log.log(level, "health: %s %s", status, details)
            last_status = status
        body = {
            "status": status,
            "service": settings.service_name,
            "read_only": not settings.allow_write,
            "auth": "on" if callers.enabled else "off",
        }
        return JSONResponse(body, status_code=503 if status == "failing" else 200)

    def build_sdk_app() -> Starlette:
        from mcp.server.transport_security import TransportSecuritySettings

        mcp_server = server() if callable(server) else server
        mcp_server.middleware.append(CallerContext(settings.service_name))
        mcp_server.custom_route("/health", methods=["GET"])(health_route)  # e.g. /health/ redirects
        return mcp_server.streamable_http_app(
            streamable_http_path=settings.mcp_path,
            stateless_http=True,
            json_response=True,
            host=settings.host,
            max_request_body_size=settings.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    sdk = SdkApp(build_sdk_app)
    if not callable(server):
        sdk.app = build_sdk_app()  # given a server: built now, started with the app
    extra = lifespan if lifespan is not None else _no_background

    @asynccontextmanager
    async def combined(_: Any) -> AsyncIterator[None]:
        async with extra(), sdk.running():
            if sdk.app is not None:
                await sdk.get()
            with memory.released_after_start():  # the start's garbage back to the system
                yield

    app = McpFront(sdk, Route("/health", health_route, methods=["GET"]), Router(lifespan=combined))
    hosts = HostPolicy.for_service(
        settings.service_name, settings.namespace, auth_settings.allowed_hosts, auth_settings.allowed_origins
    )
    return RequestGuard(
        app,
        callers,
        hosts,
        public_paths=("/health",),
        max_body_bytes=settings.max_body_bytes,
        jsonrpc_errors=True,  # MCP clients then report the refusal's reason
    )


@asynccontextmanager
async def _no_background() -> AsyncIterator[None]:
    yield


def serve(app: ASGIApp, settings: McpServiceSettings) -> None:
    """Run ``app`` with uvicorn until SIGTERM/SIGINT (uvicorn drains in-flight requests)."""
    import uvicorn

    configure_logging(settings)
    log.info(
        "%s listening on http://%s:%d%s (%s)",
        settings.service_name,
        settings.host,
        settings.port,
        settings.mcp_path,
        "read-write" if settings.allow_write else "read-only",
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
