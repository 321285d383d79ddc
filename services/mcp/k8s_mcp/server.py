"""k8s-mcp's tools: parse, check the namespace allow-list, call the backend, return.

Every tool needs the caller's ``read`` role; ``scale_deployment`` needs ``write`` (and
``--allow-write``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from pydantic import Field

from services.common.httpguard import ASGIApp
from services.mcp.common import WriteGuard, build_http_app, read_only, tool_error, write_annotations
from services.mcp.k8s_mcp.backends import BackendError, ClusterBackend, choose_backend
from services.mcp.k8s_mcp.settings import K8sMcpSettings
from services.mcp.k8s_mcp.triage import troubleshoot

if TYPE_CHECKING:
    from mcp.server import MCPServer

T = TypeVar("T")


def create_server(settings: K8sMcpSettings, backend: ClusterBackend | None, problem: str = "") -> MCPServer:
    from mcp.server import MCPServer  # the SDK: imported by the first MCP request

    guard = WriteGuard(settings.service_name, settings.allow_write)
    allowed = settings.namespaces
    server = MCPServer(
        settings.service_name,
        instructions="Pods and deployments of the Nexus namespaces: list, troubleshoot, scale. "
        f"Namespaces: {', '.join(allowed)}. Read-only unless started with --allow-write.",
    )

    def cluster() -> ClusterBackend:
        if backend is None:
            raise tool_error(f"k8s-mcp has no Kubernetes API: {problem}")
        return backend

    def check(namespace: str) -> str:
        if namespace not in allowed:
            raise tool_error(f"namespace {namespace!r} is not in k8s-mcp's allow-list ({', '.join(allowed)})")
        return namespace

    def call(fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except BackendError as exc:
            raise tool_error(str(exc)) from None

    @server.tool(annotations=read_only())
    def list_namespaces() -> dict[str, Any]:
        """The namespaces k8s-mcp may see (its allow-list) and whether each exists."""
        existing = set(call(cluster().list_namespaces))
        return {"namespaces": [{"name": ns, "exists": ns in existing} for ns in allowed]}

    @server.tool(annotations=read_only())
    def list_pods(namespace: str, deployment: str | None = None) -> dict[str, Any]:
        """Pods of a namespace (optionally of one deployment): status, ready, restarts, last exit."""
        pods = call(cluster().list_pods, check(namespace), deployment)
        return {"namespace": namespace, "pods": pods, "count": len(pods)}

    @server.tool(annotations=read_only())
    def list_deployments(namespace: str) -> dict[str, Any]:
        """Deployments of a namespace with desired, ready and available replicas."""
        deployments = call(cluster().list_deployments, check(namespace))
        return {"namespace": namespace, "deployments": deployments, "count": len(deployments)}

    @server.tool(annotations=read_only())
    def troubleshoot_pod(
        namespace: str,
        name: Annotated[
            str, Field(description="a pod name, or a deployment name (its worst pod is examined)")
        ],
        tail_lines: Annotated[int, Field(ge=0, le=500)] = 40,
    ) -> dict[str, Any]:
        """Why a pod is unhealthy: phase, restarts, last exit, events, log tail and a diagnosis."""
        return call(troubleshoot, cluster(), check(namespace), name, tail_lines)

    @server.tool(annotations=write_annotations(destructive=True, idempotent=True))
    def scale_deployment(
        namespace: str,
        name: str,
        replicas: Annotated[int, Field(ge=0, description="the desired replica count")],
    ) -> dict[str, Any]:
        """Set a deployment's replica count; needs --allow-write."""
        guard.check("scale_deployment")
        check(namespace)
        if replicas > settings.max_replicas:
            raise tool_error(f"replicas {replicas} is over k8s-mcp's limit of {settings.max_replicas}")
        return call(cluster().scale, namespace, name, replicas)

    return server


def create_app(settings: K8sMcpSettings, backend: ClusterBackend | None = None) -> ASGIApp:
    problem: str | None = None
    if backend is None:
        try:
            backend = choose_backend(settings.request_timeout_seconds)
        except BackendError as exc:
            problem = str(exc)
    chosen = backend

    async def health() -> dict[str, Any]:
        if chosen is None:
            return {"status": "failing", "backend": None, "error": problem}
        try:
            with anyio.fail_after(5):
                await anyio.to_thread.run_sync(chosen.list_namespaces)
        except (BackendError, TimeoutError) as exc:
            return {"status": "degraded", "backend": chosen.name, "error": str(exc) or "timeout"}
        return {"status": "ok", "backend": chosen.name, "namespaces": settings.namespaces}

    return build_http_app(lambda: create_server(settings, backend, problem or ""), settings, health)
