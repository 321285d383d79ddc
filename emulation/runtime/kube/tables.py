"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the columns ``kubectl get`` shows.

``kubectl get`` asks for ``application/json;as=Table;g=meta.k8s.io;v=v1``; without a
Table it could only print NAME and AGE. The columns are the API server's (pods: NAME,
READY, STATUS, RESTARTS, AGE, and with ``-o wide`` IP, NODE, NOMINATED NODE, READINESS
GATES; deployments: READY, UP-TO-DATE, AVAILABLE...). Each row carries the object, or
its metadata only (``includeObject=Metadata``, what kubectl asks for), or nothing.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

Column = tuple[str, str, int]  # (name, type, priority)
Row = Callable[[dict[str, Any], float], list[Any]]


def parse_ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def age(value: str | None, now: float) -> str:
    """``kubectl``'s short durations: 45s, 12m, 3h20m, 5d."""
    start = parse_ts(value)
    if start is None:
        return "<unknown>"
    seconds = max(0, int(now - start))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _pod_row(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status") or {}
    containers = status.get("containerStatuses") or []
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    reason = status.get("phase", "Unknown")
    last_finished = None
    for c in containers:
        state = c.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or f"ExitCode:{term.get('exitCode')}"
        finished = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        last_finished = finished or last_finished
    if _meta(obj).get("deletionTimestamp"):
        reason = "Terminating"
    restart_text = str(restarts)
    if restarts and last_finished:
        restart_text += f" ({age(last_finished, now)} ago)"
    spec = obj.get("spec") or {}
    return [
        _meta(obj).get("name"),
        f"{ready}/{len(spec.get('containers') or containers)}",
        reason,
        restart_text,
        age(_meta(obj).get("creationTimestamp"), now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _images(template_spec: dict[str, Any]) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(selector: dict[str, Any] | None) -> str:
    labels = (selector or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _deployment_row(obj: dict[str, Any], now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _images(((spec.get("template") or {}).get("spec")) or {})
    return [
        _meta(obj).get("name"),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(_meta(obj).get("creationTimestamp"), now),
        names,
        images,
        _selector(spec.get("selector")),
    ]


def _replica_set_row(obj: dict[str, Any], now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _images(((spec.get("template") or {}).get("spec")) or {})
    return [
        _meta(obj).get("name"),
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(_meta(obj).get("creationTimestamp"), now),
        names,
        images,
        _selector(spec.get("selector")),
    ]


def _service_row(obj: dict[str, Any], now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    local = (_meta(obj).get("annotations") or {}).get("nexuskit.dev/local-address", "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [
        _meta(obj).get("name"),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        local,
        ports or "<none>",
        age(_meta(obj).get("creationTimestamp"), now),
        selector,
    ]


def _endpoints_row(obj: dict[str, Any], now: float) -> list[Any]:
    addresses = [
        f"{a['ip']}:{p['port']}"
        for subset in obj.get("subsets") or []
        for a in subset.get("addresses") or []
        for p in subset.get("ports") or []
    ]
    text = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [_meta(obj).get("name"), text or "<none>", age(_meta(obj).get("creationTimestamp"), now)]


def _slice_row(obj: dict[str, Any], now: float) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addresses = ",".join(a for e in obj.get("endpoints") or [] for a in e.get("addresses") or [])
    return [
        _meta(obj).get("name"),
        obj.get("addressType"),
        ports,
        addresses or "<unset>",
        age(_meta(obj).get("creationTimestamp"), now),
    ]


def _event_row(obj: dict[str, Any], now: float) -> list[Any]:
    involved = obj.get("involvedObject") or {}
    return [
        age(obj.get("lastTimestamp"), now),
        obj.get("type"),
        obj.get("reason"),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        obj.get("message"),
        "",
        (obj.get("source") or {}).get("component", ""),
        age(obj.get("firstTimestamp"), now),
        obj.get("count", 1),
        _meta(obj).get("name"),
    ]


def _age_row(*extra: Callable[[dict[str, Any]], Any]) -> Row:
    def row(obj: dict[str, Any], now: float) -> list[Any]:
        return [
            _meta(obj).get("name"),
            *(f(obj) for f in extra),
            age(_meta(obj).get("creationTimestamp"), now),
        ]

    return row


def _node_row(obj: dict[str, Any], now: float) -> list[Any]:
    labels = _meta(obj).get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")))
    internal = next(
        (
            a["address"]
            for a in (obj.get("status") or {}).get("addresses") or []
            if a.get("type") == "InternalIP"
        ),
        "<none>",
    )
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    return [
        _meta(obj).get("name"),
        "Ready",
        roles or "<none>",
        age(_meta(obj).get("creationTimestamp"), now),
        info.get("kubeletVersion"),
        internal,
        "<none>",
        info.get("osImage"),
        info.get("kernelVersion"),
        info.get("containerRuntimeVersion"),
    ]


NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)
TABLES: dict[str, tuple[list[Column], Row]] = {
    "pods": (
        [
            NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        _pod_row,
    ),
    "apps/deployments": (
        [
            NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _deployment_row,
    ),
    "apps/replicasets": (
        [
            NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _replica_set_row,
    ),
    "services": (
        [
            NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            AGE,
            ("Selector", "string", 1),
        ],
        _service_row,
    ),
    "endpoints": ([NAME, ("Endpoints", "string", 0), AGE], _endpoints_row),
    "discovery.k8s.io/endpointslices": (
        [NAME, ("AddressType", "string", 0), ("Ports", "string", 0), ("Endpoints", "string", 0), AGE],
        _slice_row,
    ),
    "events": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        _event_row,
    ),
    "namespaces": (
        [NAME, ("Status", "string", 0), AGE],
        _age_row(lambda o: (o.get("status") or {}).get("phase", "Active")),
    ),
    "configmaps": ([NAME, ("Data", "string", 0), AGE], _age_row(lambda o: len(o.get("data") or {}))),
    "secrets": (
        [NAME, ("Type", "string", 0), ("Data", "string", 0), AGE],
        _age_row(lambda o: o.get("type", "Opaque"), lambda o: len(o.get("data") or {})),
    ),
    "serviceaccounts": (
        [NAME, ("Secrets", "string", 0), AGE],
        _age_row(lambda o: len(o.get("secrets") or [])),
    ),
    "nodes": (
        [
            NAME,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node_row,
    ),
}
DEFAULT: tuple[list[Column], Row] = ([NAME, ("Created At", "date", 0)], _age_row())


def wants_table(accept: str) -> bool:
    return "as=table" in accept.lower().replace(" ", "")


def table(rid: str, objects: list[dict[str, Any]], resource_version: str, include: str) -> dict[str, Any]:
    """The Table of ``objects`` (``include``: Object, Metadata or None)."""
    columns, row = TABLES.get(rid, DEFAULT)
    now = time.time()
    rows = []
    for obj in objects:
        cells = row(obj, now)
        if columns is DEFAULT[0]:
            cells[-1] = _meta(obj).get("creationTimestamp")
        entry: dict[str, Any] = {"cells": cells}
        if include == "Object":
            entry["object"] = obj
        elif include != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": _meta(obj),
            }
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": priority,
            }
            for name, kind, priority in columns
        ],
        "rows": rows,
    }
