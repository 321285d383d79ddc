"""Who may call agent-core, and for what: ServiceAccount tokens, roles, Host and Origin.

The app is wrapped in :class:`~services.common.httpguard.RequestGuard`: a request must name
agent-core (``Host``: loopback, the Service ``agent-core.nexus-agent-core[.svc[.cluster.local]]``,
the pod, or ``NEXUS_ALLOWED_HOSTS``), must not come from another site's page (``Origin``),
and must carry ``Authorization: Bearer <ServiceAccount token>`` of a caller listed in
``NEXUS_AUTH_CALLERS`` — except ``GET /health`` and ``GET /health/live``, which say only
whether the pod is up. Then each route asks for a role (:func:`require_role`):

=============================================  ==========================================
``GET /workflows``, ``/workflows/{name}``,     ``read``
``/workflow/runs[/{id}]``, ``/health/checks``,
``/metrics``
``POST /workflow/execute``                     ``write``, and ``curate`` for a workflow
                                               that declares ``requires: curate``
=============================================  ==========================================

Refusals are FastAPI's ``{"detail": "..."}``: 401 with ``WWW-Authenticate: Bearer`` (no or
bad token), 403 naming the caller and the missing role. A refused run is never started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request

from services.common.callers import AuthSettings, Caller, CallerAuth, ForbiddenError
from services.common.httpguard import HostPolicy, RequestGuard, caller_of

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/health", "/health/live")
#: the role stream events act with when agent-core's consumer starts a workflow
STREAM_CALLER = "stream"


def install_guard(app: FastAPI, service: str, namespace: str, auth: AuthSettings) -> CallerAuth:
    """Wrap ``app`` in the request guard (outermost middleware); returns the caller check."""
    callers = CallerAuth(auth)
    hosts = HostPolicy.for_service(service, namespace, auth.allowed_hosts, auth.allowed_origins)
    app.add_middleware(
        RequestGuard,
        auth=callers,
        hosts=hosts,
        public_paths=PUBLIC_PATHS,
    )
    app.state.auth_enabled = callers.enabled
    log.info(
        "callers: %s",
        ", ".join(f"{name}={'/'.join(sorted(roles))}" for name, roles in sorted(callers.allowed.items()))
        if callers.enabled
        else "anyone (NEXUS_AUTH=off)",
    )
    return callers


def caller(request: Request) -> Caller:
    """The caller the guard authenticated; 401 when there is none (a route left unguarded)."""
    found = caller_of(request)
    if found is None:
        raise HTTPException(
            401,
            "a bearer token is required (a ServiceAccount token of an allowed caller)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


def check(who: Caller, roles: tuple[str, ...] | list[str], what: str) -> None:
    """403 (FastAPI's shape) unless ``who`` has every role in ``roles``."""
    for role in roles:
        try:
            who.require(role, what)
        except ForbiddenError as exc:
            log.warning("refused %s: %s", who.name, exc.message)
            raise HTTPException(403, exc.message) from None


def require_role(role: str, what: str) -> Callable[[Request], Caller]:
    """A FastAPI dependency: the caller, who must have ``role`` (``what`` names the action)."""

    def dependency(request: Request) -> Caller:
        who = caller(request)
        check(who, (role,), what)
        return who

    return dependency
