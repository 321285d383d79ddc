"""``GET /metrics``: the Prometheus text exposition of agent-core's registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from services.agent_core.state import AgentState, state_of

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def prometheus(state: Annotated[AgentState, Depends(state_of)]) -> Response:
    """Requests, workflow runs, step durations, MCP calls and errors, Bedrock tokens, consumer lag."""
    return state.metrics.render()
