"""Namespaces, config, Services, endpoints, RBAC objects, nodes and events as the API shows them.

Stored objects (the manifest kinds) are served as written, with the server's metadata
(uid, creationTimestamp, generation) and the fields the API server fills in: a
Namespace's phase and ``kubernetes.io/metadata.name`` label, a Secret's ``data``
(``stringData`` folded in, base64), a Service's ``clusterIP`` and defaults. A Service's
local address (where it answers on this machine) is the annotation
``nexuskit.dev/local-address``; its cluster IP is a stable made-up one.

Endpoints and EndpointSlices list the Service's pods at ``127.0.0.1`` with each pod's
own local port (one subset, one slice per pod: their ports differ).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import uuid
from typing import TYPE_CHECKING, Any

from emulation.runtime.events import Event
from emulation.runtime.kube.workloads import ts
from emulation.runtime.manifests import Service

if TYPE_CHECKING:
    from emulation.runtime.controller import Cluster
    from emulation.runtime.settings import Node

LOCAL_ADDRESS = "nexuskit.dev/local-address"
#: annotations the server sets; a client that sends them back gets them dropped
SERVER_ANNOTATIONS = {LOCAL_ADDRESS, "nexuskit.dev/local-ports", "deployment.kubernetes.io/revision"}
SYSTEM_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "generateName",
)
EVENT_SOURCES = {
    "Scheduled": "default-scheduler",
    "FailedScheduling": "default-scheduler",
    "SuccessfulCreate": "replicaset-controller",
    "SuccessfulDelete": "replicaset-controller",
    "ScalingReplicaSet": "deployment-controller",
}
NODE_VERSION = "v1.32.0-nexuskit"


def cluster_ip(namespace: str, name: str) -> str:
    """A stable made-up ClusterIP in 10.96.0.0/16 (the Service answers on 127.0.0.1, see its annotation)."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    return f"10.96.{digest[0]}.{max(2, digest[1])}"


def stored_object(
    doc: dict[str, Any], uid: str, created: float, generation: int | None, resource_version: str | None = None
) -> dict[str, Any]:
    """A manifest object with the server's metadata."""
    out = copy.deepcopy(doc)
    meta = out.setdefault("metadata", {})
    meta["uid"] = uid
    meta["creationTimestamp"] = ts(created)
    if generation is not None:
        meta["generation"] = generation
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    for key in ("labels", "annotations"):
        if not meta.get(key):
            meta.pop(key, None)
    kind = out.get("kind")
    if kind == "Namespace":
        meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": meta["name"]}
        out["spec"] = {"finalizers": ["kubernetes"]}
        out["status"] = {"phase": "Active"}
    elif kind == "Secret":
        data = {k: str(v) for k, v in (out.get("data") or {}).items()}
        for key, value in (out.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
        out.setdefault("type", "Opaque")
    return out


def builtin_namespace(name: str, created: float) -> dict[str, Any]:
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    uid = f"00000000-0000-4000-8000-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return stored_object(doc, uid, created, None)


def service_object(cluster: Cluster, doc: dict[str, Any], uid: str, created: float) -> dict[str, Any]:
    out = stored_object(doc, uid, created, None)
    meta, spec = out["metadata"], out.setdefault("spec", {})
    ports = cluster.service_ports.get((meta["namespace"], meta["name"]), {})
    if ports:
        annotations = meta.setdefault("annotations", {})
        annotations[LOCAL_ADDRESS] = ",".join(f"127.0.0.1:{local}" for local in ports.values())
    ip = cluster_ip(meta["namespace"], meta["name"])
    spec.update({"clusterIP": ip, "clusterIPs": [ip], "type": spec.get("type", "ClusterIP")})
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    out["status"] = {"loadBalancer": {}}
    return out


def _endpoint_pods(cluster: Cluster, service: Service) -> list[tuple[Any, int | None]]:
    target = service.ports[0].target if service.ports else 0
    return [
        (pod, pod.local_port(target))
        for pod in cluster.service_pods(service, ready_only=False)
        if not pod.deleting and pod.ever_started
    ]


def endpoints_object(cluster: Cluster, service: Service, uid: str, created: float) -> dict[str, Any]:
    subsets = []
    for pod, port in _endpoint_pods(cluster, service):
        if port is None:
            continue
        address = {
            "ip": "127.0.0.1",
            "nodeName": pod.node,
            "targetRef": {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid},
        }
        ports = [{"name": p.name, "port": pod.local_port(p.target), "protocol": "TCP"} for p in service.ports]
        ports = [{k: v for k, v in p.items() if v not in ("", None)} for p in ports]
        subsets.append({"addresses" if pod.ready else "notReadyAddresses": [address], "ports": ports})
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": service.name,
            "namespace": service.namespace,
            "uid": uid,
            "creationTimestamp": ts(created),
            "labels": {"endpoints.kubernetes.io/managed-by": "endpoint-controller"},
        },
    }
    if subsets:
        body["subsets"] = subsets
    return body


def endpoint_slice_objects(cluster: Cluster, service: Service, service_uid: str) -> list[dict[str, Any]]:
    out = []
    for pod, port in _endpoint_pods(cluster, service):
        if port is None:
            continue
        ports = [{"name": p.name, "port": pod.local_port(p.target), "protocol": "TCP"} for p in service.ports]
        out.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{service.name}-{pod.uid[:5]}",
                    "namespace": service.namespace,
                    "uid": f"{pod.uid[:-12]}{service_uid[-12:]}",
                    "creationTimestamp": ts(pod.created),
                    "generation": 1,
                    "labels": {
                        "kubernetes.io/service-name": service.name,
                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "v1",
                            "kind": "Service",
                            "name": service.name,
                            "uid": service_uid,
                            "controller": True,
                            "blockOwnerDeletion": True,
                        },
                    ],
                },
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": ["127.0.0.1"],
                        "conditions": {"ready": pod.ready, "serving": pod.ready, "terminating": False},
                        "nodeName": pod.node,
                        "targetRef": {
                            "kind": "Pod",
                            "namespace": pod.namespace,
                            "name": pod.name,
                            "uid": pod.uid,
                        },
                    }
                ],
                "ports": [{k: v for k, v in p.items() if v not in ("", None)} for p in ports],
            }
        )
    return out


def node_object(node: Node, created: float) -> dict[str, Any]:
    uid = f"00000000-0000-4000-9000-{hashlib.sha256(node.name.encode()).hexdigest()[:12]}"
    labels = {
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        **node.labels,
    }
    cpus = str(os.cpu_count() or 1)
    try:
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"
    except (ValueError, OSError, AttributeError):
        memory = "0"
    spec: dict[str, Any] = {}
    if node.taints:
        spec["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect} for t in node.taints]
    capacity = {"cpu": cpus, "memory": memory, "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "uid": uid, "creationTimestamp": ts(created), "labels": labels},
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "the process runtime is running",
                    "lastHeartbeatTime": ts(created),
                    "lastTransitionTime": ts(created),
                },
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": node.name},
            ],
            "nodeInfo": {
                "kubeletVersion": NODE_VERSION,
                "kubeProxyVersion": NODE_VERSION,
                "containerRuntimeVersion": "nexuskit-process://1",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "local processes",
                "kernelVersion": os.uname().release,
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


def event_object(event: Event, uid: str) -> dict[str, Any]:
    group = "apps/v1" if event.kind in {"Deployment", "ReplicaSet"} else "v1"
    component = EVENT_SOURCES.get(event.reason, "kubelet")
    involved: dict[str, Any] = {
        "kind": event.kind,
        "namespace": event.namespace,
        "name": event.name,
        "apiVersion": group,
    }
    if uid:
        involved["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": event.event_name,
            "namespace": event.namespace,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{event.namespace}/{event.event_name}")),
            "creationTimestamp": ts(event.first_time),
        },
        "involvedObject": involved,
        "reason": event.reason,
        "message": event.message,
        "source": {"component": component},
        "firstTimestamp": ts(event.first_time),
        "lastTimestamp": ts(event.last_time),
        "count": event.count,
        "type": event.type,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "",
    }
