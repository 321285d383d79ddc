"""Starting and stopping the control plane with the stack (``up``/``down``), and the
local URLs of its Services.

``start`` renders the manifests for the stack and runs them on the chosen runtime
(``process``: :class:`~nexuskit.controlplane.daemon.RuntimeDaemon`, or ``kind``:
:mod:`~nexuskit.controlplane.kind`); ``stop`` stops either.
"""

from __future__ import annotations

import logging
from typing import Any

from nexuskit.aws import AwsTarget
from nexuskit.config import KitSettings
from nexuskit.controlplane.daemon import RuntimeDaemon
from nexuskit.controlplane.render import manifest_values, render_manifests
from nexuskit.errors import ConfigError
from nexuskit.params import StackSpec

log = logging.getLogger(__name__)

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
    """``process`` or ``kind``: ``requested`` (``KitSettings.k8s``: ``NEXUSKIT_K8S``), else process."""
    kind = (requested or "process").strip().lower() or "process"
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

    ``runtime`` is ``process`` or ``kind`` (default: ``settings.k8s``, i.e. ``NEXUSKIT_K8S``,
    else process).
    """
    daemon = RuntimeDaemon(settings)
    values = manifest_values(spec, account_id=target.account_id, api_invoke_url=local_api_url(spec, target))
    render_manifests(spec, daemon.manifests_dir, values=values)
    if runtime_kind(runtime or settings.k8s) == "kind":
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
