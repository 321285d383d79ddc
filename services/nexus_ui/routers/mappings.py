"""``GET /api/mappings``: which sources feed which destinations, with their live state."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter

from services.nexus_ui.deps import Claims, State
from services.nexus_ui.lake import LakeUnavailableError
from services.nexus_ui.mappings import describe_data_plane, links

router = APIRouter(prefix="/api")


async def _consumer(state: State) -> dict[str, Any] | None:
    """agent-core's stream consumer as its /health/checks reports it (None when not reachable)."""
    base = state.settings.agent_core_url.rstrip("/")
    if not base:
        return None
    try:
        answer = await state.http.get(f"{base}/health/checks", timeout=5, auth=state.agent_auth)
        report = answer.json()
    except (httpx.HTTPError, ValueError):
        return None
    consumer = report.get("checks", {}).get("consumer") if isinstance(report, dict) else None
    return consumer if isinstance(consumer, dict) else None


@router.get("/mappings")
async def mappings(state: State, claims: Claims) -> dict[str, Any]:
    state.tap.watch()  # producers show up as the reader sees their records

    async def lake() -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
        try:
            inventory, jobs = await state.lake.overview()
        except LakeUnavailableError as exc:
            return None, [], str(exc)
        return inventory, jobs, None

    described, consumer, (inventory, jobs, lake_error) = await asyncio.gather(
        asyncio.to_thread(describe_data_plane, state.settings, state.aws), _consumer(state), lake()
    )
    found = links(state.settings, described, state.tap.summaries(), consumer, inventory, jobs)
    return {"links": found, "count": len(found), "errors": {"lake": lake_error} if lake_error else {}}
