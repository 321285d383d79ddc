"""``GET /api/health``: every service's ``/health`` as the UI reaches it."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastapi import APIRouter

from services.nexus_ui.deps import Claims, State

router = APIRouter(prefix="/api")


def _health_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


@router.get("/health")
async def services_health(state: State, claims: Claims) -> dict[str, Any]:
    s = state.settings
    targets: dict[str, str] = {}
    if s.agent_core_url:
        targets["agent-core"] = _health_url(s.agent_core_url)
    if s.aws_mcp_url:
        targets["aws-mcp"] = _health_url(s.aws_mcp_url)
    targets.update({name: _health_url(url) for name, url in s.health_urls().items()})
    if s.jwks_url:
        targets["auth (JWKS)"] = s.jwks_url

    async def probe(name: str, url: str) -> dict[str, Any]:
        started = time.monotonic()
        try:
            answer = await state.http.get(url, timeout=5)
            ok = answer.status_code == 200
            detail: Any = answer.json() if "json" in answer.headers.get("content-type", "") else None
            status = (
                (detail or {}).get("status", "ok" if ok else "down")
                if isinstance(detail, dict)
                else ("ok" if ok else "down")
            )
        except (httpx.HTTPError, ValueError) as exc:
            ok, status = False, f"unreachable: {exc.__class__.__name__}"
        return {
            "service": name,
            "ok": ok,
            "status": status,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }

    results = await asyncio.gather(*(probe(n, u) for n, u in targets.items()))
    results.insert(0, {"service": "nexus-ui", "ok": True, "status": "ok", "latency_ms": 0.0})
    return {"services": results, "all_ok": all(r["ok"] for r in results)}
