"""``GET /api/telemetry``: map points from gold insights and bronze records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from services.nexus_ui.deps import Claims, State
from services.nexus_ui.lake import INSIGHTS_PREFIX, LakeUnavailableError, points_from

router = APIRouter(prefix="/api")


@router.get("/telemetry")
async def telemetry(state: State, claims: Claims, limit: int = Query(25, ge=1, le=200)) -> dict[str, Any]:
    try:
        gold = await state.lake.latest("gold", INSIGHTS_PREFIX, limit)
        bronze = await state.lake.latest("bronze", "", min(limit, 10))
    except LakeUnavailableError as exc:
        raise HTTPException(503, str(exc)) from None
    points = points_from([d["content"] for d in gold], "gold") + points_from(
        [d["content"] for d in bronze], "bronze"
    )
    return {"points": points, "count": len(points)}
