"""``create_app(settings)``: the nexus-ui FastAPI app (pages, sign-in relay, guarded API).

Every request passes :class:`~services.common.httpguard.RequestGuard` first: a ``Host``
that is not one of nexus-ui's names (DNS rebinding) and an ``Origin`` other than its own
(another site's page) are refused with 403, as are CORS preflights; bodies are bounded
and JSON bodies strict (duplicate keys refused). The guard leaves authentication to the
app: every ``/api/*`` route needs a bearer operator JWT that verifies against the auth
service's JWKS (see :mod:`services.nexus_ui.deps`). Every answer carries a
Content-Security-Policy that allows scripts from the app's own origin only (no inline
scripts, no CDN).

nexus-ui calls agent-core and aws-mcp as itself: its projected ServiceAccount token
(``NEXUS_SERVICE_TOKEN_FILE``) goes with those calls only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from services.common import memory
from services.common.httpguard import HostPolicy, RequestGuard
from services.common.jwt import JwksVerifier
from services.common.servicetoken import BearerAuth, ServiceToken
from services.nexus_ui import aws
from services.nexus_ui.deps import UiState
from services.nexus_ui.lake import LakeReader
from services.nexus_ui.routers import health, lake, mappings, pages, session, telemetry, workflows
from services.nexus_ui.settings import UiSettings
from services.nexus_ui.streams import StreamTap

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(settings: UiSettings) -> FastAPI:
    """The nexus-ui app; ``settings`` are built by the caller (``main`` or a test)."""
    token = ServiceToken(settings.service_token_file) if settings.service_token_file else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def aws_client(service: str) -> Any:
            return aws.client(service, settings.region)

        tap = StreamTap(
            settings.streams(),
            lambda: aws_client("kinesis"),
            poll_s=settings.stream_poll_s,
            idle_s=settings.stream_idle_s,
            max_points=settings.stream_points,
        )
        state = app.state.ui = UiState(
            settings=settings,
            verifier=JwksVerifier(
                settings.jwks_url, issuer=settings.token_issuer, audience=settings.token_audience
            ),
            lake=LakeReader(settings.aws_mcp_url, token=token),
            tap=tap,
            aws=aws_client,
            agent_auth=BearerAuth(token),
        )
        log.info(
            "nexus-ui: auth %s, agent-core %s, streams %s",
            settings.auth_url or "-",
            settings.agent_core_url or "-",
            ", ".join(settings.streams().values()) or "-",
        )
        try:
            with memory.released_after_start():  # the start's garbage back to the system
                yield
        finally:
            try:
                tap.stop()
            finally:
                await state.aclose()

    app = FastAPI(
        title="nexus-ui",
        description="The Nexus operator UI (spec §2.4, §2.5, §3.5).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    hosts = HostPolicy.for_service(
        settings.service_name, settings.namespace, settings.allowed_hosts, settings.allowed_origins
    )
    app.add_middleware(
        RequestGuard,
        auth=None,  # the /api routes verify operator JWTs themselves (deps.require_token)
        hosts=hosts,
        max_body_bytes=settings.max_body_bytes,
    )

    @app.middleware("http")  # outermost: the guard's refusals carry the headers too
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    for module in (pages, session, telemetry, mappings, workflows, lake, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
