"""``GET /workflows`` (the catalogue) and ``GET /workflows/{name}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from services.agent_core.auth import require_role
from services.agent_core.state import AgentState, state_of

router = APIRouter(tags=["catalogue"], dependencies=[Depends(require_role("read", "read the catalogue"))])
State = Annotated[AgentState, Depends(state_of)]


@router.get("/workflows")
async def list_workflows(state: State) -> Any:
    """Every workflow: description, the role it needs, input schema, steps and the event types
    that start it (``refused_routes``: event types the stream may not start, and why)."""
    workflows = [state.catalog.workflows[name].summary() for name in state.catalog.names()]
    return {
        "workflows": workflows,
        "count": len(workflows),
        "routes": state.routes,
        "refused_routes": state.refused_routes,
    }


@router.get("/workflows/{name}", responses={404: {"description": "no such workflow"}})
async def get_workflow(name: str, state: State) -> Any:
    """One workflow's summary and its full definition."""
    workflow = state.catalog.get(name)
    if workflow is None:
        raise HTTPException(
            status_code=404, detail=f"unknown workflow {name!r}; known: {', '.join(state.catalog.names())}"
        )
    return {
        **workflow.summary(),
        "definition": workflow.model_dump(mode="json", exclude_none=True, by_alias=True),
    }
