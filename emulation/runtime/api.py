"""The runtime's internal channel: health and the service-account issuer's public keys.

Plain HTTP/1.1 on 127.0.0.1 (URL in ``<state>/runtime/api.json``, ``NEXUSKIT_RUNTIME_API``
in every pod). It is not an API for clients: everything a client does (pods, logs,
scale, rollouts, tokens) goes through the Kubernetes API (:mod:`emulation.runtime.kube`).
What is left here:

=======  ===============================================  ==========================================
method   path                                             who
=======  ===============================================  ==========================================
GET      /health                                          anyone: ``{"status": "ok"}``; with the
                                                          admin token the full document (ready flag,
                                                          deployments) ``nexuskit up`` waits on
GET      /openid/v1/jwks, /.well-known/openid-configuration  anyone: the keys services verify
                                                          ServiceAccount tokens with
=======  ===============================================  ==========================================

Every other path is 404 (401 first without a token). Before anything, the ``Host`` must be
a loopback name and there may be no ``Origin`` (403 otherwise); a bad token is 401. Errors
are Kubernetes ``Status`` objects. Every connection is closed after its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from emulation.runtime.auth import Authenticator, ForbiddenError, UnauthorizedError, check_browser
from emulation.runtime.controller import Cluster
from emulation.runtime.httpio import HttpError, Request, error_status, read_request, write_json

log = logging.getLogger(__name__)

PUBLIC = {"/health", "/openid/v1/jwks", "/.well-known/openid-configuration"}


class ControlApi:
    """The internal channel of one runtime."""

    def __init__(self, cluster: Cluster, admin_token: str) -> None:
        self.cluster = cluster
        self.authenticator = Authenticator(
            admin_token,
            cluster.issuer,
            lambda ns, name: cluster.manifests.has_service_account(ns, name),  # noqa: PLW0108
            lambda uid: any(p.uid == uid for p in cluster.all_pods()),
        )
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int) -> int:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", port, reuse_address=True)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await read_request(reader)
            except HttpError as exc:
                await write_json(writer, exc.status, error_status(exc.status, exc.message))
                return
            if request is not None:
                code, payload = self._answer(request)
                await write_json(writer, code, payload)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _answer(self, request: Request) -> tuple[int, Any]:
        try:
            check_browser(request.headers)
            principal = self.authenticator.authenticate(request.headers.get("authorization"))
        except (ForbiddenError, UnauthorizedError) as exc:
            return exc.status, error_status(exc.status, exc.message)
        if request.path not in PUBLIC:
            if principal is None:
                return 401, error_status(401, "Unauthorized")
            return 404, error_status(
                404, f"no route {request.method} {request.path}: use the Kubernetes API (kubeconfig)"
            )
        if request.method != "GET":
            return 405, error_status(405, f"{request.path} accepts GET")
        if request.path == "/openid/v1/jwks":
            return 200, self.cluster.issuer.jwks()
        if request.path == "/.well-known/openid-configuration":
            return 200, self.cluster.issuer.discovery(f"http://127.0.0.1:{self.port}/openid/v1/jwks")
        if principal is not None and principal.admin:
            return 200, self.cluster.health()
        return 200, {"status": "ok"}
