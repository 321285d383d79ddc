"""The stack at a glance: every resource and Deployment as one row, and the detail of one.

What ``nexuskit overview`` prints and the dashboard's Stack screen shows. Built from
:func:`nexuskit.lifecycle.status` (engine and AWS resources) and the control plane
(:func:`nexuskit.controlplane.cluster.deployments`, ``ps``, ``events``, ``logs``); plain data back.

A row has the same keys for both kinds, so one table can hold them::

    {"kind": "deployment" | "resource", "type", "name", "state", "health",
     "replicas", "restarts", "uptime_s", "endpoint", "detail"}

``replicas``/``restarts`` are None for AWS resources; a resource's uptime is the engine's.

:func:`open_lake` gives the lake of a running stack as the admin identity (or a stack
role), which ``nexuskit lake`` and the Lake screen browse.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nexuskit.config import KitSettings
from nexuskit.errors import EngineError, NexuskitError

if TYPE_CHECKING:
    from nexuskit.lake.access import Lake

log = logging.getLogger(__name__)

READY_STATES = {"ready", "exists", "created", "updated"}


def _resource_row(resource: dict[str, Any], engine: dict[str, Any]) -> dict[str, Any]:
    state = str(resource.get("state", ""))
    detail = str(resource.get("detail", ""))
    if state in READY_STATES:
        health = "ok"
    elif state.startswith("emulated"):
        health = "emulated"
    else:
        health = "missing"
    return {
        "kind": "resource",
        "type": resource.get("type", ""),
        "name": resource.get("name", ""),
        "state": state,
        "health": health,
        "replicas": None,
        "restarts": None,
        "uptime_s": engine.get("uptime_s"),
        "endpoint": detail if detail.startswith("http") else engine.get("endpoint"),
        "detail": detail,
    }


def _deployment_state(deployment: dict[str, Any]) -> str:
    if deployment.get("complete"):
        return "running"
    if deployment.get("waiting_for"):
        return "waiting"
    if int(deployment.get("replicas") or 0) == 0:
        return "scaled to 0"
    return "progressing"


def deployment_rows(settings: KitSettings) -> list[dict[str, Any]]:
    """One row per Deployment: state, ready/desired, replicas, restarts of its pods, age, URL."""
    from nexuskit.controlplane import cluster

    pods = cluster.ps(settings)
    rows = []
    for deployment in cluster.deployments(settings):
        namespace, name = deployment["namespace"], deployment["name"]
        own = [p for p in pods if p["namespace"] == namespace and p["deployment"] == name]
        services = deployment.get("services") or []
        rows.append(
            {
                "kind": "deployment",
                "type": "deployment",
                "name": f"{namespace}/{name}",
                "state": _deployment_state(deployment),
                "health": deployment.get("ready_text", ""),
                "replicas": deployment.get("replicas"),
                "restarts": sum(int(p.get("restarts") or 0) for p in own),
                "uptime_s": deployment.get("age_s"),
                "endpoint": services[0].get("url") if services else None,
                "detail": deployment.get("image", ""),
            }
        )
    return rows


def stack_overview(settings: KitSettings, resources: bool = True) -> dict[str, Any]:
    """Engine, Deployments and (with ``resources``) every AWS resource, as rows.

    A stopped engine or control plane is not an error: its part is empty and
    ``engine.state``/``control_plane.error`` say why.
    """
    from nexuskit import lifecycle

    if resources:
        status = lifecycle.status(settings)
        engine = status["engine"]
        resource_rows = [_resource_row(r, engine) for r in status["resources"]]
        endpoints = status["endpoints"]
    else:
        from nexuskit.engine import EmbeddedEngine

        running = EmbeddedEngine(settings).health()
        engine = {
            "endpoint": settings.endpoint,
            "state": "running" if running else "stopped",
            "uptime_s": running.get("uptime_s") if running else None,
        }
        resource_rows = []
        endpoints = {}
    control: dict[str, Any] = {"error": None}
    try:
        deployments = deployment_rows(settings)
    except NexuskitError as exc:
        deployments = []
        control["error"] = str(exc)
    return {
        "engine": engine,
        "control_plane": control,
        "deployments": deployments,
        "resources": resource_rows,
        "endpoints": endpoints,
    }


def deployment_detail(settings: KitSettings, name: str, log_lines: int = 20) -> dict[str, Any]:
    """A Deployment's configuration, its pods, its recent events and log lines."""
    from nexuskit.controlplane import cluster, podlogs

    namespace, short = cluster.resolve_deployment(settings, name)
    deployment = next(
        d for d in cluster.deployments(settings) if d["namespace"] == namespace and d["name"] == short
    )
    pods = [p for p in cluster.ps(settings, namespace) if p["deployment"] == short]
    pod_names = {p["name"] for p in pods}
    events = [
        e
        for e in cluster.events(settings, namespace)
        if e["name"] == short or e["name"] in pod_names or str(e["name"]).startswith(f"{short}-")
    ]
    lines = list(podlogs.logs(settings, f"{namespace}/{short}", tail=log_lines))
    return {
        "kind": "deployment",
        "name": f"{namespace}/{short}",
        "configuration": deployment,
        "pods": pods,
        "events": events[-log_lines:],
        "logs": lines[-log_lines:],
    }


def resource_detail(settings: KitSettings, type_: str, name: str, log_lines: int = 20) -> dict[str, Any]:
    """An AWS resource's inventory entry and the engine's recent log lines that name it."""
    from nexuskit import lifecycle
    from nexuskit.logs import ENGINE, matching, tail

    status = lifecycle.status(settings)
    found = [r for r in status["resources"] if r.get("type") == type_ and r.get("name") == name]
    if not found:
        raise EngineError(f"no resource {type_} {name!r} in the stack", "see `nexuskit status`")
    needle = name.rpartition(":")[0] or name
    activity = matching(tail(settings, ENGINE, lines=2000), _literal(needle))
    return {
        "kind": "resource",
        "name": name,
        "configuration": _resource_row(found[0], status["engine"]),
        "logs": [line.text for line in activity[-log_lines:]],
    }


def _literal(text: str) -> str:
    import re

    return re.escape(text)


def open_lake(settings: KitSettings, as_role: str | None = None) -> Lake:
    """The lake of the running stack as the admin identity, or as a stack role."""
    from nexuskit.engine import EmbeddedEngine
    from nexuskit.lake.access import Lake

    spec = settings.stack()
    engine = EmbeddedEngine(settings)
    if engine.health() is None:
        raise EngineError(
            f"no engine answers at {engine.endpoint}", "start the stack with `nexuskit up --local`"
        )
    lake = Lake(spec, engine.target(spec.region), cache_dir=settings.resolved_state_dir() / "cache" / "lake")
    return lake.assume(as_role) if as_role else lake
