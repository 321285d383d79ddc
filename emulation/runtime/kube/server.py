"""The Kubernetes API server of the process runtime: HTTPS on 127.0.0.1, what kubectl and client-go speak.

Every request, in order:

1. the browser checks of :func:`~emulation.runtime.auth.check_browser` (a loopback
   ``Host``, no ``Origin``): 403 otherwise;
2. authentication (:class:`~emulation.runtime.auth.Authenticator`): the admin token, or a
   ServiceAccount token for the API audience; a bad token is 401, no token is 401 except
   on ``/healthz``, ``/livez``, ``/readyz`` and the service-account issuer's documents;
3. impersonation (``Impersonate-User``/``Impersonate-Group``, what ``kubectl --as``
   sends): the caller needs ``impersonate`` on the user, group or ServiceAccount (the
   admin has it);
4. the request's attributes (verb, group, resource, subresource, namespace, name: the
   API server's RequestInfo) checked against RBAC from the manifests (403 with the API
   server's message); discovery, ``/version`` and OpenAPI are open to every
   authenticated caller (``system:discovery``);
5. the handler: :mod:`~emulation.runtime.kube.reads` (get, list, watch, logs),
   :mod:`~emulation.runtime.kube.writes` (create, update, patch, delete, scale, token),
   :mod:`~emulation.runtime.kube.reviews` (can-i, whoami).

Errors are ``Status`` objects (:mod:`~emulation.runtime.kube.errors`). No answer carries
CORS headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from emulation.runtime import auth
from emulation.runtime.controller import Cluster
from emulation.runtime.kube import errors
from emulation.runtime.kube.http import IDLE_SECONDS, Request, read_request, send_bytes, send_json
from emulation.runtime.kube.openapi import OpenApi
from emulation.runtime.kube.reads import Reads
from emulation.runtime.kube.resources import AGGREGATED, BY_PATH, VERSION, Discovery, Resource
from emulation.runtime.kube.reviews import Reviews
from emulation.runtime.kube.store import ObjectStore
from emulation.runtime.kube.writes import Writes
from emulation.runtime.rbac import Attributes, User

log = logging.getLogger(__name__)

PUBLIC = {"/healthz", "/livez", "/readyz", "/openid/v1/jwks", "/.well-known/openid-configuration"}
SYNC_SECONDS = 1.0
NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class Target:
    """What a resource request is about (the API server's RequestInfo)."""

    resource: Resource
    verb: str
    namespace: str  # "" for cluster scope or every namespace
    name: str = ""
    sub: str = ""

    @property
    def attributes(self) -> Attributes:
        return Attributes(
            self.verb, self.resource.plural, self.resource.group, self.sub, self.namespace, self.name
        )


def parse_target(request: Request) -> Target | None:
    """The resource a path names, or None (not a resource path)."""
    parts = request.path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    resource = BY_PATH.get((group, version, rest[0]))
    if resource is None or len(rest) > 3:
        raise errors.NotFoundError("the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if resource.plural == "namespaces" and name:
        namespace = name
    if sub and resource.subresource(sub) is None:
        raise errors.NotFoundError("the server could not find the requested resource")
    method = request.method
    if method == "GET":
        verb = "get" if name else ("watch" if request.flag("watch") else "list")
    else:
        verb = {
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection",
        }.get(method, "")
    if not verb:
        raise errors.MethodNotAllowedError("the server does not allow this method on the requested resource")
    return Target(resource, verb, namespace, name, sub)


class KubeApi:
    """Serves the Kubernetes API for one :class:`Cluster`."""

    def __init__(
        self, cluster: Cluster, admin_token: str, context: ssl.SSLContext, bookmark_seconds: float = 30.0
    ) -> None:
        self.cluster = cluster
        self.context = context
        self.store = ObjectStore(cluster)
        self.authenticator = auth.Authenticator(
            admin_token,
            cluster.issuer,
            lambda ns, name: cluster.manifests.has_service_account(ns, name),  # noqa: PLW0108
            lambda uid: any(p.uid == uid for p in cluster.all_pods()),
        )
        self.bookmark_seconds = bookmark_seconds
        self.reads = Reads(self)
        self.writes = Writes(self)
        self.reviews = Reviews(self)
        self.openapi = OpenApi()
        self.discovery = Discovery("127.0.0.1:0")
        self.server: asyncio.Server | None = None
        self.port = 0
        self._ticker: asyncio.Task[None] | None = None
        self.streams: set[asyncio.StreamWriter] = set()

    async def start(self, port: int) -> int:
        self.cluster.listeners.append(self.store.request_sync)
        self.cluster.events.listeners.append(self.store.add_event)
        self.store.sync()
        self.server = await asyncio.start_server(
            self._connection, "127.0.0.1", port, ssl=self.context, reuse_address=True
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.discovery = Discovery(f"127.0.0.1:{self.port}")
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="kube-api sync")
        return self.port

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for writer in list(self.streams):
            writer.close()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                self.store.sync()
            except Exception:  # a rendering bug must not stop the API
                log.exception("kube API: sync failed")

    # -- HTTP -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    request = await asyncio.wait_for(read_request(reader), IDLE_SECONDS)
                except errors.KubeError as exc:
                    await send_json(writer, exc.code, exc.status(), keep_alive=False)
                    return
                if request is None:
                    return
                await self._dispatch(request, writer)
                if not request.keep_alive:
                    return
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> None:
        try:
            await self._route(request, writer)
        except (ConnectionError, ssl.SSLError):
            raise  # the client went away: the connection ends
        except errors.KubeError as exc:
            if exc.code == 403:
                log.info("kube API: %s %s refused: %s", request.method, request.path, exc.message)
            await send_json(writer, exc.code, exc.status(), headers=self._warnings(request))
        except Exception as exc:
            log.exception("kube API %s %s failed", request.method, request.path)
            error = errors.KubeError(f"{type(exc).__name__}: {exc}")
            await send_json(writer, 500, error.status())

    @staticmethod
    def _warnings(request: Request) -> dict[str, str]:
        if not request.warnings:
            return {}
        return {"Warning": ", ".join(f'299 - "{w}"' for w in request.warnings)}

    async def respond(self, request: Request, writer: asyncio.StreamWriter, code: int, payload: Any) -> None:
        await send_json(writer, code, payload, headers=self._warnings(request))

    def _authenticate(self, request: Request) -> None:
        try:
            auth.check_browser(request.headers)
        except auth.ForbiddenError as exc:
            raise errors.ForbiddenError(exc.message) from None
        try:
            request.principal = self.authenticator.authenticate(request.headers.get("authorization"))
        except auth.UnauthorizedError:
            raise errors.UnauthorizedError() from None
        if request.principal is None:
            if request.path in PUBLIC:
                return
            raise errors.UnauthorizedError()
        request.user = request.principal.user
        self._impersonate(request)

    def _impersonate(self, request: Request) -> None:
        name = request.headers.get("impersonate-user")
        groups = [g.strip() for g in request.headers.get("impersonate-group", "").split(",") if g.strip()]
        if not name and not groups:
            return
        if not name:
            raise errors.BadRequestError("requested impersonation of groups without impersonating a user")
        principal = request.principal
        assert principal is not None
        wanted: list[Attributes] = []
        if name.startswith("system:serviceaccount:") and name.count(":") == 3:
            _, _, namespace, account = name.split(":")
            wanted.append(Attributes("impersonate", "serviceaccounts", "", namespace=namespace, name=account))
            user = User.service_account(namespace, account)
        else:
            wanted.append(Attributes("impersonate", "users", name=name))
            user = User(name, ("system:authenticated",))
        wanted += [Attributes("impersonate", "groups", name=g) for g in groups]
        if not principal.admin:
            for attrs in wanted:
                if not self.cluster.manifests.rbac.allows(principal.user, attrs):
                    raise errors.ForbiddenError(
                        f'{attrs.resource} "{attrs.name}" is forbidden: User "{principal.user.name}" '
                        f'cannot impersonate resource "{attrs.resource}" in API group "" at the cluster scope'
                    )
        if groups:
            user = User(user.name, (*groups, "system:authenticated"))
        request.user = user
        request.principal = auth.Principal(user, admin="system:masters" in user.groups)

    def authorize(self, request: Request, attrs: Attributes) -> None:
        principal = request.principal
        assert principal is not None
        try:
            auth.authorize(principal, [attrs], self.cluster.manifests.rbac)
        except auth.ForbiddenError as exc:
            raise errors.ForbiddenError(
                exc.message,
                {"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource},
            ) from None

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        self._authenticate(request)
        path = request.path
        if request.principal is None or path in PUBLIC:
            await self._public(request, writer)
            return
        target = parse_target(request)
        if target is None:
            await self._non_resource(request, writer)
            return
        if target.resource.group in {"authorization.k8s.io", "authentication.k8s.io"}:
            await self.reviews.handle(request, writer, target)  # every user may ask (system:basic-user)
            return
        self.authorize(request, target.attributes)
        if target.verb in {"get", "list", "watch"}:
            await self.reads.handle(request, writer, target)
        else:
            await self.writes.handle(request, writer, target)

    async def _public(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path == "/openid/v1/jwks":
            await send_json(writer, 200, self.cluster.issuer.jwks(), "application/jwk-set+json")
        elif request.path == "/.well-known/openid-configuration":
            jwks = f"https://127.0.0.1:{self.port}/openid/v1/jwks"
            await send_json(writer, 200, self.cluster.issuer.discovery(jwks))
        else:
            await send_bytes(writer, 200, b"ok", "text/plain; charset=utf-8")

    async def _non_resource(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method != "GET":
            raise errors.MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
        path, accept = request.path, request.headers.get("accept", "")
        if path == "/version":
            await send_json(writer, 200, VERSION)
        elif path in {"/api", "/apis"}:
            if "as=APIGroupDiscoveryList" in accept and "v=v2" in accept:
                await send_json(writer, 200, self.discovery.aggregated(path == "/api"), AGGREGATED)
            else:
                legacy = path == "/api"
                await send_json(
                    writer, 200, self.discovery.api_versions() if legacy else self.discovery.api_groups()
                )
        elif path.startswith("/openapi/"):
            await self.openapi.handle(request, writer)
        else:
            parts = path.strip("/").split("/")
            listing = None
            if parts == ["api", "v1"]:
                listing = self.discovery.resource_list("", "v1")
            elif len(parts) == 3 and parts[0] == "apis":
                listing = self.discovery.resource_list(parts[1], parts[2])
            elif len(parts) == 2 and parts[0] == "apis":
                groups = [g for g in self.discovery.api_groups()["groups"] if g["name"] == parts[1]]
                listing = {"kind": "APIGroup", "apiVersion": "v1", **groups[0]} if groups else None
            if listing is None:
                raise errors.NotFoundError("the server could not find the requested resource")
            await send_json(writer, 200, listing)
