"""The object store: every API object with its resourceVersion, for lists, gets and watches.

:class:`Snapshot` renders the runtime's state as API objects; :class:`ObjectStore`
compares each render with the previous one and gives every object that changed the next
``resourceVersion`` (one counter for the whole cluster, as etcd's revision), keeps the
last :data:`HISTORY` changes for watches that start from an older version, and hands
each change to the watchers (``ADDED``, ``MODIFIED``, ``DELETED``). A watch from a
version older than the history gets ``410 Expired``, as from a compacted etcd.

A sync runs as soon as the runtime reports a change (a pod started, became ready, was
deleted; an object was written) and at least once a second; events arrive one by one
from the event log. Served objects are shared: nobody changes them in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulation.runtime.events import Event
from emulation.runtime.kube.errors import GoneError
from emulation.runtime.kube.objects import (
    builtin_namespace,
    endpoint_slice_objects,
    endpoints_object,
    event_object,
    node_object,
    service_object,
    stored_object,
)
from emulation.runtime.kube.resources import BY_KIND, RESOURCES
from emulation.runtime.kube.workloads import Conditions, deployment_object, pod_object, replica_set_object
from emulation.runtime.manifests import BUILTIN_NAMESPACES, DocKey

if TYPE_CHECKING:
    from emulation.runtime.controller import Cluster

log = logging.getLogger(__name__)

HISTORY = 1000  # like the API server's watch cache: older versions are 410 Expired (clients list again)
MAX_EVENTS = 2000
WATCH_QUEUE = 2000
ObjectKey = tuple[str, str]  # (namespace or "", name)
Objects = dict[str, dict[ObjectKey, dict[str, Any]]]


@dataclass
class Identity:
    uid: str
    created: float
    generation: int
    spec: Any


class Snapshot:
    """Renders every object of the cluster (without resourceVersion)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.conditions = Conditions()
        self.identities: dict[DocKey, Identity] = {}
        #: the field managers that applied a document (server-side apply), for managedFields
        self.managers: Callable[[DocKey], list[str]] = lambda key: []

    def identity(self, key: DocKey, doc: dict[str, Any]) -> Identity:
        spec = doc.get("spec") if "spec" in doc else {k: v for k, v in doc.items() if k != "metadata"}
        found = self.identities.get(key)
        if found is None:
            found = Identity(str(uuid.uuid4()), time.time(), 1, copy.deepcopy(spec))
            self.identities[key] = found
        elif found.spec != spec:
            found.generation += 1
            found.spec = copy.deepcopy(spec)
        return found

    def uid_of(self, kind: str, namespace: str, name: str) -> str:
        if kind == "ReplicaSet":
            deployment, _, template_hash = name.rpartition("-")
            record = self.cluster.history.find(f"{namespace}/{deployment}", template_hash)
            return record.uid if record else ""
        found = self.identities.get((kind, namespace, name))
        return found.uid if found else ""

    def render(self) -> Objects:
        cluster = self.cluster
        out: Objects = {r.id: {} for r in RESOURCES}
        documents = cluster.manifests.documents
        for key in [k for k in self.identities if k not in documents]:
            del self.identities[key]
        for key, doc in documents.items():
            kind, namespace, name = key
            ident = self.identity(key, doc)
            rid = BY_KIND[kind].id
            if kind == "Deployment":
                obj = deployment_object(
                    cluster, f"{namespace}/{name}", ident.uid, ident.generation, doc, self.conditions
                )
            elif kind == "Service":
                obj = service_object(cluster, doc, ident.uid, ident.created)
                service = cluster.manifests.services[f"{namespace}/{name}"]
                out["endpoints"][(namespace, name)] = endpoints_object(
                    cluster, service, ident.uid, ident.created
                )
                for item in endpoint_slice_objects(cluster, service, ident.uid):
                    out["discovery.k8s.io/endpointslices"][(namespace, item["metadata"]["name"])] = item
            else:
                obj = stored_object(doc, ident.uid, ident.created, None)
            managers = self.managers(key)
            if managers:
                obj["metadata"]["managedFields"] = [
                    {
                        "manager": m,
                        "operation": "Apply",
                        "apiVersion": obj["apiVersion"],
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {},
                    }
                    for m in managers
                ]
            out[rid][(namespace, name)] = obj
        for name in BUILTIN_NAMESPACES:
            if ("", name) not in out["namespaces"]:
                out["namespaces"][("", name)] = builtin_namespace(name, cluster.started)
        owners: set[str] = set()
        for deployment_key, deploy in cluster.manifests.deployments.items():
            uid = self.identities[("Deployment", deploy.namespace, deploy.name)].uid
            owners.add(f"deployment/{uid}")
            for record in cluster.history.records(deployment_key):
                out["apps/replicasets"][(deploy.namespace, record.name)] = replica_set_object(
                    cluster, deployment_key, record, uid
                )
        for pod in cluster.all_pods():
            found = cluster.history.find(f"{pod.namespace}/{pod.deployment}", pod.template_hash)
            out["pods"][(pod.namespace, pod.name)] = pod_object(
                pod, found.uid if found else "", self.conditions
            )
            owners.add(f"pod/{pod.uid}")
        for node in cluster.settings.nodes:
            out["nodes"][("", node.name)] = node_object(node, cluster.started)
        self.conditions.forget(owners)
        return out


@dataclass(eq=False)
class Watcher:
    rid: str
    namespace: str | None
    queue: asyncio.Queue[tuple[int, str, dict[str, Any]] | None] = field(
        default_factory=lambda: asyncio.Queue(WATCH_QUEUE)
    )

    def offer(self, item: tuple[int, str, dict[str, Any]]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # a client that does not read: end its watch (it lists again)
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class ObjectStore:
    """Objects by resource id and (namespace, name), a resourceVersion counter, watchers."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.snapshot = Snapshot(cluster)
        self.rv = 0
        self.objects: Objects = {r.id: {} for r in RESOURCES}
        self._bare: Objects = {r.id: {} for r in RESOURCES}
        self.objects["events"] = OrderedDict()
        self.history: deque[tuple[int, str, str, dict[str, Any]]] = deque(maxlen=HISTORY)
        self.watchers: set[Watcher] = set()
        self._scheduled = False
        self.syncs = 0

    # -- changes ----------------------------------------------------------------------------
    def request_sync(self) -> None:
        """Sync soon (once, however many changes are reported meanwhile)."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.sync)

    def sync(self) -> None:
        self._scheduled = False
        self.syncs += 1
        fresh = self.snapshot.render()
        for rid, items in fresh.items():
            if rid == "events":
                continue
            old = self._bare[rid]
            for key, obj in items.items():
                before = old.get(key)
                if before != obj:
                    self._put(rid, key, obj, "ADDED" if before is None else "MODIFIED")
            for key in [k for k in old if k not in items]:
                self._remove(rid, key)

    def _served(self, bare: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        return {**bare, "metadata": {**bare["metadata"], "resourceVersion": str(self.rv)}}

    def _put(self, rid: str, key: ObjectKey, bare: dict[str, Any], kind: str) -> None:
        self._bare[rid][key] = bare
        served = self._served(bare)
        self.objects[rid][key] = served
        self._emit(rid, kind, served)

    def _remove(self, rid: str, key: ObjectKey) -> None:
        self._bare[rid].pop(key, None)
        last = self.objects[rid].pop(key)
        self._emit(rid, "DELETED", self._served(last))

    def add_event(self, event: Event) -> None:
        """An event was recorded or bumped (the event log's listener)."""
        uid = event.uid or self.snapshot.uid_of(event.kind, event.namespace, event.name)
        obj = event_object(event, uid)
        events = self.objects["events"]
        key = (event.namespace, event.event_name)
        kind = "MODIFIED" if key in events else "ADDED"
        served = self._served(obj)
        events[key] = served
        events.move_to_end(key)  # type: ignore[attr-defined]
        self._emit("events", kind, served)
        while len(events) > MAX_EVENTS:
            old_key = next(iter(events))
            self._emit("events", "DELETED", self._served(events.pop(old_key)))

    def _emit(self, rid: str, kind: str, obj: dict[str, Any]) -> None:
        self.history.append((self.rv, rid, kind, obj))
        namespace = obj["metadata"].get("namespace", "")
        for watcher in self.watchers:
            if watcher.rid == rid and (watcher.namespace is None or watcher.namespace == namespace):
                watcher.offer((self.rv, kind, obj))

    # -- reads ------------------------------------------------------------------------------
    def items(self, rid: str, namespace: str | None) -> list[dict[str, Any]]:
        objects = self.objects[rid]
        if rid == "events":
            return [o for (ns, _), o in objects.items() if namespace is None or ns == namespace]
        return [objects[k] for k in sorted(objects) if namespace is None or k[0] == namespace]

    def get(self, rid: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects[rid].get((namespace, name))

    def subscribe(self, rid: str, namespace: str | None) -> Watcher:
        watcher = Watcher(rid, namespace)
        self.watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    def changes_since(
        self, rid: str, namespace: str | None, version: int
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """The changes after ``version``; 410 Expired when the history no longer reaches back."""
        if version >= self.rv:
            return []
        oldest = self.history[0][0] if self.history else self.rv + 1
        if version < oldest - 1:
            raise GoneError(f"too old resource version: {version} ({oldest - 1})")
        return [
            (rv, kind, obj)
            for rv, item_rid, kind, obj in self.history
            if rv > version
            and item_rid == rid
            and (namespace is None or obj["metadata"].get("namespace", "") == namespace)
        ]
