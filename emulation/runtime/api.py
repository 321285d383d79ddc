"""The control API: JSON over HTTP/1.1 on 127.0.0.1 (URL in ``<state>/runtime/api.json``).

Every route but the public ones needs ``Authorization: Bearer TOKEN`` (the admin token
or a ServiceAccount token, see :mod:`~emulation.runtime.auth`); a ServiceAccount may do
what RBAC from the manifests allows it, checked as Kubernetes would for the same call:

=======  ===============================================  ==========================================
method   path                                             needs (verb resource, in the namespace)
=======  ===============================================  ==========================================
GET      /health                                          public: ``{"status": "ok"}``; with a token
                                                          the full document (ready flag, counts)
GET      /api/v1/namespaces                               list namespaces (cluster)
GET      /api/v1/deployments[?namespace=]                 list deployments.apps (namespace or all)
GET      /api/v1/namespaces/NS/deployments/NAME           get deployments.apps
POST     /api/v1/namespaces/NS/deployments/NAME/scale     patch deployments.apps/scale;
                                                          body ``{"replicas": N}``
POST     /api/v1/namespaces/NS/deployments/NAME/restart   patch deployments.apps (rollout restart)
GET      /api/v1/pods[?namespace=&deployment=]            list pods
GET      /api/v1/namespaces/NS/pods/NAME                  get pods
GET      /api/v1/namespaces/NS/pods/NAME/log              get pods/log; ``?tail=N&follow=true``
GET      /api/v1/namespaces/NS/deployments/NAME/log       get deployments.apps and pods/log
GET      /api/v1/services                                 list services
GET      /api/v1/events[?namespace=&name=&since=ID]       list events
POST     /api/v1/namespaces/NS/serviceaccounts/NAME/token create serviceaccounts/token (TokenRequest)
POST     /api/v1/apply                                    the runtime admin only
GET      /openid/v1/jwks, /.well-known/openid-configuration  public: service-account token keys
=======  ===============================================  ==========================================

Before anything, the ``Host`` must be a loopback name and there may be no ``Origin``
(403 otherwise); without a token a protected route answers 401, with a token RBAC
refuses with 403. Errors are Kubernetes ``Status`` objects that also carry
``{"error": {"code", "reason", "message"}}``. A POST body must be JSON
(``Content-Type: application/json``; 415 otherwise) of at most 1 MiB (413). Logs are
``text/plain`` (:mod:`~emulation.runtime.logstream`). Every connection is closed after
its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from emulation.runtime.auth import (
    Authenticator,
    ForbiddenError,
    UnauthorizedError,
    authorize,
    check_browser,
    require_admin,
)
from emulation.runtime.controller import Cluster
from emulation.runtime.exceptions import InvalidRequestError, ProcessRuntimeError
from emulation.runtime.httpio import Created, HttpError, Request, error_status, read_request, write_json
from emulation.runtime.logstream import stream_logs
from emulation.runtime.rbac import Attributes
from emulation.runtime.tokenrequest import create_token

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]
#: what a route needs: "public", "admin", or the RBAC attributes of a request
Access = str | Callable[[Request, dict[str, str]], list[Attributes]]


def _in_query(verb: str, resource: str, group: str = "") -> Access:
    """A list, in ``?namespace=`` or (without it) across every namespace."""
    return lambda req, m: [Attributes(verb, resource, group, namespace=req.query.get("namespace", ""))]


def _named(verb: str, resource: str, group: str = "", sub: str = "") -> Access:
    return lambda req, m: [Attributes(verb, resource, group, sub, m["ns"], m["name"])]


def _log_access(req: Request, m: dict[str, str]) -> list[Attributes]:
    if m["kind"] == "pods":
        return [Attributes("get", "pods", "", "log", m["ns"], m["name"])]
    return [
        Attributes("get", "deployments", "apps", "", m["ns"], m["name"]),
        Attributes("get", "pods", "", "log", m["ns"]),
    ]


class ControlApi:
    """Routes authenticated requests to the :class:`Cluster`."""

    def __init__(self, cluster: Cluster, admin_token: str) -> None:
        self.cluster = cluster
        self.authenticator = Authenticator(
            admin_token,
            cluster.issuer,
            # cluster.manifests is replaced on apply: look it up at each call
            lambda ns, name: cluster.manifests.has_service_account(ns, name),  # noqa: PLW0108
            lambda uid: any(p.uid == uid for p in cluster.all_pods()),
        )
        self.server: asyncio.Server | None = None
        self.port = 0
        ns, name = r"(?P<ns>[a-z0-9-]+)", r"(?P<name>[a-z0-9.-]+)"
        deploy = rf"/api/v1/namespaces/{ns}/deployments/{name}"
        self.routes: list[tuple[str, re.Pattern[str], Handler, Access]] = [
            ("GET", re.compile(r"/health"), self.health, "public"),
            (
                "GET",
                re.compile(r"/api/v1/namespaces"),
                self.namespaces,
                lambda r, m: [Attributes("list", "namespaces")],
            ),
            (
                "GET",
                re.compile(r"/api/v1/deployments"),
                self.deployments,
                _in_query("list", "deployments", "apps"),
            ),
            ("GET", re.compile(deploy), self.deployment, _named("get", "deployments", "apps")),
            (
                "POST",
                re.compile(deploy + "/scale"),
                self.scale,
                _named("patch", "deployments", "apps", "scale"),
            ),
            ("POST", re.compile(deploy + "/restart"), self.restart, _named("patch", "deployments", "apps")),
            ("GET", re.compile(r"/api/v1/pods"), self.pods, _in_query("list", "pods")),
            ("GET", re.compile(rf"/api/v1/namespaces/{ns}/pods/{name}"), self.pod, _named("get", "pods")),
            (
                "GET",
                re.compile(rf"/api/v1/namespaces/{ns}/(?P<kind>pods|deployments)/{name}/log"),
                self.logs,
                _log_access,
            ),
            ("GET", re.compile(r"/api/v1/services"), self.services, _in_query("list", "services")),
            ("GET", re.compile(r"/api/v1/events"), self.events, _in_query("list", "events")),
            (
                "POST",
                re.compile(rf"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token"),
                self.token_request,
                _named("create", "serviceaccounts", "", "token"),
            ),
            ("POST", re.compile(r"/api/v1/apply"), self.apply, "admin"),
            ("GET", re.compile(r"/openid/v1/jwks"), self.jwks, "public"),
            ("GET", re.compile(r"/\.well-known/openid-configuration"), self.discovery, "public"),
        ]

    async def start(self, port: int) -> int:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", port, reuse_address=True)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    # -- HTTP -------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await read_request(reader)
            except HttpError as exc:
                await write_json(writer, exc.status, error_status(exc.status, exc.message))
                return
            if request is not None:
                await self._dispatch(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _route(self, request: Request) -> tuple[Handler, Access, dict[str, str]] | list[str]:
        """The matching route, or the methods the path accepts (empty: no such path)."""
        allowed = []
        for method, pattern, handler, access in self.routes:
            match = pattern.fullmatch(request.path)
            if match:
                if method == request.method:
                    return handler, access, match.groupdict()
                allowed.append(method)
        return allowed

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> None:
        try:
            check_browser(request.headers)
            request.principal = self.authenticator.authenticate(request.headers.get("authorization"))
            found = self._route(request)
            public = not isinstance(found, list) and found[1] == "public"
            if request.principal is None and not public:
                raise UnauthorizedError()
            if isinstance(found, list):
                if found:
                    raise HttpError(405, f"{request.path} accepts {', '.join(found)}")
                raise HttpError(404, f"no route {request.method} {request.path}")
            handler, access, groups = found
            principal = request.principal
            if principal is not None and access == "admin":
                require_admin(principal, f"{request.method} {request.path}")
            elif principal is not None and callable(access):
                authorize(principal, access(request, groups), self.cluster.manifests.rbac)
            result = await handler(request, writer, **groups)
        except (UnauthorizedError, ForbiddenError) as exc:
            if isinstance(exc, ForbiddenError):
                log.info("control API: %s %s refused: %s", request.method, request.path, exc.message)
            await write_json(writer, exc.status, error_status(exc.status, exc.message))
            return
        except ProcessRuntimeError as exc:
            await write_json(writer, exc.status, error_status(exc.status, exc.message))
            return
        except Exception as exc:
            log.exception("control API %s %s failed", request.method, request.path)
            await write_json(writer, 500, error_status(500, f"{type(exc).__name__}: {exc}"))
            return
        if isinstance(result, Created):
            await write_json(writer, 201, result.payload)
        elif result is not None:
            await write_json(writer, 200, result)

    # -- handlers (each returns JSON data, or None after writing its own answer) -------------
    async def health(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        if request.principal is None:
            return {"status": "ok"}
        return self.cluster.health()

    async def namespaces(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return {
            "items": [
                {"name": name, "status": "Active", "labels": labels}
                for name, labels in sorted(self.cluster.manifests.namespaces.items())
            ]
        }

    async def deployments(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        namespace = request.query.get("namespace")
        keys = sorted(self.cluster.manifests.deployments)
        return {
            "items": [
                self.cluster.deployment_status(k)
                for k in keys
                if namespace is None or k.startswith(f"{namespace}/")
            ]
        }

    async def deployment(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        return self.cluster.deployment_status(self.cluster.deployment(ns, name).key)

    async def scale(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        body = request.json()
        if "replicas" not in body:
            raise InvalidRequestError('the body must be {"replicas": N}')
        return self.cluster.scale(ns, name, body["replicas"])

    async def restart(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        request.json()  # an empty body, or JSON
        return self.cluster.restart(ns, name)

    async def pods(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        namespace = request.query.get("namespace")
        deployment = request.query.get("deployment")
        return {
            "items": [
                p.as_dict()
                for p in self.cluster.all_pods()
                if (namespace is None or p.namespace == namespace)
                and (deployment is None or p.deployment == deployment)
            ]
        }

    async def pod(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        return self.cluster.find_pod(ns, name).as_dict()

    async def services(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        namespace = request.query.get("namespace")
        services = self.cluster.manifests.services
        return {
            "items": [
                self.cluster.service_status(services[k])
                for k in sorted(services)
                if namespace is None or services[k].namespace == namespace
            ]
        }

    async def events(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        since = request.int_query("since", 0)
        return {
            "items": self.cluster.events.list(
                request.query.get("namespace"), since, request.query.get("name")
            )
        }

    async def token_request(self, request: Request, writer: asyncio.StreamWriter, ns: str, name: str) -> Any:
        answer = create_token(self.cluster.manifests, self.cluster.issuer, ns, name, request.json())
        log.info("issued a token for %s/%s (audiences %s)", ns, name, answer["spec"]["audiences"])
        return Created(answer)

    async def apply(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        request.json()
        return await self.cluster.apply()

    async def jwks(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return self.cluster.issuer.jwks()

    async def discovery(self, request: Request, writer: asyncio.StreamWriter) -> Any:
        return self.cluster.issuer.discovery(f"http://127.0.0.1:{self.port}/openid/v1/jwks")

    async def logs(
        self, request: Request, writer: asyncio.StreamWriter, ns: str, kind: str, name: str
    ) -> Any:
        tail = request.int_query("tail", -1)
        await stream_logs(self.cluster, writer, ns, name, kind == "deployments", tail, request.flag("follow"))
        return None
