"""The Nexus control plane (spec §2.4) on this machine: what the CLI and the TUI call.

The services' Kubernetes manifests (``services/**/k8s/templates/*.yaml``) are rendered
with the stack's names (:mod:`~nexuskit.controlplane.render`) into
``<state>/manifests/`` and run by a runtime:

* ``process`` (default): ``emulation.runtime`` as a daemon
  (:class:`~nexuskit.controlplane.daemon.RuntimeDaemon`); each pod a local process, each
  Service a stable local port from engine port + 100 (``NEXUSKIT_SERVICE_PORT_BASE``);
* ``kind`` (``NEXUSKIT_K8S=kind``): a kind cluster (:mod:`~nexuskit.controlplane.kind`),
  where Docker, kind and kubectl exist.

Both are driven the same way, through the official ``kubernetes`` client against a
Kubernetes API (:mod:`~nexuskit.controlplane.kube`): the runtime's own (HTTPS on
127.0.0.1, ``<state>/kubeconfig``, context ``nexus-local``) or kind's. ``ps``,
``deployments``, ``scale``, ``restart``, ``events`` (:mod:`~nexuskit.controlplane.cluster`),
``logs`` (:mod:`~nexuskit.controlplane.podlogs`), re-applying manifests
(:mod:`~nexuskit.controlplane.apply`) and :func:`service_token` (a TokenRequest) are
what ``kubectl`` would do.

Every function takes the stack's :class:`~nexuskit.config.KitSettings` and returns plain
data; failures are :class:`ControlPlaneError` (or ``ConfigError`` for a bad manifest,
``ToolMissingError`` for a missing tool) with a one-line message.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.cluster import (
    deployments,
    events,
    ps,
    resolve_deployment,
    restart,
    scale,
    services,
)
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.controlplane.kubeconfig import kubeconfig_path, merge_kubeconfig, write_kubeconfig
from nexuskit.controlplane.podlogs import logs
from nexuskit.controlplane.render import manifest_values, render_manifests
from nexuskit.controlplane.tokens import service_token
from nexuskit.errors import ConfigError
from nexuskit.stack import StackSpec

log = logging.getLogger(__name__)

__all__ = [
    "ControlPlaneError",
    "RuntimeDaemon",
    "deployment_names",
    "deployments",
    "events",
    "kubeconfig_path",
    "logs",
    "manifest_values",
    "merge_kubeconfig",
    "ps",
    "render_manifests",
    "resolve_deployment",
    "restart",
    "runtime_kind",
    "scale",
    "service_endpoints",
    "service_token",
    "services",
    "start",
    "stop",
    "write_kubeconfig",
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


def deployment_names(settings: KitSettings) -> list[str]:
    """``namespace/name`` of every Deployment (one list call)."""
    import json

    from nexuskit.controlplane.kube import apps, call

    body = json.loads(call("deployments", apps(settings).list_deployment_for_all_namespaces,
                           _preload_content=False).data)  # fmt: skip
    return sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in body.get("items", []))
