"""The single page, its public config and the liveness probe (no token needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.nexus_ui.deps import State

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "nexus-ui"}


@router.get("/config.json")
async def config(state: State) -> dict[str, Any]:
    """What the page needs to start: no secrets, only public settings."""
    s = state.settings
    return {
        "auth_path": "/auth",
        "auth_upstream": s.auth_url,
        "map_style": s.map_style,
        "region": s.region,
        "environment": s.environment,
    }
