"""Pods, Deployments, ReplicaSets and Scales as the Kubernetes API shows them.

Built from the runtime's state (:class:`~emulation.runtime.controller.Cluster`) on each
sync of the object store, without ``resourceVersion`` (the store adds it). Shapes follow
the API server's: ``metadata`` with uid, creationTimestamp, labels (a pod's and a
ReplicaSet's carry ``pod-template-hash``), annotations and ownerReferences (pod ->
ReplicaSet -> Deployment); zero counts are left out of ``status`` as the server leaves
them out; conditions carry the time they last changed.

Runtime facts that have no Kubernetes field travel as annotations: a pod's local ports
(``nexuskit.dev/local-ports``, container port -> local port); its process id is the
container's ``containerID`` (``process://PID``).
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulation.runtime.controller import resolve_int_or_percent
from emulation.runtime.rollout import REVISION, REVISION_HISTORY, ReplicaSetRecord

if TYPE_CHECKING:
    from emulation.runtime.controller import Cluster
    from emulation.runtime.pods import Pod

LOCAL_PORTS = "nexuskit.dev/local-ports"
HASH_LABEL = "pod-template-hash"


def ts(epoch: float | None) -> str | None:
    """RFC 3339 in UTC, seconds precision (what ``metav1.Time`` marshals to)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prune(mapping: dict[str, Any]) -> dict[str, Any]:
    """Drop None and zero counts (the API server's ``omitempty``)."""
    return {k: v for k, v in mapping.items() if v is not None and v != 0}


class Conditions:
    """Remembers when each condition last changed, so its times are stable between renders."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[str, str, float, float]] = {}

    def get(self, owner: str, kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
        now = time.time()
        before = self._seen.get((owner, kind))
        if before is None:
            entry = (status, reason, now, now)
        else:
            transition = before[2] if before[0] == status else now
            updated = before[3] if (before[0], before[1]) == (status, reason) else now
            entry = (status, reason, transition, updated)
        self._seen[(owner, kind)] = entry
        return {
            "type": kind,
            "status": status,
            "lastUpdateTime": ts(entry[3]),
            "lastTransitionTime": ts(entry[2]),
            "reason": reason,
            "message": message,
        }

    def forget(self, owners: set[str]) -> None:
        for key in [k for k in self._seen if k[0] not in owners]:
            del self._seen[key]


def _termination(last: dict[str, Any]) -> dict[str, Any]:
    return _prune(
        {
            "exitCode": last.get("exit_code"),
            "reason": last.get("reason"),
            "message": last.get("message") or None,
            "startedAt": ts(last.get("started_at")),
            "finishedAt": ts(last.get("finished_at")),
        }
    ) | {"exitCode": last.get("exit_code", 0)}


def _container_status(pod: Pod) -> dict[str, Any]:
    container = pod.deploy.template.container
    state: dict[str, Any]
    if pod.state == "running" and pod.proc is not None:
        state = {"running": {"startedAt": ts(pod.started_at)}}
    elif pod.state == "terminated" and pod.last_termination:
        state = {"terminated": _termination(pod.last_termination)}
    else:
        state = {"waiting": _prune({"reason": pod.reason, "message": pod.message or None})}
    last = {}
    if pod.last_termination and "terminated" not in state:
        last = {"terminated": _termination(pod.last_termination)}
    status: dict[str, Any] = {
        "name": container.name,
        "state": state,
        "lastState": last,
        "ready": pod.ready,
        "restartCount": pod.restarts,
        "image": container.image,
        "imageID": "",
        "started": "running" in state,
    }
    if pod.proc is not None and pod.proc.returncode is None:
        status["containerID"] = f"process://{pod.proc.pid}"
    return status


def _qos(container: dict[str, Any]) -> str:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    if not requests and not limits:
        return "BestEffort"
    if {"cpu", "memory"} <= set(limits) and all(requests.get(k, limits[k]) == limits[k] for k in limits):
        return "Guaranteed"
    return "Burstable"


def _container_defaults(container: dict[str, Any]) -> None:
    """What the API server fills in on a pod's container (the template itself stays as written)."""
    image = str(container.get("image", ""))
    container.setdefault(
        "imagePullPolicy", "Always" if image.endswith(":latest") or ":" not in image else "IfNotPresent"
    )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(kind)
        if isinstance(probe, dict):
            for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                               ("failureThreshold", 3)):  # fmt: skip
                probe.setdefault(key, value)
            if isinstance(probe.get("httpGet"), dict):
                probe["httpGet"].setdefault("scheme", "HTTP")


def pod_object(pod: Pod, rs_uid: str, conditions: Conditions) -> dict[str, Any]:
    deploy = pod.deploy
    template = deploy.raw_template
    rs_name = f"{deploy.name}-{pod.template_hash}"
    meta = template.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    annotations[LOCAL_PORTS] = json.dumps({str(k): v for k, v in sorted(pod.ports.items())})
    metadata: dict[str, Any] = {
        "name": pod.name,
        "generateName": f"{rs_name}-",
        "namespace": pod.namespace,
        "uid": pod.uid,
        "creationTimestamp": ts(pod.created),
        "labels": {**(meta.get("labels") or {}), HASH_LABEL: pod.template_hash},
        "annotations": annotations,
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": rs_name,
                "uid": rs_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            },
        ],
    }
    if pod.deleting and pod.deleted_at is not None:
        metadata["deletionTimestamp"] = ts(pod.deleted_at + pod.grace)
        metadata["deletionGracePeriodSeconds"] = int(pod.grace)
    spec = copy.deepcopy(template.get("spec") or {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        _container_defaults(container)
    if pod.node:
        spec["nodeName"] = pod.node
    owner = f"pod/{pod.uid}"
    scheduled = pod.node is not None
    ready = "True" if pod.ready else "False"
    pod_conditions = [
        conditions.get(owner, "Initialized", "True" if scheduled else "False", "", ""),
        conditions.get(owner, "Ready", ready, "" if pod.ready else "ContainersNotReady", ""),
        conditions.get(owner, "ContainersReady", ready, "", ""),
        conditions.get(
            owner,
            "PodScheduled",
            "True" if scheduled else "False",
            "" if scheduled else "Unschedulable",
            "" if scheduled else pod.message,
        ),
    ]
    for condition in pod_conditions:
        condition.pop("lastUpdateTime", None)
        for key in ("reason", "message"):
            if not condition[key]:
                del condition[key]
    status: dict[str, Any] = {
        "phase": pod.phase,
        "conditions": pod_conditions,
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": ts(pod.scheduled_at),
        "containerStatuses": [_container_status(pod)],
        "qosClass": _qos((spec.get("containers") or [{}])[0]),
    }
    if pod.ever_started:
        status["podIP"] = "127.0.0.1"
        status["podIPs"] = [{"ip": "127.0.0.1"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": _prune(status)}


def deployment_object(
    cluster: Cluster, key: str, uid: str, generation: int, doc: dict[str, Any], conditions: Conditions
) -> dict[str, Any]:
    deploy = cluster.manifests.deployments[key]
    state = cluster.rollout_state(key)
    record = cluster.history.find(key, state["template_hash"])
    meta = doc.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    if record is not None:
        annotations[REVISION] = str(record.revision)
    metadata = _prune(
        {
            "name": deploy.name,
            "namespace": deploy.namespace,
            "uid": uid,
            "generation": generation,
            "creationTimestamp": ts(cluster.deployment_created.get(key, cluster.started)),
            "labels": meta.get("labels") or None,
            "annotations": annotations or None,
        }
    )
    spec = copy.deepcopy(doc.get("spec") or {})
    spec["replicas"] = cluster.replicas[key]
    spec.setdefault("strategy", {"type": "RollingUpdate"})
    if spec["strategy"].get("type", "RollingUpdate") == "RollingUpdate":
        spec["strategy"]["type"] = "RollingUpdate"
        rolling = spec["strategy"].setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    desired = state["desired"]
    unavailable_allowed = resolve_int_or_percent(deploy.max_unavailable, desired, round_up=False)
    available = state["available"] >= desired - (0 if deploy.recreate else unavailable_allowed)
    rs_name = f"{deploy.name}-{state['template_hash']}"
    progressing_reason, progressing_message = (
        ("NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        if state["complete"]
        else ("ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
    )
    owner = f"deployment/{uid}"
    status = _prune(
        {
            "observedGeneration": generation,
            "replicas": state["pods"],
            "updatedReplicas": state["updated"],
            "readyReplicas": state["ready"],
            "availableReplicas": state["available"],
            "unavailableReplicas": max(0, state["pods"] - state["available"]) or None,
        }
    )
    status["conditions"] = [
        conditions.get(
            owner,
            "Available",
            "True" if available else "False",
            "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        ),
        conditions.get(owner, "Progressing", "True", progressing_reason, progressing_message),
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def replica_set_object(
    cluster: Cluster, key: str, record: ReplicaSetRecord, deployment_uid: str
) -> dict[str, Any]:
    deploy = cluster.manifests.deployments[key]
    pods = [
        p for p in cluster.pods.get(key, []) if p.template_hash == record.template_hash and not p.deleting
    ]
    current = cluster.current_hash(key) == record.template_hash
    desired = cluster.replicas[key] if current else len(pods)
    template = copy.deepcopy(record.template)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: record.template_hash}
    template.setdefault("metadata", {})["labels"] = labels
    surge = resolve_int_or_percent(deploy.max_surge, cluster.replicas[key], round_up=True)
    annotations = {
        **record.annotations,
        "deployment.kubernetes.io/desired-replicas": str(cluster.replicas[key]),
        "deployment.kubernetes.io/max-replicas": str(cluster.replicas[key] + surge),
        REVISION: str(record.revision),
    }
    if record.older_revisions:
        annotations[REVISION_HISTORY] = ",".join(str(r) for r in record.older_revisions)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": record.name,
            "namespace": deploy.namespace,
            "uid": record.uid,
            "generation": 1,
            "creationTimestamp": ts(record.created),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deploy.name,
                    "uid": deployment_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                },
            ],
        },
        "spec": _prune(
            {
                "replicas": desired,
                "minReadySeconds": int(deploy.min_ready_seconds) or None,
                "selector": {"matchLabels": {**deploy.selector, HASH_LABEL: record.template_hash}},
                "template": template,
            }
        )
        | {"replicas": desired},
        "status": _prune(
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": sum(1 for p in pods if p.ready),
                "availableReplicas": sum(1 for p in pods if p.available),
                "observedGeneration": 1,
            }
        )
        | {"replicas": len(pods)},
    }


def scale_object(deployment: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale of a Deployment object."""
    meta = deployment["metadata"]
    selector = (deployment["spec"].get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": deployment["spec"].get("replicas", 0)},
        "status": {
            "replicas": deployment.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }
