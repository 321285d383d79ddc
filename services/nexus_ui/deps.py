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
    tap: StreamTap
    #: nexus-ui's own ServiceAccount token, sent to agent-core only (``auth=`` per request:
    #: the same client relays sign-ins to the HTTP API, which must never see it)
    agent_auth: BearerAuth
    #: a boto3 client of the named service with nexus-ui's own credentials
    aws: Callable[[str], Any]
    #: short-lived answers shared by every page of this process: key -> (monotonic time, value)
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    @property
    def http(self) -> httpx.AsyncClient:
        """The client of nexus-ui's calls to the auth service and agent-core, made by the
        first call (an idle UI does not hold its connection pool and TLS context, some
        2.7 MB); the event loop is the only caller, so no lock."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.settings.http_timeout)
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP client if a call made it."""
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()


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
