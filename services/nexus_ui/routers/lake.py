"""``GET /api/lake``: tiers with object counts; ``GET /api/vibranium``: latest curated insights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from services.nexus_ui.deps import Claims, State
from services.nexus_ui.lake import INSIGHTS_PREFIX, LakeUnavailableError

router = APIRouter(prefix="/api")


@router.get("/lake")
async def lake(state: State, claims: Claims) -> dict[str, Any]:
    try:
        return await state.lake.inventory()
    except LakeUnavailableError as exc:
        raise HTTPException(503, str(exc)) from None


@router.get("/vibranium")
async def vibranium(state: State, claims: Claims, limit: int = Query(10, ge=1, le=50)) -> dict[str, Any]:
    try:
        items = await state.lake.latest("vibranium", INSIGHTS_PREFIX, limit)
    except LakeUnavailableError as exc:
        raise HTTPException(503, str(exc)) from None
    return {"insights": items, "count": len(items)}
