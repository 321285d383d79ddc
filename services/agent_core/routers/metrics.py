"""``GET /metrics``: the Prometheus text exposition of agent-core's registry.

It takes the ``read`` role: the workflow names, run counts and consumer state are not for
anyone on the machine. A Prometheus in the cluster scrapes it with a projected
ServiceAccount token (``authorization: {credentials_file: ...}`` in its scrape config) of
an account listed in ``NEXUS_AUTH_CALLERS`` with ``read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from services.agent_core.auth import require_role
from services.agent_core.state import AgentState, state_of

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_role("read", "read the metrics"))])


@router.get("/metrics", response_class=Response)
async def prometheus(state: Annotated[AgentState, Depends(state_of)]) -> Response:
    """Requests, workflow runs, step durations, MCP calls and errors, Bedrock tokens, consumer lag."""
    return state.metrics.render()
