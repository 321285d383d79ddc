"""``/api/workflows``: list, launch and follow workflow runs (a proxy to agent-core).

nexus-ui calls agent-core as itself (its ServiceAccount token: ``read`` and ``write``), so
a signed-in user can launch every workflow but those that curate (``requires: curate``):
agent-core answers 403 naming the role, passed on as is.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from services.nexus_ui.deps import Claims, State

router = APIRouter(prefix="/api")


class Launch(BaseModel):
    workflow: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9-]*$")
    input: dict[str, Any] = Field(default_factory=dict)


async def _agent(state: State, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    base = state.settings.agent_core_url.rstrip("/")
    if not base:
        raise HTTPException(503, "AGENT_CORE_URL is not configured")
    try:
        answer = await state.http.request(method, base + path, json=body, auth=state.agent_auth)
        doc = answer.json()
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"agent-core at {base} is unreachable ({exc})") from None
    except ValueError:
        raise HTTPException(502, "agent-core did not answer JSON") from None
    if answer.status_code == 401:  # nexus-ui's own token, not the user's session: never a 401 here
        detail = doc.get("detail") if isinstance(doc, dict) else doc
        raise HTTPException(502, f"agent-core refused nexus-ui's ServiceAccount token: {detail}")
    return answer.status_code, doc


@router.get("/workflows")
async def workflows(state: State, claims: Claims) -> Any:
    status, doc = await _agent(state, "GET", "/workflows")
    if status != 200:
        raise HTTPException(status, doc)
    return doc


@router.post("/workflows/runs")
async def launch(body: Launch, state: State, claims: Claims, response: Response) -> Any:
    """Start a run without waiting (agent-core's ``async``); follow it at ``/api/workflows/runs/{id}``."""
    request = {"name": body.workflow, "input": body.input, "async": True}
    status, doc = await _agent(state, "POST", "/workflow/execute", request)
    if status >= 400:
        raise HTTPException(status, doc.get("detail", doc) if isinstance(doc, dict) else doc)
    response.status_code = status
    return doc


@router.get("/workflows/runs/{run_id}")
async def run(run_id: str, state: State, claims: Claims) -> Any:
    if not run_id.replace("-", "").replace("_", "").isalnum():
        raise HTTPException(400, "run id is not valid")
    status, doc = await _agent(state, "GET", f"/workflow/runs/{run_id}")
    if status != 200:
        raise HTTPException(status, doc.get("detail", doc) if isinstance(doc, dict) else doc)
    return doc
