"""``GET /health`` (readiness), ``GET /health/live`` (liveness), ``GET /health/checks`` (why).

``/health`` and ``/health/live`` answer anyone (the kubelet's probes carry no token) and
say only ``status``, the service and whether authentication is on (``"auth"``): no URLs,
table names or errors. ``/health/checks`` gives every check with its detail to a caller with the
``read`` role (the UI's mappings view reads the consumer's state there).

Readiness is ``failing`` (503) when agent-core cannot work at all: AWS does not answer
(nor would Bedrock), or it has not answered yet. It is ``degraded`` (200) when AWS answers
but the runs/checkpoint tables are not usable (say the role lacks DynamoDB rights: runs
stay in this replica's memory and the consumer waits), when an MCP service does not
answer (the workflows that use it fail with that step named, the others run), or when
the consumer reports an error. Checks are cached for two seconds,
so probes every second cost nothing. ``/health/live`` only says the process serves.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.agent_core.auth import require_role
from services.agent_core.state import AgentState, state_of

router = APIRouter(tags=["health"])
State = Annotated[AgentState, Depends(state_of)]
CACHE_SECONDS = 5.0  # probes every 2 s share one round of checks (AWS and each MCP service)


async def _aws(state: AgentState) -> dict[str, Any]:
    if not state.tables_ready:
        return {
            "status": "failing" if state.aws_unreachable else "degraded",
            "error": state.bootstrap_error or "creating the runs and checkpoint tables",
            "effect": "runs are kept in this replica's memory only; the stream consumer waits for its table",
        }
    try:
        await asyncio.wait_for(asyncio.to_thread(state.runs.check), 3)
    except ClientError as exc:
        return {"status": "degraded", "error": f"{type(exc).__name__}: {exc}"}
    except (BotoCoreError, TimeoutError) as exc:
        return {"status": "failing", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "runs_table": state.settings.runs_table_name}


async def readiness(state: AgentState) -> dict[str, Any]:
    cached = state._health_cache
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    names = sorted(state.mcp.urls)
    aws, *mcp = await asyncio.gather(_aws(state), *(state.mcp.health(n) for n in names))
    checks: dict[str, Any] = {
        "aws": aws,
        "workflows": {"status": "ok", "count": len(state.catalog.workflows)},
    }
    checks.update({f"mcp:{name}": result for name, result in zip(names, mcp, strict=True)})
    if state.consumer is not None:
        consumer = state.consumer.status()
        consumer["status"] = "ok" if consumer["running"] and not consumer["last_error"] else "degraded"
        checks["consumer"] = consumer
    if aws["status"] == "failing":
        status = "failing"
    elif any(c.get("status") not in {"ok"} for c in checks.values()):
        status = "degraded"
    else:
        status = "ok"
    report = {"status": status, "service": state.settings.service_name, "checks": checks}
    state._health_cache = (time.monotonic(), report)
    return report


@router.get("/health")
async def health(state: State, request: Request) -> JSONResponse:
    """Ready to run workflows? 200 ok/degraded, 503 failing; the status only."""
    report = await readiness(state)
    auth = "on" if getattr(request.app.state, "auth_enabled", True) else "off"
    body = {"status": report["status"], "service": state.settings.service_name, "auth": auth}
    return JSONResponse(body, status_code=503 if report["status"] == "failing" else 200)


@router.get("/health/checks", dependencies=[Depends(require_role("read", "read the health checks"))])
async def health_checks(state: State) -> JSONResponse:
    """Every check (AWS, the workflows, each MCP service, the consumer) with its detail."""
    report = await readiness(state)
    return JSONResponse(report, status_code=503 if report["status"] == "failing" else 200)


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}
