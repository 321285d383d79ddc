"""The Nexus control plane (spec §2.4) on this machine: what the CLI and the TUI call.

The services' Kubernetes manifests (``services/**/k8s/templates/*.yaml``) are rendered
with the stack's names (:mod:`~nexuskit.controlplane.render`) into
``<state>/manifests/`` and run by a runtime:

* ``process`` (default): ``emulation.runtime`` as a daemon
  (:class:`~nexuskit.controlplane.daemon.RuntimeDaemon`); each pod a local process, each
  Service a stable local port from engine port + 100 (``NEXUSKIT_SERVICE_PORT_BASE``);
* ``kind`` (``NEXUSKIT_K8S=kind``): a kind cluster (:mod:`~nexuskit.controlplane.kind`),
  where Docker, kind and kubectl exist.

Every function takes the stack's :class:`~nexuskit.config.KitSettings` and returns plain
data; failures are :class:`ControlPlaneError` (or ``ConfigError`` for a bad manifest,
``ToolMissingError`` for a missing tool) with a one-line message. Calls to the runtime's
control API are authenticated with its admin token (``<state>/runtime/admin-token``);
:func:`service_token` gets a ServiceAccount token (the operator's, by default) for
calling the services.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneClient, ControlPlaneError
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.controlplane.render import manifest_values, render_manifests
from nexuskit.controlplane.tokens import service_token
from nexuskit.errors import ConfigError
from nexuskit.stack import StackSpec

log = logging.getLogger(__name__)

__all__ = [
    "ControlPlaneError",
    "RuntimeDaemon",
    "deployments",
    "events",
    "logs",
    "manifest_values",
    "ps",
    "render_manifests",
    "restart",
    "runtime_kind",
    "scale",
    "service_endpoints",
    "service_token",
    "services",
    "start",
    "stop",
]

K8S_ENV = "NEXUSKIT_K8S"
RUNTIMES = ("process", "kind")
#: endpoints.* of ``status --json`` -> (Service namespace/name, path)
ENDPOINT_SERVICES: dict[str, tuple[str, str]] = {
    "agent_core": ("nexus-agent-core/agent-core", ""),
    "ui": ("nexus-agent-core/nexus-ui", ""),
    "mcp.aws": ("nexus-mcp/aws-mcp", "/mcp"),
    "mcp.custom": ("nexus-mcp/custom-mcp", "/mcp"),
    "mcp.database": ("nexus-mcp/database-mcp", "/mcp"),
    "mcp.k8s": ("nexus-mcp/k8s-mcp", "/mcp"),
}
PS_FIELDS = ("deployment", "namespace", "name", "phase", "ready", "restarts", "age", "port")


def runtime_kind(requested: str | None = None) -> str:
    """``process`` or ``kind``: ``requested``, else ``NEXUSKIT_K8S``, else process."""
    kind = (requested or os.environ.get(K8S_ENV, "process")).strip().lower() or "process"
    if kind not in RUNTIMES:
        raise ConfigError(f"{K8S_ENV}={kind!r} is not a runtime", "use process (default) or kind")
    return kind


def local_api_url(spec: StackSpec, target: AwsTarget) -> str:
    """The emulated invoke URL of the HTTP API, or "" while the edge is not provisioned."""
    try:
        apis = target.client("apigatewayv2", max_attempts=1).get_apis().get("Items", [])
    except Exception as exc:  # the edge is optional for the control plane
        log.info("no HTTP API lookup (%s)", exc)
        return ""
    for api in apis:
        if api.get("Name") == spec.http_api:
            return f"{target.endpoint_url}/_aws/execute-api/{api['ApiId']}/{spec.http_api_stage}"
    return ""


def start(
    settings: KitSettings,
    spec: StackSpec,
    target: AwsTarget,
    *,
    wait_ready: bool = True,
    runtime: str | None = None,
) -> dict[str, Any]:
    """Render the manifests for ``spec`` and run them (``up`` calls this after provisioning).

    ``runtime`` is ``process`` or ``kind`` (default: ``NEXUSKIT_K8S``, else process).
    """
    daemon = RuntimeDaemon(settings)
    values = manifest_values(spec, account_id=target.account_id, api_invoke_url=local_api_url(spec, target))
    render_manifests(spec, daemon.manifests_dir, values=values)
    if runtime_kind(runtime) == "kind":
        from nexuskit.controlplane.kind import kind_up

        return kind_up(settings, spec, target, daemon.manifests_dir)
    health = daemon.start(spec, settings.endpoint, wait_ready=wait_ready)
    return {"runtime": "process", "health": health}


def stop(settings: KitSettings) -> bool:
    """Stop the runtime and every pod (``down`` calls this before stopping the engine)."""
    from nexuskit.controlplane.kind import kind_down

    kind_down(settings)
    return RuntimeDaemon(settings).stop()


def service_endpoints(settings: KitSettings) -> dict[str, Any]:
    """Local URLs of agent-core, the MCP services and the UI; None while not running."""
    info = RuntimeDaemon(settings).info()
    ports: dict[str, dict[str, int]] = (info or {}).get("services", {})
    out: dict[str, Any] = {"agent_core": None, "ui": None, "mcp": {}}
    for key, (service, path) in ENDPOINT_SERVICES.items():
        local = ports.get(service, {}).get("80")
        url = f"http://127.0.0.1:{local}{path}" if local else None
        if key.startswith("mcp."):
            out["mcp"][key.removeprefix("mcp.")] = url
        else:
            out[key] = url
    return out


def _client(settings: KitSettings) -> ControlPlaneClient:
    return RuntimeDaemon(settings).client()


def deployments(settings: KitSettings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _client(settings).get("/api/v1/deployments")["items"]
    return items


def services(settings: KitSettings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _client(settings).get("/api/v1/services")["items"]
    return items


def ps(settings: KitSettings, namespace: str | None = None) -> list[dict[str, Any]]:
    """One entry per pod: deployment, namespace, name, phase, ready, restarts, age, port.

    Plus ``pid``, ``node``, ``last_exit`` (code, reason) and ``message`` (why it waits).
    """
    items = _client(settings).get("/api/v1/pods", namespace=namespace)["items"]
    out = []
    for pod in items:
        entry = {key: pod[key] for key in PS_FIELDS if key in pod}
        entry["age"] = pod["age_s"]
        entry.update(
            {"pid": pod["pid"], "node": pod["node"], "last_exit": pod["last_exit"], "message": pod["message"]}
        )
        out.append(entry)
    return out


def resolve_deployment(settings: KitSettings, name: str) -> tuple[str, str]:
    """``name`` or ``namespace/name`` -> (namespace, name) of one Deployment."""
    items = deployments(settings)
    if "/" in name:
        namespace, _, short = name.partition("/")
        matches = [d for d in items if d["namespace"] == namespace and d["name"] == short]
    else:
        matches = [d for d in items if d["name"] == name]
    if not matches:
        known = ", ".join(d["name"] for d in items)
        raise ControlPlaneError(f"no deployment {name!r}", f"known: {known}")
    if len(matches) > 1:
        raise ControlPlaneError(f"{name!r} is in several namespaces", "write it as namespace/name")
    return str(matches[0]["namespace"]), str(matches[0]["name"])


def scale(settings: KitSettings, deployment: str, replicas: int) -> dict[str, Any]:
    namespace, name = resolve_deployment(settings, deployment)
    result: dict[str, Any] = _client(settings).post(
        f"/api/v1/namespaces/{namespace}/deployments/{name}/scale", {"replicas": replicas}
    )
    return result


def restart(settings: KitSettings, deployment: str) -> dict[str, Any]:
    namespace, name = resolve_deployment(settings, deployment)
    result: dict[str, Any] = _client(settings).post(
        f"/api/v1/namespaces/{namespace}/deployments/{name}/restart"
    )
    return result


def logs(settings: KitSettings, name: str, tail: int | None = None, follow: bool = False) -> Iterator[str]:
    """Lines of a deployment's (or Service's, or pod's) logs; with ``follow`` until interrupted.

    A deployment's lines are prefixed with ``[pod]``; a pod's are as written.
    """
    client = _client(settings)
    target = _log_target(settings, client, name)
    query: dict[str, Any] = {"tail": tail if tail is not None else -1}
    if follow:
        query["follow"] = "true"
    return client.stream(target, **query)


def _log_target(settings: KitSettings, client: ControlPlaneClient, name: str) -> str:
    deployments_found = [
        d for d in deployments(settings) if name in {d["name"], f"{d['namespace']}/{d['name']}"}
    ]
    if len(deployments_found) == 1:
        d = deployments_found[0]
        return f"/api/v1/namespaces/{d['namespace']}/deployments/{d['name']}/log"
    for svc in services(settings):
        if name in {svc["name"], f"{svc['namespace']}/{svc['name']}"}:
            for d in deployments(settings):
                if d["namespace"] == svc["namespace"] and any(
                    s["name"] == svc["name"] for s in d["services"]
                ):
                    return f"/api/v1/namespaces/{d['namespace']}/deployments/{d['name']}/log"
    pods = client.get("/api/v1/pods")["items"]
    for pod in pods:
        if name in {pod["name"], f"{pod['namespace']}/{pod['name']}"}:
            return f"/api/v1/namespaces/{pod['namespace']}/pods/{pod['name']}/log"
    raise ControlPlaneError(f"no deployment, service or pod named {name!r}", "see `nexuskit ps`")


def events(settings: KitSettings, namespace: str | None = None, since: int = 0) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _client(settings).get("/api/v1/events", namespace=namespace, since=since)[
        "items"
    ]
    return items
