"""``POST /auth``: the sign-in relay to the HTTP API's ``POST /auth`` (spec §3.5 step 1).

The HTTP API answers without CORS headers, so the page posts to its own origin and this
route forwards the body unchanged. The answer is cut down to what a browser needs
(token, expiry, user): the temporary AWS credentials never reach the page.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from services.nexus_ui.deps import State

router = APIRouter()


class SignIn(BaseModel):
    user: str = Field(min_length=1, max_length=128)
    ttl_minutes: int | None = Field(default=None, ge=1, le=1440)


@router.post("/auth")
async def sign_in(body: SignIn, state: State) -> dict[str, Any]:
    url = state.settings.auth_url
    if not url:
        raise HTTPException(503, "API_GATEWAY_URL is not configured")
    try:
        answer = await state.http.post(url, json=body.model_dump(exclude_none=True))
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"the auth service at {url} is unreachable ({exc})") from None
    try:
        payload = answer.json()
    except ValueError:
        raise HTTPException(502, "the auth service did not answer JSON") from None
    if answer.status_code != 200 or not isinstance(payload, dict) or "token" not in payload:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise HTTPException(
            answer.status_code if answer.status_code >= 400 else 502, message or "sign-in failed"
        )
    return {
        "token": payload["token"],
        "token_type": payload.get("token_type", "Bearer"),
        "expires_at": payload.get("expires_at"),
        "ttl_minutes": payload.get("ttl_minutes"),
        "user": body.user,
    }
