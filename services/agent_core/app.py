"""``create_app(settings)``: the agent-core FastAPI app (routers, metrics, lifespan).

The lifespan builds the :class:`~services.agent_core.state.AgentState`, starts its
bootstrap in the background (tables, then the consumer) and shuts it down at the end.
Every request passes the guard first (:mod:`services.agent_core.auth`: Host, Origin,
a ServiceAccount token of an allowed caller, strict JSON), then the route's role check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.agent_core.auth import install_guard
from services.agent_core.metrics import AgentMetrics
from services.agent_core.routers import catalog, health, metrics, workflows
from services.agent_core.settings import AgentSettings
from services.agent_core.state import AgentState, version
from services.agent_core.workflow.model import Catalog
from services.common import memory
from services.common.callers import AuthSettings

log = logging.getLogger(__name__)


def create_app(settings: AgentSettings, auth: AuthSettings | None = None) -> FastAPI:
    """The agent-core app; ``settings`` (and ``auth``, default: the ``NEXUS_AUTH*`` environment)
    are built by the caller (``main`` or a test)."""
    catalog_ = Catalog.load(settings.workflows_dir)  # a bad workflow file fails here, loudly
    catalog_.stream_routes(settings.consumer_role, settings.consumer_routes)  # and a bad route
    metrics_ = AgentMetrics()
    metrics_.info.labels(settings.pod_name or "local", version()).set(1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AgentState.build(settings, catalog_, metrics_)
        app.state.agent = state
        boot = asyncio.get_running_loop().create_task(state.bootstrap(), name="bootstrap")
        log.info(
            "agent-core: %d workflows, MCP %s, consumer %s",
            len(catalog_.workflows),
            ", ".join(sorted(settings.mcp_urls())) or "none",
            f"on {settings.stream_name}" if state.consumer else "off",
        )
        try:
            with memory.released_after_start():  # the start's garbage back to the system
                yield
        finally:
            boot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await boot
            await state.shutdown()

    app = FastAPI(
        title="agent-core",
        description="Nexus workflows over the MCP services and Bedrock (spec §2.4, §3.3).",
        version=version(),
        lifespan=lifespan,
    )
    app.middleware("http")(metrics_.middleware)
    install_guard(app, settings.service_name, settings.namespace, auth or AuthSettings())
    app.include_router(workflows.router)
    app.include_router(catalog.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
