"""Request dependencies: the app's state and the bearer-token guard of every ``/api`` route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, HTTPException, Request

from services.common.jwt import JwksVerifier, TokenRejectedError
from services.common.servicetoken import BearerAuth
from services.nexus_ui.lake import LakeReader
from services.nexus_ui.settings import UiSettings
from services.nexus_ui.streams import StreamTap


@dataclass
class UiState:
    settings: UiSettings
    verifier: JwksVerifier
    lake: LakeReader
    http: httpx.AsyncClient
    tap: StreamTap
    #: nexus-ui's own ServiceAccount token, sent to agent-core only (``auth=`` per request:
    #: the same client relays sign-ins to the HTTP API, which must never see it)
    agent_auth: BearerAuth
    #: a boto3 client of the named service with nexus-ui's own credentials
    aws: Callable[[str], Any]
    #: short-lived answers shared by every page of this process: key -> (monotonic time, value)
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)


def ui_state(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


State = Annotated[UiState, Depends(ui_state)]


def require_token(request: Request, state: State) -> dict[str, Any]:
    """The bearer token's claims; 401 when it is missing or does not verify.

    Only the ``Authorization`` header counts (no cookies), so a cross-site request
    cannot carry the operator's session: CSRF-safe by construction.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        return state.verifier.verify(token)
    except TokenRejectedError as exc:
        raise HTTPException(
            401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


Claims = Annotated[dict[str, Any], Depends(require_token)]
