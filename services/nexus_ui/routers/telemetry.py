"""``GET /api/telemetry``: map points live from the client and internal streams, plus gold insights."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query

from services.nexus_ui.deps import Claims, State
from services.nexus_ui.lake import INSIGHTS_PREFIX, LakeUnavailableError, points_from

router = APIRouter(prefix="/api")
GOLD_CACHE_S = 5.0  # pages refresh every 3 s; gold changes at the pace of agent-core's runs


@router.get("/telemetry")
async def telemetry(state: State, claims: Claims, gold: int = Query(25, ge=0, le=200)) -> dict[str, Any]:
    """Points tagged ``source`` = ``client``/``internal`` (live streams) or ``gold`` (insights)."""
    state.tap.watch()
    points = state.tap.points()
    sources: dict[str, Any] = dict(state.tap.summaries())
    gold_state: dict[str, Any] = {"channel": "gold", "stream": None, "state": "off", "error": None}
    if gold:
        try:
            key = f"gold:{gold}"
            cached = state.cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < GOLD_CACHE_S:
                insights = cached[1]
            else:
                insights = await state.lake.latest("gold", INSIGHTS_PREFIX, gold)
                state.cache[key] = (time.monotonic(), insights)
            gold_points = points_from([d["content"] for d in insights], "gold")
            points += [{**p, "source": "gold"} for p in gold_points]
            gold_state.update(state="reading", objects=len(insights))
        except LakeUnavailableError as exc:
            gold_state.update(state="error", error=str(exc))
    sources["gold"] = gold_state
    counts = {name: sum(1 for p in points if p["source"] == name) for name in sources}
    return {"points": points, "count": len(points), "counts": counts, "sources": sources}
