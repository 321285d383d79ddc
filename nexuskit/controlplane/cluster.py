"""Deployments, pods, Services and events of the stack's cluster, through the official client.

What ``nexuskit ps/scale/restart/events``, ``overview`` and the dashboard show, as plain
dicts, read from the Kubernetes API (the process runtime's or kind's: see
:mod:`~nexuskit.controlplane.kube`) exactly as ``kubectl`` reads it. Answers are read
raw (``_preload_content=False``) and mapped here, so no model classes are built.

deployment
    ``namespace``, ``name``, ``replicas`` (desired), ``ready``, ``ready_text``, ``updated``,
    ``available``, ``pods``, ``complete``, ``revision``, ``age_s``, ``depends_on``,
    ``waiting_for``, ``service_account``, ``command``, ``image``, ``services``.
pod (``ps``)
    ``deployment``, ``namespace``, ``name``, ``phase`` (kubectl's STATUS), ``ready``,
    ``restarts``, ``age``, ``port`` (its local port), ``pid``, ``node``, ``last_exit``
    (``exit_code``, ``reason``) and ``message`` (why it waits).
"""

from __future__ import annotations

import calendar
import json
import shlex
import time
from typing import Any

from nexuskit.config import KitSettings
from nexuskit.controlplane.client import ControlPlaneError
from nexuskit.controlplane.kube import apps, call, core

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
LOCAL_PORTS = "nexuskit.dev/local-ports"
LOCAL_ADDRESS = "nexuskit.dev/local-address"
DEPENDS_ON = "nexuskit.dev/depends-on"
LOCAL_COMMAND = "nexuskit.dev/local-command"


def _raw(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    response = call(what, fn, *args, _preload_content=False, **kwargs)
    return json.loads(response.data)


def epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return float(calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def _seconds_since_created(meta: dict[str, Any]) -> float:
    """Seconds since the object's ``creationTimestamp`` (0 when it has none)."""
    created = epoch(meta.get("creationTimestamp"))
    return round(time.time() - created, 1) if created else 0.0


def pod_status(pod: dict[str, Any]) -> str:
    """kubectl's STATUS column for a pod."""
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or f"ExitCode:{term.get('exitCode')}"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def pod_entry(pod: dict[str, Any]) -> dict[str, Any]:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    container = (status.get("containerStatuses") or [{}])[0]
    owner = next((o["name"] for o in meta.get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), "")
    ports = json.loads((meta.get("annotations") or {}).get(LOCAL_PORTS) or "{}")
    declared = [p.get("containerPort") for c in spec.get("containers") or [] for p in c.get("ports") or []]
    port = ports.get(str(declared[0])) if declared else next(iter(ports.values()), None)
    state = container.get("state") or {}
    terminated = (container.get("lastState") or {}).get("terminated") or state.get("terminated")
    cid = str(container.get("containerID") or "")
    message = (state.get("waiting") or {}).get("message") or ""
    if not message:
        message = next(
            (
                c.get("message", "")
                for c in status.get("conditions") or []
                if c.get("status") == "False" and c.get("message")
            ),
            "",
        )
    return {
        "deployment": owner.rsplit("-", 1)[0] if owner else meta.get("labels", {}).get("app", ""),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "phase": pod_status(pod),
        "pod_phase": status.get("phase"),
        "ready": bool(container.get("ready")),
        "restarts": int(container.get("restartCount") or 0),
        "age": _seconds_since_created(meta),
        "port": port,
        "ports": ports,
        "pid": int(cid.removeprefix("process://")) if cid.startswith("process://") else None,
        "node": spec.get("nodeName"),
        "last_exit": {"exit_code": terminated.get("exitCode"), "reason": terminated.get("reason")}
        if terminated
        else None,
        "message": message,
        "uid": meta.get("uid"),
        "started_at": epoch((state.get("running") or {}).get("startedAt")),
    }


def list_pods(settings: KitSettings, namespace: str | None = None) -> list[dict[str, Any]]:
    api = core(settings)
    if namespace:
        body = _raw(f"pods in {namespace}", api.list_namespaced_pod, namespace)
    else:
        body = _raw("pods", api.list_pod_for_all_namespaces)
    items: list[dict[str, Any]] = body.get("items", [])
    return items


def ps(settings: KitSettings, namespace: str | None = None) -> list[dict[str, Any]]:
    pods = [pod_entry(p) for p in list_pods(settings, namespace)]
    return sorted(pods, key=lambda p: (p["namespace"], p["deployment"], -p["age"]))


def service_entry(service: dict[str, Any], endpoints: dict[str, Any] | None = None) -> dict[str, Any]:
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    addresses = [a for a in (meta.get("annotations") or {}).get(LOCAL_ADDRESS, "").split(",") if a]
    locals_ = [int(a.rsplit(":", 1)[1]) for a in addresses]
    ports = [
        {
            "port": p.get("port"),
            "target_port": p.get("targetPort"),
            "local_port": locals_[i] if i < len(locals_) else None,
        }
        for i, p in enumerate(spec.get("ports") or [])
    ]
    first = locals_[0] if locals_ else None
    ready = [
        f"127.0.0.1:{port['port']}"
        for subset in (endpoints or {}).get("subsets") or []
        for _ in subset.get("addresses") or []
        for port in (subset.get("ports") or [])[:1]
    ]
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "ports": ports,
        "local_port": first,
        "url": f"http://127.0.0.1:{first}" if first else None,
        "cluster_dns": f"{meta.get('name')}.{meta.get('namespace')}.svc.cluster.local",
        "selector": spec.get("selector") or {},
        "endpoints": ready,
    }


def services(settings: KitSettings) -> list[dict[str, Any]]:
    api = core(settings)
    endpoints = {
        (e["metadata"]["namespace"], e["metadata"]["name"]): e
        for e in _raw("endpoints", api.list_endpoints_for_all_namespaces).get("items", [])
    }
    items = _raw("services", api.list_service_for_all_namespaces).get("items", [])
    out = [
        service_entry(s, endpoints.get((s["metadata"]["namespace"], s["metadata"]["name"]))) for s in items
    ]
    return sorted(out, key=lambda s: (s["namespace"], s["name"]))


def deployment_entry(
    deployment: dict[str, Any], pods: list[dict[str, Any]], all_services: list[dict[str, Any]]
) -> dict[str, Any]:
    meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    annotations = meta.get("annotations") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    desired = int(spec.get("replicas") or 0)
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    current = int(status.get("replicas") or 0)
    own = [p for p in pods if p["namespace"] == meta["namespace"] and p["deployment"] == meta["name"]]
    waiting = sorted(
        {
            dep.strip()
            for p in own
            if p["message"].startswith("waiting for ")
            for dep in p["message"].removeprefix("waiting for ").split(",")
        }
    )
    containers = (template.get("spec") or {}).get("containers") or [{}]
    try:
        command = shlex.split(annotations.get(LOCAL_COMMAND, ""))
    except ValueError:
        command = []
    return {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "replicas": desired,
        "ready": ready,
        "ready_text": f"{ready}/{desired}",
        "updated": updated,
        "available": int(status.get("availableReplicas") or 0),
        "pods": current,
        "complete": ready >= desired
        and updated == desired
        and current == desired
        and int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0),
        "revision": annotations.get("deployment.kubernetes.io/revision"),
        "age_s": _seconds_since_created(meta),
        "depends_on": [d.strip() for d in annotations.get(DEPENDS_ON, "").split(",") if d.strip()],
        "waiting_for": waiting,
        "service_account": (template.get("spec") or {}).get("serviceAccountName", "default"),
        "command": command,
        "image": containers[0].get("image", ""),
        "services": [
            s
            for s in all_services
            if s["namespace"] == meta["namespace"]
            and s["selector"]
            and all(labels.get(k) == v for k, v in s["selector"].items())
        ],
    }


def deployments(settings: KitSettings) -> list[dict[str, Any]]:
    items = _raw("deployments", apps(settings).list_deployment_for_all_namespaces).get("items", [])
    pods = ps(settings)
    all_services = services(settings)
    out = [deployment_entry(d, pods, all_services) for d in items]
    return sorted(out, key=lambda d: (d["namespace"], d["name"]))


def resolve_deployment(settings: KitSettings, name: str) -> tuple[str, str]:
    """``name`` or ``namespace/name`` -> (namespace, name) of one Deployment."""
    items = _raw("deployments", apps(settings).list_deployment_for_all_namespaces).get("items", [])
    found = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in items]
    if "/" in name:
        matches = [f for f in found if f == tuple(name.split("/", 1))]
    else:
        matches = [f for f in found if f[1] == name]
    if not matches:
        known = ", ".join(sorted(n for _, n in found))
        raise ControlPlaneError(f"no deployment {name!r}", f"known: {known}")
    if len(matches) > 1:
        raise ControlPlaneError(f"{name!r} is in several namespaces", "write it as namespace/name")
    return matches[0]


def scale(settings: KitSettings, deployment: str, replicas: int) -> dict[str, Any]:
    """``kubectl scale``: the ``scale`` subresource."""
    namespace, name = resolve_deployment(settings, deployment)
    body = {"spec": {"replicas": replicas}}
    answer = _raw(
        f"scale {namespace}/{name}", apps(settings).patch_namespaced_deployment_scale, name, namespace, body
    )
    return {
        "namespace": namespace,
        "name": name,
        "replicas": answer.get("spec", {}).get("replicas", replicas),
    }


def restart(settings: KitSettings, deployment: str) -> dict[str, Any]:
    """``kubectl rollout restart``: stamp ``restartedAt`` on the pod template."""
    from datetime import UTC, datetime

    namespace, name = resolve_deployment(settings, deployment)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    answer = _raw(
        f"restart {namespace}/{name}", apps(settings).patch_namespaced_deployment, name, namespace, body
    )
    return {"namespace": namespace, "name": name, "replicas": answer.get("spec", {}).get("replicas")}


def events(settings: KitSettings, namespace: str | None = None, since: int = 0) -> list[dict[str, Any]]:
    """Events, oldest first; ``since`` skips those with a resourceVersion up to it."""
    api = core(settings)
    if namespace:
        body = _raw(f"events in {namespace}", api.list_namespaced_event, namespace)
    else:
        body = _raw("events", api.list_event_for_all_namespaces)
    out = []
    for item in body.get("items", []):
        involved = item.get("involvedObject") or {}
        version = int(item["metadata"].get("resourceVersion") or 0)
        if version <= since:
            continue
        out.append(
            {
                "id": version,
                "type": item.get("type"),
                "reason": item.get("reason"),
                "object": f"{involved.get('kind')}/{involved.get('name')}",
                "kind": involved.get("kind"),
                "namespace": involved.get("namespace") or item["metadata"].get("namespace"),
                "name": involved.get("name"),
                "message": item.get("message"),
                "count": int(item.get("count") or 1),
                "first_time": epoch(item.get("firstTimestamp")),
                "last_time": epoch(item.get("lastTimestamp")) or 0.0,
            }
        )
    return sorted(out, key=lambda e: e["id"])


def wait_rollouts(settings: KitSettings, wanted: list[tuple[str, str]], timeout: float = 300) -> None:
    """Until every (namespace, name) Deployment has rolled out (``kubectl rollout status``)."""
    deadline = time.monotonic() + timeout
    pending = list(wanted)
    while True:
        items = _raw("deployments", apps(settings).list_deployment_for_all_namespaces).get("items", [])
        done = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in items
                if deployment_entry(d, [], [])["complete"]}  # fmt: skip
        pending = [key for key in pending if key not in done]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(f"{ns}/{name}" for ns, name in pending)
            raise ControlPlaneError(f"not rolled out within {timeout:.0f} s: {names}", "see `nexuskit ps`")
        time.sleep(1)


def deployment_names(settings: KitSettings) -> list[str]:
    """``namespace/name`` of every Deployment (one list call)."""
    body = json.loads(call("deployments", apps(settings).list_deployment_for_all_namespaces,
                           _preload_content=False).data)  # fmt: skip
    return sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in body.get("items", []))
