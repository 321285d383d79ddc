"""Settings, command line, HTTP app and server loop shared by the MCP services.

Every service runs as ``python -m services.mcp.<name> [--allow-write] [--port N]``:
settings come from the environment the Deployment gives the pod (``PORT``, ``MCP_PATH``,
``SERVICE_NAME``, ``NEXUS_AUTH*``, ...), overridden by the command line. The HTTP app is
the SDK's streamable-HTTP Starlette app (stateless, JSON responses: any replica behind a
Service can answer any request) plus ``GET /health``, behind
:class:`~services.common.httpguard.RequestGuard`: Host and Origin checked, a bearer
ServiceAccount token of an allowed caller on every request but ``GET /health``, bodies
bounded (``MCP_MAX_BODY_BYTES``) and strict JSON.

The SDK's own DNS-rebinding protection (``TransportSecuritySettings``) is turned off: it
knows only loopback names, so it would refuse the Service's cluster names the guard
accepts; the guard checks Host and Origin for every route, ``/health`` included. The
SDK's other checks stay (``Content-Type: application/json`` on POST, its body limit set
to the same bound).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from services.common.callers import AuthSettings, CallerAuth, CallerConfigError, parse_callers
from services.common.httpguard import DEFAULT_MAX_BODY, ASGIApp, HostPolicy, RequestGuard
from services.mcp.common.guard import CallerContext

log = logging.getLogger(__name__)

HealthFn = Callable[[], Awaitable[dict[str, Any]]]
S = TypeVar("S", bound="McpServiceSettings")


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


def build_http_app(
    server: MCPServer,
    settings: McpServiceSettings,
    health: HealthFn,
    lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    auth: AuthSettings | None = None,
) -> ASGIApp:
    """The streamable-HTTP app at ``settings.mcp_path`` with ``GET /health``, behind the guard.

    ``health`` returns ``{"status": "ok" | "degraded" | "failing", ...}``; ``failing``
    answers 503 (the pod leaves its Service), anything else 200. ``/health`` answers
    anyone, so it says only the status, the service, whether it is read-only and whether
    authentication is on; the details are logged when the status changes. ``lifespan``
    wraps the app's own (which runs the MCP session manager): background workers start
    and stop there, once per process (the MCP server's lifespan runs once per stateless
    request). ``auth`` defaults to the ``NEXUS_AUTH*`` environment.
    """
    auth_settings = auth if auth is not None else AuthSettings()
    callers = CallerAuth(auth_settings)
    server.middleware.append(CallerContext(settings.service_name))
    last_status: str | None = None

    async def health_route(request: Request) -> JSONResponse:
        nonlocal last_status
        try:
            report = await health()
        except Exception as exc:  # a health check that crashes is a failing check, not a 500
            report = {"status": "failing", "error": f"{type(exc).__name__}: {exc}"}
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

    server.custom_route("/health", methods=["GET"])(health_route)
    app = server.streamable_http_app(
        streamable_http_path=settings.mcp_path,
        stateless_http=True,
        json_response=True,
        host=settings.host,
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    if lifespan is not None:
        inner = app.router.lifespan_context
        extra = lifespan

        @asynccontextmanager
        async def combined(asgi_app: Starlette) -> AsyncIterator[None]:
            async with extra(), inner(asgi_app):
                yield

        app.router.lifespan_context = combined
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
